"""Seed spread of the plain train commands: imaging, maintenance and chatbot, each against its quality target.

Why: one run is not a result. PPO's saving moved by 30 points between runs, and one standard error of BANKING77
accuracy is 0.4 points, so the targets of the quality round are stated over seeds. For each app and seed this runs
what an analyst runs, with nothing added but the seed and a home of its own:

    LEPTON_HOME=var/bench/seeds/<app>-<seed> lepton <app> train --data <train file> --seed <seed> --promote always
    LEPTON_HOME=var/bench/seeds/<app>-<seed> lepton <app> evaluate --data <test file> --json

A home whose production model was trained on that file with that seed is reused (its training time is the one
recorded then), and so is its saved score on the test file, so an interrupted run picks up where it stopped.
Seeds run ``--jobs`` at a time with one torch thread each: two one-thread trainings use two cores better than
one two-thread training on a shared machine.

    python -m benchmarks.seeds --apps imaging chatbot maintenance --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOMES = ROOT / "var" / "bench" / "seeds"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "TOKENIZERS_PARALLELISM": "false", "PYTHONWARNINGS": "ignore"}


@dataclass(frozen=True)
class Target:
    """A figure over seeds and the bound it must keep: ``at_least`` for higher-is-better figures."""

    label: str
    figure: Callable[[list[float]], float]
    bound: float
    at_least: bool = True

    def met(self, values: list[float]) -> bool:
        value = self.figure(values)
        return value >= self.bound if self.at_least else value <= self.bound


def mean(values: list[float]) -> float:
    return statistics.fmean(values)


def worst_high(values: list[float]) -> float:
    """The worst of a higher-is-better figure."""
    return min(values)


def worst_low(values: list[float]) -> float:
    """The worst of a lower-is-better figure."""
    return max(values)


@dataclass(frozen=True)
class SeedSpec:
    """One app's run over seeds: its files under ../shared/datasets, the columns shown and the targets."""

    app: str
    title: str
    train: str
    test: str
    seeds: tuple[int, ...]
    columns: dict[str, Callable[[dict[str, Any]], Any]]  #: column heading -> value from one seed's result
    targets: dict[str, tuple[Target, ...]]  #: column heading -> its targets


