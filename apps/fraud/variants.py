"""The forms the MLP of a fraud artifact can take, and how each is rebuilt from its files.

A plain MLP artifact holds fp32 weights (``mlp.pt``). ``lepton fraud optimize`` writes the others,
marked by ``optimisation.json`` (see ``lepton_shared.optimize``), and :meth:`FraudModel.load
<apps.fraud.model.FraudModel.load>` reads them here, so the predictor, ``evaluate`` and the service
use them without change:

========== ====================== ============================================================
method     scoring file           network that scores
========== ====================== ============================================================
prune      ``mlp.pt``             the fp32 MLP with a share of its weights zero, fine-tuned
bf16       ``mlp.pt``             the MLP's weights in bfloat16; inputs cast in, logits float32
int8       ``mlp_int8.pt``        dynamic int8 Linear layers (``torch.ao``), CPU
onnx       ``mlp.onnx``           the fp32 graph on ONNX Runtime
onnx-int8  ``mlp.onnx``           that graph with int8 weights (ONNX Runtime dynamic quantiser)
========== ====================== ============================================================

Reason codes are gradient x input attributions, so they need a network autograd can differentiate.
fp32, pruned and bf16 nets give them themselves. int8 kernels and ONNX Runtime have no gradients,
so those artifacts also keep the fp32 ``mlp.pt`` they were made from (a few tens of kilobytes,
counted in their size) and explain with it: the score comes from the optimised net, the reasons
from the fp32 net it approximates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from lepton_shared.optimize.methods import PrecisionModule

FP32_FILE = "mlp.pt"
INT8_FILE = "mlp_int8.pt"
ONNX_FILE = "mlp.onnx"
#: Methods whose scoring net autograd can differentiate (no separate explanation net).
DIFFERENTIABLE = ("fp32", "prune", "bf16")
#: Every file a variant's network may live in (the optimiser writes these anew).
NETWORK_FILES = (FP32_FILE, INT8_FILE, ONNX_FILE)


def load_fp32(folder: Path, n_features: int, hidden: int, dtype: torch.dtype = torch.float32) -> nn.Module:
    """The MLP of ``folder/mlp.pt`` (its weights in ``dtype``), eval mode."""
    from apps.fraud.model import make_mlp

    net = make_mlp(n_features, hidden).to(dtype)
    net.load_state_dict(torch.load(folder / FP32_FILE, map_location="cpu", weights_only=True))
    return net.eval()


def load_variant(folder: Path, record: dict[str, Any], n_features: int,
                 hidden: int) -> tuple[nn.Module, nn.Module | None]:
    """(the net that scores, the fp32 net that explains or None when the scoring net can) of an optimised artifact."""
    from lepton_shared.errors import UserError

    method = str(record.get("method", "fp32"))
    if method in ("fp32", "prune"):
        return load_fp32(folder, n_features, hidden), None
    if method == "bf16":
        return PrecisionModule(load_fp32(folder, n_features, hidden, torch.bfloat16), torch.bfloat16).eval(), None
    explainer = load_fp32(folder, n_features, hidden)
    if method == "int8":
        from apps.fraud.model import make_mlp
        from lepton_shared.optimize.methods import quantize_dynamic_int8

        net = quantize_dynamic_int8(make_mlp(n_features, hidden))
        net.load_state_dict(torch.load(folder / INT8_FILE, map_location="cpu", weights_only=True))
        return net.eval(), explainer
    if method in ("onnx", "onnx-int8"):
        from lepton_shared.optimize.methods import OnnxModule

        return OnnxModule(folder / ONNX_FILE), explainer
    raise UserError(f"{folder} holds an MLP optimised with {method!r}, which this version of the fraud app "
                    "cannot load")
