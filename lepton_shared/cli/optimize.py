"""The ``lepton <app> optimize`` command: its options and what it runs.

Progress goes to stderr (one line per stage); with ``--json`` stdout carries only the result.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lepton_shared.optimize.base import METHODS

METHOD_HELP = {
    "int8": "post-training int8 quantisation (dynamic for Linear/Embedding layers, static with calibration "
            "for convolutional networks)",
    "prune": "magnitude pruning of Linear/Conv weights, a short fine-tune, then the masks made permanent",
    "onnx": "export to ONNX and run with ONNX Runtime",
    "onnx-int8": "ONNX export quantised to int8 by ONNX Runtime's quantiser",
    "bf16": "weights cast to bfloat16 (meant for GPUs; runs on recent CPUs)",
    "fp16": "weights cast to float16 (needs a CUDA GPU)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``optimize`` (the CLI adds nothing else to this sub-command)."""
    parser.add_argument("--method", required=True, choices=METHODS, metavar="METHOD",
                        help="how to optimise: " + "; ".join(f"{k}: {v}" for k, v in METHOD_HELP.items()))
    parser.add_argument("--model", default=None, metavar="VERSION",
                        help="model version to optimise (default: the production version)")
    parser.add_argument("--data", type=Path, default=None, metavar="PATH",
                        help="data to measure the key metric on (its held-out split) and to calibrate / "
                             "fine-tune with (its training split); default: the app's built-in data (the imaging "
                             "app uses the data the model was trained on when that file still exists)")
    parser.add_argument("--tolerance", type=float, default=None, metavar="T",
                        help="largest acceptable loss of the key metric for automatic promotion "
                             "(default: the app's; 0.01, one point of accuracy or AUC; 0.25 cycles of maintenance's "
                             "RUL RMSE)")
    parser.add_argument("--promote", choices=["gate", "always", "never"], default="gate",
                        help="gate (default): promote only when the key metric stays within the tolerance; "
                             "always / never: override the gate")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu",
                        help="where to measure and run the optimised model (default cpu; fp16 needs cuda)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (before/after size, latency, throughput, metric) on stdout")


def optimizer_class(app_name: str) -> type[Any]:
    """``apps.<app_name>.optimize.OPTIMIZER_CLASS``, or a UserError when the app has none."""
    from lepton_shared.app import app_part

    cls: type[Any] = app_part(app_name, "optimize", "OPTIMIZER_CLASS",
                              f"the {app_name} app has no network to optimise")
    return cls


def run(app_name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run ``optimize`` for ``app_name`` with parsed ``args``; the JSON-able result."""
    from lepton_shared.optimize.runner import optimize

    cls = optimizer_class(app_name)
    return optimize(app_name, cls, args.method, version=getattr(args, "model", None),
                    data=getattr(args, "data", None), tolerance=getattr(args, "tolerance", None),
                    promote=getattr(args, "promote", "gate") or "gate", device=getattr(args, "device", None) or "cpu")
