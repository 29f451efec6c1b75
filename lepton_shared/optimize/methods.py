"""Library-backed model transforms every app can use: int8, pruning, ONNX, ONNX int8, bf16/fp16.

Each transform is a thin, tested layer over the library that does the work:

* int8: ``torch.ao.quantization.quantize_dynamic`` (Linear layers with the default dynamic qconfig,
  ``nn.Embedding`` weight-only with ``float_qparams_weight_only_qconfig``), and for convolutional
  networks static post-training quantisation with calibration data through ONNX Runtime
  (:func:`quantize_onnx_static`);
* pruning: ``torch.nn.utils.prune`` (global L1 magnitude or per-layer L2 structured pruning);
* ONNX: ``torch.onnx.export`` and an ``onnxruntime.InferenceSession`` (:class:`OnnxModule`);
* ONNX int8: ``onnxruntime.quantization``;
* bf16 / fp16: a weight cast (fp16 only where CUDA is available).

``torch.ao.quantization`` is deprecated in favour of ``torchao`` but still present in the pinned
torch; its deprecation warnings are silenced here since the suite pins the version it was tested with.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lepton_shared.errors import UserError

PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence deprecation chatter and advice logged on the root logger, and keep library prints off
    stdout (which carries the CLI's JSON)."""
    import logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


# -- int8 (PyTorch) --------------------------------------------------------------------------------
def quantize_dynamic_int8(module: nn.Module) -> nn.Module:
    """A dynamically int8-quantised copy of ``module`` (moved to the CPU, eval mode): Linear layers get
    int8 weights with activations quantised on the fly, Embeddings int8 weights with per-row float
    qparams (weight only). The copy runs on the CPU; the original keeps its float weights."""
    from torch.ao.quantization import default_dynamic_qconfig, float_qparams_weight_only_qconfig, quantize_dynamic

    module = module.cpu().eval()
    with _quiet():
        quantized: nn.Module = quantize_dynamic(
            module, {nn.Linear: default_dynamic_qconfig, nn.Embedding: float_qparams_weight_only_qconfig},
            inplace=False)
    return quantized


# -- pruning --------------------------------------------------------------------------------------
def prunable_layers(module: nn.Module) -> list[tuple[nn.Module, str]]:
    """(layer, "weight") for every Linear and Conv layer of ``module``."""
    return [(m, "weight") for m in module.modules() if isinstance(m, PRUNABLE)]


def prune_magnitude(module: nn.Module, amount: float, structured: bool = False, permanent: bool = True) -> nn.Module:
    """Zero ``amount`` (0..1) of the Linear/Conv weights by magnitude, in place.

    Unstructured: the globally smallest |w| across all those layers (``prune.global_unstructured``,
    L1). Structured: in each layer, whole output channels/rows with the smallest L2 norm
    (``prune.ln_structured``, dim 0). With ``permanent`` the masks are folded into the weights
    (``prune.remove``); without it they stay, so a fine-tune keeps pruned weights at zero, and
    :func:`make_pruning_permanent` folds them afterwards.
    """
    from torch.nn.utils import prune

    if not 0.0 <= amount < 1.0:
        raise UserError(f"pruning amount must be in [0, 1), got {amount}")
    layers = prunable_layers(module)
    if not layers:
        raise UserError("the network has no Linear or Conv layers to prune")
    if structured:
        for layer, name in layers:
            prune.ln_structured(layer, name, amount=amount, n=2, dim=0)
    else:
        prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=amount)
    if permanent:
        make_pruning_permanent(module)
    return module


def make_pruning_permanent(module: nn.Module) -> nn.Module:
    """Fold every pruning mask of ``module`` into its weights (``prune.remove``)."""
    from torch.nn.utils import prune

    for layer in module.modules():
        if prune.is_pruned(layer) and hasattr(layer, "weight_orig"):
            prune.remove(layer, "weight")
    return module


def sparsity(module: nn.Module) -> float:
    """Share of exactly-zero weights over the Linear/Conv layers."""
    layers = prunable_layers(module)
    total = sum(getattr(m, n).numel() for m, n in layers)
    zeros = sum(int((getattr(m, n) == 0).sum()) for m, n in layers)
    return zeros / total if total else 0.0