def _eval(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda r: r["evaluate"].get(key)


def _trained(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda r: r["trained"]["metrics"].get(key)


def _replay_saving(r: dict[str, Any]) -> Any:
    return r["evaluate"].get("policies_cmapss_replay", {}).get("rl_saving_vs_best_baseline")


SPECS: dict[str, SeedSpec] = {
    "imaging": SeedSpec(
        "imaging", "Imaging, PneumoniaMNIST", "medmnist/pneumoniamnist.npz", "medmnist/pneumoniamnist.npz",
        (1, 2, 3),
        {"test ROC AUC": _eval("roc_auc"), "test ECE": _eval("ece"),
         "ECE 95 % interval": lambda r: r["evaluate"].get("ece_ci95"),
         "ECE before calibration": _eval("ece_uncalibrated"), "calibration": _eval("calibration_method"),
         "threshold": _eval("threshold"), "accuracy at threshold": _eval("accuracy_at_threshold"),
         "sensitivity at threshold": _eval("sensitivity_at_threshold"),
         "train s": _trained("train_seconds")},
        {"test ROC AUC": (Target("mean >= 0.975", mean, 0.975),),
         "test ECE": (Target("every seed <= 0.03", worst_low, 0.03, at_least=False),),
         "accuracy at threshold": (Target("every seed >= 0.91", worst_high, 0.91),),
         "sensitivity at threshold": (Target("every seed >= 0.95", worst_high, 0.95),)}),
    "maintenance": SeedSpec(
        "maintenance", "Maintenance, C-MAPSS FD001", "cmapss/train_FD001.txt", "cmapss/test_FD001.txt",
        (1, 2, 3, 4, 5),
        {"test RMSE": _eval("rmse"), "RL saving (simulator)": _eval("rl_saving_vs_best_baseline"),
         "policy": _eval("policy"), "fell back": _eval("policy_fallback"),
         "policy's saving": _eval("policy_saving_vs_best_baseline"),
         "RL saving (replayed engines)": _replay_saving,
         "train s": lambda r: r["trained"]["params"].get("train_seconds")},
        {"test RMSE": (Target("every seed <= 11.0", worst_low, 11.0, at_least=False),),
         "RL saving (simulator)": (Target("mean >= 0.30", mean, 0.30), Target("worst >= 0.20", worst_high, 0.20)),
         "policy's saving": (Target("every seed >= 0 (never worse than the best rule)", worst_high, 0.0),)}),
    "chatbot": SeedSpec(
        "chatbot", "Chatbot, BANKING77", "banking77/train.csv", "banking77/test.csv", (1, 2, 3),
        {"test accuracy": _eval("accuracy"), "test F1 macro": _eval("f1_macro"),
         "validation accuracy": _trained("accuracy"), "head alone (validation)": _trained("head_only_accuracy"),
         "vote / TF-IDF weights": lambda r: (r["trained"]["metrics"].get("neighbour_weight"),
                                             r["trained"]["metrics"].get("text_weight")),
         "train s": _trained("train_seconds")},
        {"test accuracy": (Target("mean >= 0.945", mean, 0.945), Target("worst >= 0.94", worst_high, 0.94))}),
}


def _lepton(home: Path, *argv: str) -> str:
    env = {**os.environ, **ONE_THREAD, "LEPTON_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", *argv], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"lepton {' '.join(argv)} failed: {proc.stderr.strip()[-1500:]}")
    return proc.stdout


def _production(home: Path, app: str) -> dict[str, Any] | None:
    try:
        return dict(json.loads(_lepton(home, "models", "show", app)))
    except (RuntimeError, json.JSONDecodeError):
        return None


def trained_here(info: dict[str, Any] | None, data: Path, seed: int) -> bool:
    """Whether a production model was trained by this harness's command for ``data`` and ``seed``."""
    if info is None:
        return False
    params = info.get("params", {})
    return params.get("seed") == seed and str(data) in (params.get("source"), params.get("data"))


def one_seed(spec: SeedSpec, shared: Path, seed: int) -> dict[str, Any]:
    """Train (unless this home already holds the model) and evaluate one seed; the result is also saved in the
    seed's home as ``result.json`` so that the section can be written again without any training."""
    home = HOMES / f"{spec.app}-{seed}"
    home.mkdir(parents=True, exist_ok=True)
    data, test = shared / "datasets" / spec.train, shared / "datasets" / spec.test
    info = _production(home, spec.app)
    reused = trained_here(info, data, seed)
    saved = home / "result.json"
    if info is not None and reused and saved.exists():  # this model was already scored on this test file
        result = dict(json.loads(saved.read_text()))
        if result.get("version") == info["version"] and result.get("test") == str(test):
            return result
    started = time.perf_counter()
    if not reused:
        _lepton(home, spec.app, "train", "--data", str(data), "--seed", str(seed), "--promote", "always")
        info = _production(home, spec.app)
    assert info is not None
    result = {"app": spec.app, "seed": seed, "version": info["version"], "reused": reused, "test": str(test),
              "wall_s": None if reused else round(time.perf_counter() - started, 1),
              "trained": {"metrics": info["metrics"], "params": info["params"]},
              "evaluate": json.loads(_lepton(home, spec.app, "evaluate", "--data", str(test), "--json")),
              "load": os.getloadavg()[0]}
    saved.write_text(json.dumps(result, indent=1, default=str))
    return result


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    if isinstance(value, list | tuple):
        return " / ".join(_cell(v) for v in value) if value else "-"
    return "-" if value is None else str(value)


def section(spec: SeedSpec, results: list[dict[str, Any]], shared: str) -> str:
    """One app's table: a row per seed, then mean and worst of each number, then each target met or missed."""
    results = sorted(results, key=lambda r: r["seed"])
    heads = list(spec.columns)
    rows = [[str(r["seed"]), *(_cell(spec.columns[h](r)) for h in heads)] for r in results]
    lines = [f"### {spec.title}: {len(results)} seeds of the plain train command", "",
             "| seed | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|",
             *("| " + " | ".join(row) + " |" for row in rows)]
    numbers = {h: [spec.columns[h](r) for r in results] for h in heads}
    numeric = {h: v for h, v in numbers.items() if v and all(isinstance(x, int | float) and not isinstance(x, bool)
                                                             for x in v)}
    for name, figure in (("mean", mean), ("sd", statistics.stdev)):
        if len(results) < 2 and name == "sd":
            continue
        lines.append(f"| {name} | " + " | ".join(_cell(float(figure(numeric[h]))) if h in numeric else ""
                                                 for h in heads) + " |")
    lines.append("")
    verdicts = []
    for head, targets in spec.targets.items():
        values = numeric.get(head)
        for target in targets:
            if values is None:
                verdicts.append(f"- {head}, {target.label}: not measured")
                continue
            state = "**met**" if target.met(values) else "**missed**"
            verdicts.append(f"- {head}, {target.label}: {_cell(float(target.figure(values)))}, {state}")
    lines += ["Targets:", *verdicts, ""]
    loads = [r["load"] for r in results if r.get("load") is not None]
    reused = [str(r["seed"]) for r in results if r.get("reused")]
    lines.append("Commands, for each seed S (one torch thread each; load average when scored: "
                 + (f"{min(loads):.1f}-{max(loads):.1f}" if loads else "not recorded")
                 + (f"; seed(s) {', '.join(reused)} trained by an earlier run of the same command, training time "
                    "as recorded then" if reused else "") + "):")
    lines += ["```", f"LEPTON_HOME=var/bench/seeds/{spec.app}-S lepton {spec.app} train --data "
              f"{shared}/datasets/{spec.train} --seed S --promote always",
              f"LEPTON_HOME=var/bench/seeds/{spec.app}-S lepton {spec.app} evaluate --data "
              f"{shared}/datasets/{spec.test} --json", "```", ""]
    return "\n".join(lines)


def saved_results(app: str) -> list[dict[str, Any]]:
    """Every seed of ``app`` whose result is saved under var/bench/seeds."""
    return [json.loads(p.read_text()) for p in sorted(HOMES.glob(f"{app}-*/result.json"))]


def render(shared: str = "../shared") -> str:
    """The section: every app with saved seeds, whichever of them this run trained or scored."""
    parts = ["## Quality over seeds", "",
             "Each app's plain train command on its public data set, once per seed, scored on the test split "
             "(`python -m benchmarks.seeds`, `make bench-seeds`). Nothing is chosen on the test split.", ""]
    for app in SPECS:
        results = saved_results(app)
        if results:
            parts.append(section(SPECS[app], results, shared))
    return "\n".join(parts)


def run(shared: Path, apps: list[str] | None = None, seeds: list[int] | None = None, jobs: int = 2) -> str:
    """``benchmarks.run``'s entry: every app's seeds (hours on 2 cores), then the section of all saved seeds."""
    apps = apps or list(SPECS)
    work = [(SPECS[a], s) for a in apps for s in (seeds or SPECS[a].seeds)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for done in pool.map(lambda w: one_seed(w[0], shared, w[1]), work):
            print(json.dumps({k: done[k] for k in ("app", "seed", "version", "wall_s")}), file=sys.stderr)
    return render()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", nargs="+", choices=list(SPECS), default=list(SPECS))
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: each app's (3; maintenance 5)")
    parser.add_argument("--jobs", type=int, default=2, help="seeds trained at once, one torch thread each")
    parser.add_argument("--render-only", action="store_true",
                        help="write the section from the results saved under var/bench/seeds, training nothing")
    args = parser.parse_args(argv)
    from datetime import UTC, datetime

    from benchmarks.run import shared_dir, write_section

    started = datetime.now(UTC)
    text = render() if args.render_only else run(shared_dir(), args.apps, args.seeds, args.jobs)
    write_section("seeds", text, started)
    print(text)


if __name__ == "__main__":
    main()
