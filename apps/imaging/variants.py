"""The network variants an imaging artifact can hold, and how each is rebuilt from its files.

A plain artifact holds fp32 weights (``model.pt``). ``lepton imaging optimize`` writes others,
marked by ``optimisation.json`` (see ``lepton_shared.optimize``):

========== ====================== =========================================================
method     file                   network at inference
========== ====================== =========================================================
prune      ``model.pt``           the fp32 ResNet with a share of its weights zeroed
int8       ``model_int8.pt``      static int8 (``torch.ao`` FX, x86/fbgemm kernels), CPU only
onnx       ``model.onnx``         the fp32 graph on ONNX Runtime
onnx-int8  ``model.onnx``         the graph statically quantised to int8 by ONNX Runtime
bf16/fp16  ``model.pt``           weights in bfloat16/float16; inputs cast, logits float32
========== ====================== =========================================================

Every variant takes the same normalised float32 ``(n, 1, H, W)`` tensor and returns float32
logits, so the predictor, ``evaluate`` and the service use them alike. Only fp32 and pruned
networks give gradients for Grad-CAM (see ``ImagingPredictor.diagnose``).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

ARTIFACT_INT8 = "model_int8.pt"
ARTIFACT_ONNX = "model.onnx"
#: Variants whose network is an ordinary float PyTorch module that autograd can differentiate.
DIFFERENTIABLE = ("fp32", "prune")
#: The quantised-kernel backend the int8 variant is built for (x86: fbgemm + oneDNN).
INT8_ENGINE = "x86"


def model_device(model: nn.Module) -> torch.device:
    """Where a network's inputs must go: its first parameter's or buffer's device, else the CPU."""
    for param in model.parameters():
        return param.device
    for buffer in model.buffers():
        return buffer.device
    device = getattr(model, "device", None)
    return device if isinstance(device, torch.device) else torch.device("cpu")


def _qconfig_mapping() -> Any:
    from torch.ao.quantization import get_default_qconfig_mapping

    return get_default_qconfig_mapping(INT8_ENGINE)


def _prepare_int8(network: nn.Module, image_size: int) -> nn.Module:
    """The network with observers inserted (``prepare_fx``), ready for calibration."""
    from torch.ao.quantization.quantize_fx import prepare_fx

    torch.backends.quantized.engine = INT8_ENGINE
    example = (torch.zeros(1, 1, image_size, image_size),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared: nn.Module = prepare_fx(copy.deepcopy(network).cpu().eval(), _qconfig_mapping(), example)
    return prepared


def _convert_int8(prepared: nn.Module) -> nn.Module:
    from torch.ao.quantization.quantize_fx import convert_fx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converted: nn.Module = convert_fx(prepared)  # type: ignore[arg-type]
    return converted.eval()


def quantize_static_int8(network: nn.Module, image_size: int, calibration: Iterable[torch.Tensor]) -> nn.Module:
    """Static post-training int8 quantisation (``torch.ao`` FX graph mode, per-channel weights,
    activations calibrated on ``calibration`` batches of normalised images). Convolutions,
    batch norms (fused) and ReLUs run on int8 kernels, which is what speeds a CNN up on CPU."""
    prepared = _prepare_int8(network, image_size)
    with torch.no_grad():
        for batch in calibration:
            prepared(batch.cpu().float())
    return _convert_int8(prepared)


def load_int8(network: nn.Module, image_size: int, path: Path) -> nn.Module:
    """Rebuild the int8 graph of ``network``'s architecture and load its saved quantised state."""
    quantized = _convert_int8(_prepare_int8(network, image_size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return quantized.eval()


def save_int8(quantized: nn.Module, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(quantized.state_dict(), path)