# -- ONNX -----------------------------------------------------------------------------------------
def export_onnx(module: nn.Module, example_args: tuple[Any, ...], path: Path | str, input_names: Sequence[str],
                output_names: Sequence[str], dynamic_axes: dict[str, dict[int, str]] | None = None,
                opset: int = 17) -> None:
    """Export an eval-mode module to ONNX at ``path``.

    Uses the TorchScript-based exporter (fast, exact for plain CNNs and MLPs) and falls back to the
    dynamo exporter when tracing cannot handle the module. Progress lines go to stderr.
    """
    module = module.cpu().eval()
    path = Path(path)
    kwargs: dict[str, Any] = {"input_names": list(input_names), "output_names": list(output_names),
                              "dynamic_axes": dynamic_axes, "opset_version": opset}
    with _quiet(), torch.no_grad():
        try:
            torch.onnx.export(module, example_args, str(path), dynamo=False, **kwargs)
        except Exception:
            path.unlink(missing_ok=True)
            torch.onnx.export(module, example_args, str(path), dynamo=True, verbose=False, external_data=False,
                              **kwargs)
    import onnx

    onnx.checker.check_model(str(path))


def default_threads() -> int:
    """The thread count inference uses: torch's, so ONNX Runtime and PyTorch are compared fairly."""
    return max(1, torch.get_num_threads())


class OnnxModule(nn.Module):
    """An ONNX model behind an ``nn.Module`` face: call it with tensors, get tensors back.

    Wraps an ``onnxruntime.InferenceSession`` (CPU provider; CUDA when asked for and available)
    with a fixed intra-op thread count (torch's by default). It has no parameters and no
    gradients: ``eval()``/``to()`` are accepted and change nothing but the output device.
    """

    def __init__(self, path: Path | str, threads: int | None = None, device: str = "cpu") -> None:
        super().__init__()
        import onnxruntime as ort

        self.path = Path(path)
        self.threads = threads or default_threads()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._device = torch.device(device if device == "cuda" and "CUDAExecutionProvider" in providers else "cpu")

    def _apply(self, fn: Any, recurse: bool = True) -> OnnxModule:  # .to()/.cuda()/.float(): nothing to move
        return self

    @property
    def device(self) -> torch.device:
        return self._device

    def forward(self, *args: torch.Tensor) -> Any:
        if len(args) != len(self.input_names):
            raise TypeError(f"ONNX model takes {len(self.input_names)} inputs, got {len(args)}")
        feeds = {name: (a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a))
                 for name, a in zip(self.input_names, args, strict=True)}
        outputs = [torch.from_numpy(np.asarray(o)) for o in self.session.run(self.output_names, feeds)]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def quantize_onnx_int8(src: Path | str, dst: Path | str) -> None:
    """Dynamic int8 quantisation of an ONNX model with ONNX Runtime (weights int8, activations on the fly)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)


def quantize_onnx_static(src: Path | str, dst: Path | str, calibration: Iterable[dict[str, np.ndarray]],
                         per_channel: bool = True) -> None:
    """Static int8 quantisation of an ONNX model with ONNX Runtime, calibrated on ``calibration`` feeds.

    Weights and activations become int8 (QDQ format, MinMax calibration), which is what makes
    convolutional networks faster on CPU; dynamic quantisation only pays for Linear-heavy models.
    """
    import tempfile

    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Reader(CalibrationDataReader):
        def __init__(self, feeds: Iterable[dict[str, np.ndarray]]) -> None:
            self.feeds = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.feeds, None)

    with _quiet(), tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        try:
            quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        except Exception:
            prepared = Path(src)
        quantize_static(str(prepared), str(dst), _Reader(calibration), quant_format=QuantFormat.QDQ,
                        per_channel=per_channel, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


# -- bf16 / fp16 ----------------------------------------------------------------------------------
CAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_cast_supported(method: str, device: str = "cpu") -> None:
    """Refuse fp16 without CUDA (CPU half-precision kernels are slow or missing) with a UserError."""
    if method not in CAST_DTYPES:
        raise UserError(f"unknown precision {method!r}; choose bf16 or fp16")
    if method == "fp16" and not torch.cuda.is_available():
        raise UserError("fp16 needs a CUDA GPU and none is available; use bf16, int8 or onnx-int8 on CPU")
    if method == "fp16" and device != "cuda":
        raise UserError("fp16 is for GPU inference: pass --device cuda (or use bf16 / int8 on CPU)")


class PrecisionModule(nn.Module):
    """A network whose weights are bf16/fp16 behind a float32 face: inputs cast in, outputs cast out, so the
    predictor that feeds and reads it is the fp32 one (autograd flows through both casts: gradient-based
    explanations still work)."""

    def __init__(self, module: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.module = module
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.module(x.to(self.dtype))
        return out.float()


def cast_module(module: nn.Module, method: str, device: str | None = None) -> nn.Module:
    """Cast the floating-point weights and buffers of ``module`` to bf16 or fp16, in place.

    Inputs must be cast by the caller (see :func:`module_dtype`). fp16 raises a UserError when no
    CUDA GPU is available.
    """
    check_cast_supported(method, device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return module.to(CAST_DTYPES[method])


def module_dtype(module: nn.Module) -> torch.dtype:
    """The floating dtype of the module's first floating parameter (float32 when it has none)."""
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32
