"""``lepton <app> optimize``: int8 quantisation, pruning, ONNX (int8), bf16/fp16 of an app's network.

An app opts in with ``apps/<app>/optimize.py`` defining ``OPTIMIZER_CLASS`` (an
:class:`AppOptimizer`); :func:`optimize` measures the source and the optimised version with
the app's own predictor and gates the promotion on the key metric. Heavy imports (torch,
onnxruntime) happen inside the functions of :mod:`~lepton_shared.optimize.methods`.

The names below are loaded on first use (PEP 562): every CLI start builds the ``optimize`` options from
:data:`~lepton_shared.optimize.base.METHODS`, and must not pay for numpy and the registry's SQLAlchemy then.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lepton_shared.optimize.base import (
    METHODS,
    OPTIMISATION_FILE,
    AppOptimizer,
    read_optimisation,
    write_optimisation,
)

if TYPE_CHECKING:
    from lepton_shared.optimize.measure import folder_bytes, latency_ms, model_bytes, throughput_per_s
    from lepton_shared.optimize.runner import optimize

_LAZY = {"folder_bytes": "measure", "latency_ms": "measure", "model_bytes": "measure",
         "throughput_per_s": "measure", "optimize": "runner"}

__all__ = [
    "METHODS",
    "OPTIMISATION_FILE",
    "AppOptimizer",
    "folder_bytes",
    "latency_ms",
    "model_bytes",
    "optimize",
    "read_optimisation",
    "throughput_per_s",
    "write_optimisation",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
