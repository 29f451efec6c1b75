"""The optimised forms of the intent model and how each loads (``lepton chatbot optimize``).

An optimised artifact is the source version's folder (tokenizer, labels, threshold,
neighbour vote, TF-IDF model, FAQ) with the network replaced and an ``optimisation.json``
naming the method; :func:`apps.chatbot.model.load_model` reads that file and calls
:func:`load_variant`, so the predictor, ``evaluate`` and the service need no change:

* ``int8``: PyTorch dynamic int8 (Linear layers, and the word/position embeddings weight-only),
  stored as the quantised ``state_dict`` in ``intent_int8.pt``; runs on the CPU;
* ``onnx`` / ``onnx-int8``: one ONNX graph ``intent.onnx`` with outputs ``logits`` and
  ``embeddings`` (the ensemble needs both), run by ONNX Runtime on the CPU;
* ``prune``: an ordinary encoder whose Linear weights are partly zero (fine-tuned after pruning);
* ``bf16`` / ``fp16``: an ordinary encoder stored in half precision (fp16 computes in fp32 on a CPU).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from apps.chatbot.model import IntentModel, IntentNetwork

ONNX_FILE = "intent.onnx"
INT8_FILE = "intent_int8.pt"
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAMES = ("logits", "embeddings")
HALF_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
CPU = torch.device("cpu")


class ScoresGraph(nn.Module):
    """``(input_ids, attention_mask) -> (logits, mean-pooled embeddings)``: the module exported to ONNX."""

    def __init__(self, model: IntentModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.scores(input_ids, attention_mask)


class OnnxIntentModel:
    """The intent model as an ONNX Runtime session (CPU, ``threads`` intra-op threads)."""

    fixed_device = CPU

    def __init__(self, path: Path, num_labels: int, threads: int | None = None) -> None:
        from lepton_shared.optimize.methods import OnnxModule

        self.net = OnnxModule(path, threads=threads)
        self._num_labels = num_labels

    @property
    def num_labels(self) -> int:
        return self._num_labels

    def scores(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, embeddings = self.net(input_ids.to(torch.int64), attention_mask.to(torch.int64))
        return logits, embeddings

    def eval(self) -> OnnxIntentModel:
        return self

    def to(self, *args: Any, **kwargs: Any) -> OnnxIntentModel:
        return self


def encoder_skeleton(folder: Path) -> nn.Module:
    """A MiniLM encoder with the artifact's config and untrained weights (to load a state_dict into)."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(folder / "encoder", local_files_only=True)
    encoder: nn.Module = AutoModel.from_config(config)
    return encoder


def quantize_int8(model: IntentModel) -> IntentModel:
    """``model`` with its encoder dynamically quantised to int8 (the small head stays fp32), CPU only."""
    from lepton_shared.optimize.methods import quantize_dynamic_int8

    model = model.cpu().eval()
    token_types = getattr(getattr(model.encoder, "embeddings", None), "token_type_embeddings", None)
    model.encoder = quantize_dynamic_int8(model.encoder)
    if isinstance(token_types, nn.Embedding):
        # BERT looks its 2-row token-type table up with an expanded (non-contiguous) index for batches of more
        # than one message, which the quantised embedding kernel refuses; it is 3 KB, so it stays fp32
        model.encoder.embeddings.token_type_embeddings = token_types  # type: ignore[union-attr]
    model.fixed_device = CPU
    return model


def _onnx_threads() -> int:
    from apps.chatbot.predictor import serving_threads

    return serving_threads()


def load_variant(folder: Path, record: dict[str, Any], num_labels: int,
                 device: torch.device = CPU) -> IntentNetwork:
    """The network of an optimised artifact, in eval mode (on ``device`` where the method allows)."""
    from transformers import AutoModel

    from lepton_shared.errors import UserError

    method = str(record.get("method"))
    if method in ("onnx", "onnx-int8"):
        return OnnxIntentModel(folder / str(record.get("file", ONNX_FILE)), num_labels, _onnx_threads())
    if method == "int8":
        model = quantize_int8(IntentModel(encoder_skeleton(folder), num_labels))
        model.load_state_dict(torch.load(folder / INT8_FILE, map_location="cpu", weights_only=True))
        return model.eval()
    if method in ("prune", "bf16", "fp16"):
        encoder = AutoModel.from_pretrained(folder / "encoder", local_files_only=True)
        model = IntentModel(encoder, num_labels)
        model.head.load_state_dict(torch.load(folder / "head.pt", map_location="cpu", weights_only=True))
        dtype = HALF_DTYPES.get(method, torch.float32)
        if dtype == torch.float16 and device.type != "cuda":
            dtype = torch.float32  # CPU half-precision kernels are slow or missing: compute in fp32
        return model.to(device=device, dtype=dtype).eval()
    raise UserError(f"{folder} holds a model optimised with {method!r}, which this version of the chatbot "
                    "cannot load")
