"""``lepton <app> optimize``: int8 quantisation, pruning, ONNX (int8), bf16/fp16 of an app's network.

An app opts in with ``apps/<app>/optimize.py`` defining ``OPTIMIZER_CLASS`` (an
:class:`AppOptimizer`); :func:`optimize` measures the source and the optimised version with
the app's own predictor and gates the promotion on the key metric. Heavy imports (torch,
onnxruntime) happen inside the functions of :mod:`~lepton_shared.optimize.methods`.
"""

from lepton_shared.optimize.base import (
    METHODS,
    OPTIMISATION_FILE,
    AppOptimizer,
    read_optimisation,
    write_optimisation,
)
from lepton_shared.optimize.measure import folder_bytes, latency_ms, model_bytes, throughput_per_s
from lepton_shared.optimize.runner import optimize

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
