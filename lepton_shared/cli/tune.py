"""The ``lepton <app> tune`` command and ``train --params best``: their options and what they run.

``tune`` takes the app's train options too (data, seed, device, epochs, the app's own), since every
trial is a training run on that configuration with some fields overridden. Progress goes to stderr;
with ``--json`` stdout carries only the result.
"""

from __future__ import annotations

import argparse
from typing import Any

from lepton_shared.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tune`` beyond the train options."""
    parser.add_argument("--trials", type=int, default=None, metavar="N",
                        help="trials in all, over every worker (default 20 unless --timeout is given); the "
                             "first trial of a new study is the app's defaults")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="stop starting trials after S seconds (per worker)")
    parser.add_argument("--study", default=None, metavar="NAME",
                        help="study name (default <app>-<data fingerprint or builtin>); an existing study is "
                             "continued")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="local processes sharing the study through the suite database (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (best value and params) on stdout")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """``train --params best [--study NAME]``."""
    parser.add_argument("--params", choices=["best"], default=None,
                        help="best: train with the best trial's parameters of a `tune` study (recorded as "
                             "tuned_from in the version's params)")
    parser.add_argument("--study", default=None, metavar="NAME",
                        help="with --params best: the study (default: the one `tune` uses for this data)")


def run(app_name: str, config: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Run ``tune`` for ``app_name`` on the train ``config``; the JSON-able result."""
    from lepton_shared.tuning.runner import tune

    return tune(app_name, config, trials=args.trials, timeout=args.timeout, workers=args.workers,
                study_name=args.study)


def summary_line(result: dict[str, Any]) -> str:
    """One readable line of a ``tune`` result (without ``--json``)."""
    best = result["best_value"]
    default = result["default_value"]
    return (f"study {result['study']}: {result['n_trials']} trials ({result['n_failed']} failed, "
            f"{result['n_pruned']} pruned); best {result['metric']} "
            + ("none" if best is None else f"{best:.4f} (trial {result['best_trial']})")
            + ("" if default is None else f" against the defaults' {default:.4f}")
            + (f"; params {result['best_params']}" if result["best_params"] else ""))


def train_with_best(app: Any, config: Any, args: argparse.Namespace) -> Any:
    """``app.train`` on ``config`` with the best trial's parameters; the version records where they came from."""
    from lepton_shared.tuning.best import apply_params, best_trial, record_tuned_from

    if args.params != "best":
        if args.study is not None:
            raise UserError("--study is used with --params best")
        return app.train(config)
    params, tuned_from = best_trial(app.name, config, args.study)
    info = app.train(apply_params(config, params))
    record_tuned_from(app.name, info.version, params, tuned_from)
    from lepton_shared.registry import Registry

    return Registry().get(app.name, info.version)
