"""Tuning benchmark (issue 16's targets), on the recommender's built-in shop, through the CLI as a user runs it:

1. tuned against default: ``lepton recommender tune`` with the documented budget, then ``train`` (its own default
   search) and ``train --params best``; the validation values of the study and the test NDCG@10 of both versions,
   side by side, whichever wins;
2. parallel speed-up: the same number of light trials with ``--workers 1`` and ``--workers 2`` (fresh studies in
   one fresh SQLite suite database each); the wall-time ratio (target <= 0.6).

``run(shared)`` returns the Markdown section (``python -m benchmarks.run tuning``, ``make bench-tuning``);
``python -m benchmarks.tuning --workers-only --trials N`` measures only the ratio, quickly.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "var" / "bench" / "tuning"
LEPTON = [sys.executable, "-m", "lepton_shared.cli.main"]
#: The documented default budget of one app's study (issue 16: <= 30 min on 2 cores).
BUDGET_TRIALS = 40
BUDGET_S = 30 * 60
#: Light trials for the worker comparison.
RATIO_TRIALS = 16


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "LEPTON_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    env.pop("LEPTON_DATABASE_URL", None)
    env.pop("LEPTON_API_TOKEN", None)
    return env


def _cli(home: Path, *argv: str) -> tuple[str, float]:
    """stdout and wall seconds of one CLI command (a failure stops the benchmark with its stderr)."""
    started = time.perf_counter()
    proc = subprocess.run([*LEPTON, *argv], capture_output=True, text=True, env=_env(home))
    if proc.returncode != 0:
        raise RuntimeError(f"`lepton {' '.join(argv)}` failed:\n{proc.stderr[-3000:]}")
    return proc.stdout, time.perf_counter() - started


def _fresh(name: str) -> Path:
    home = HOME / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return home


def worker_ratio(trials: int = RATIO_TRIALS) -> dict[str, Any]:
    """Wall seconds of ``tune --trials trials`` with one and with two workers, each in a fresh suite database."""
    walls: dict[int, float] = {}
    for workers in (1, 2):
        home = _fresh(f"workers-{workers}")
        out, walls[workers] = _cli(home, "recommender", "tune", "--trials", str(trials), "--workers", str(workers),
                                   "--json")
        assert json.loads(out)["n_trials"] == trials
    return {"trials": trials, "one_worker_s": walls[1], "two_workers_s": walls[2], "ratio": walls[2] / walls[1],
            "command": f"lepton recommender tune --trials {trials} --workers 1|2 --json"}


def _latest(home: Path) -> dict[str, Any]:
    out, _ = _cli(home, "models", "list", "recommender", "--json")
    versions: list[dict[str, Any]] = json.loads(out)
    return max(versions, key=lambda v: int(str(v["version"]).lstrip("v")))


def tuned_against_default(trials: int = BUDGET_TRIALS, timeout: float = BUDGET_S) -> dict[str, Any]:
    """The study, and the test metrics of ``train`` with its defaults and with the study's best parameters."""
    home = _fresh("tuned")
    out, tune_s = _cli(home, "recommender", "tune", "--trials", str(trials), "--timeout", str(timeout), "--json")
    study = json.loads(out)
    _cli(home, "recommender", "train", "--promote", "never")
    default = _latest(home)
    _cli(home, "recommender", "train", "--params", "best", "--promote", "never")
    tuned = _latest(home)
    return {"study": study, "tune_s": tune_s, "default": default, "tuned": tuned}


def _section(ratio: dict[str, Any], tuned: dict[str, Any] | None) -> str:
    lines = ["## Tuning (`lepton <app> tune`)", ""]
    if tuned is not None:
        s, d, t = tuned["study"], tuned["default"], tuned["tuned"]
        lines += [
            f"Recommender, built-in shop: `lepton recommender tune --trials {BUDGET_TRIALS} --timeout {BUDGET_S} "
            f"--json` ({s['n_trials']} trials, {tuned['tune_s']:.0f} s), then `lepton recommender train` and "
            "`lepton recommender train --params best`.",
            "",
            "| | validation NDCG@10 (the study) | test NDCG@10 | params |",
            "|---|---|---|---|",
            f"| defaults | {s['default_value']:.4f} (trial 0) | {d['metrics']['ndcg_at_10']:.4f} | "
            f"{d['params'].get('family')} |",
            f"| tuned | {s['best_value']:.4f} (trial {s['best_trial']}) | {t['metrics']['ndcg_at_10']:.4f} | "
            f"{s['best_params']} |",
            "",
            "Trial 0 is what `train` scores first with the app's defaults; `train` without `--params` still "
            "searches its own small grid on validation, so its test figure is that search's.",
            ""]
    lines += [f"Two workers against one, {ratio['trials']} light trials on the built-in shop "
              f"(`{ratio['command']}`): {ratio['one_worker_s']:.1f} s with one worker, {ratio['two_workers_s']:.1f} s "
              f"with two, ratio **{ratio['ratio']:.2f}** (target <= 0.6; each worker prepares the data once)."]
    return "\n".join(lines)


def run(shared: Path) -> str:
    return _section(worker_ratio(), tuned_against_default())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers-only", action="store_true", help="measure only the 1- against 2-worker ratio")
    parser.add_argument("--trials", type=int, default=RATIO_TRIALS, help="trials of the worker comparison")
    args = parser.parse_args()
    ratio = worker_ratio(args.trials)
    print(_section(ratio, None if args.workers_only else tuned_against_default()))


if __name__ == "__main__":
    main()
