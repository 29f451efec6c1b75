"""Tuning benchmark (issue 16's targets), through the CLI as a user runs it; ``make bench-tuning``.

1. Parallel speed-up on the recommender's built-in shop (light, closed-form trials): the same number of
   trials with ``--workers 1``, ``--workers 2``, and ``--workers 1`` at one thread (``OMP_NUM_THREADS=1``
   and friends: the CPU-bound scaling figure), in alternating order, ``--repeats`` times, each in a fresh
   SQLite suite database. Per run: wall and CPU seconds of the whole command (``getrusage`` of the children),
   CPU utilisation, the load average before and after, and from the study the median trial time and the
   start-up (wall before the first trial and after the last). Reported as min / median / max.
2. Tuned against default: ``tune`` with a bounded budget, then ``train`` (defaults) and ``train --params best``;
   the validation value of the study's trial 0 (defaults) and best trial, and the TEST metrics of both
   versions side by side, whichever wins. Recommender (built-in shop), fraud (the handbook slice of
   docs/benchmarks/fraud.md, each of its two training weeks) and chatbot (BANKING77; its versions scored on test.csv by
   ``evaluate``, since ``train`` scores only its held-out part of train.csv).

``run(shared)`` returns the Markdown section (``python -m benchmarks.run tuning`` writes it to
docs/benchmarks/tuning.md and docs/BENCHMARKS.md). ``python -m benchmarks.tuning --workers-only --trials N
--repeats R`` measures only the speed-up and prints the section.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lepton_shared.tuning.threads import THREAD_ENV_VARS

ROOT = Path(__file__).resolve().parents[1]
HOME = Path(os.environ.get("LEPTON_TUNING_BENCH_HOME", ROOT / "var" / "bench" / "tuning")).resolve()
LEPTON = [sys.executable, "-m", "lepton_shared.cli.main"]
#: The documented default budget of one app's study (issue 16: <= 30 min on 2 cores).
BUDGET_TRIALS = 40
BUDGET_S = 30 * 60
#: Light trials for the worker comparison, and how many times each setting runs. Enough trials that the
#: start-up (6-9 s, a second one for the second worker) does not decide the ratio: 16 trials of 0.35 s do not.
RATIO_TRIALS = 128
REPEATS = 2
#: The fraud slice and its training weeks (docs/benchmarks/fraud.md), and the fraud study's budget.
FRAUD_DATA = "fraud/transactions_2018-04-01_2018-05-31.csv.gz"
FRAUD_WEEKS = ("2018-05-01", "2018-05-08")
FRAUD_TRIALS = BUDGET_TRIALS
FRAUD_METRICS = ("roc_auc", "average_precision", "card_precision_at_100")
#: BANKING77's files, the chatbot study's trials (each up to one 4-epoch fine-tuning) and the test metrics shown.
CHATBOT_TRAIN = "banking77/train.csv"
CHATBOT_TEST = "banking77/test.csv"
CHATBOT_ARGS = ("--val-fraction", "0.05")
CHATBOT_TRIALS = 3
CHATBOT_METRICS = ("accuracy", "f1_macro")
#: The worker settings compared: label, ``--workers``, threads forced through the environment (None: the runner's).
SETTINGS: tuple[tuple[str, int, int | None], ...] = (
    ("1 worker, all cores", 1, None), ("2 workers", 2, None), ("1 worker, 1 thread", 1, 1))


def _env(home: Path, threads: int | None = None) -> dict[str, str]:
    env = {**os.environ, "LEPTON_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    env.pop("LEPTON_DATABASE_URL", None)
    env.pop("LEPTON_API_TOKEN", None)
    if threads is not None:
        env.update({name: str(threads) for name in THREAD_ENV_VARS})
    return env


def _cli(home: Path, *argv: str, threads: int | None = None) -> dict[str, Any]:
    """stdout, wall and CPU seconds and load averages of one CLI command (a failure stops the benchmark)."""
    load = os.getloadavg()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([*LEPTON, *argv], capture_output=True, text=True, env=_env(home, threads))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"`lepton {' '.join(argv)}` failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    return {"out": proc.stdout, "wall_s": wall, "cpu_s": cpu, "load_before": load[0], "load_after": os.getloadavg()[0]}


def _fresh(name: str) -> Path:
    home = HOME / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return home


def _trial_times(home: Path, study: str) -> dict[str, float]:
    """From the study: the median trial time and the wall it spans from the first start to the last end."""
    from lepton_shared.tuning.runner import open_study

    trials = open_study("recommender", study, None, f"sqlite:///{home / 'lepton.db'}", create=False).trials
    spans = [(t.datetime_start, t.datetime_complete) for t in trials if t.datetime_start and t.datetime_complete]
    durations = [(end - start).total_seconds() for start, end in spans]
    return {"trial_median_s": statistics.median(durations), "trials_sum_s": sum(durations),
            "span_s": (max(end for _, end in spans) - min(start for start, _ in spans)).total_seconds()}


def worker_ratio(trials: int = RATIO_TRIALS, repeats: int = REPEATS) -> dict[str, Any]:
    """Every setting of :data:`SETTINGS` ``repeats`` times, in an order that alternates between repeats."""
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in SETTINGS}
    for repeat in range(repeats):
        order = SETTINGS if repeat % 2 == 0 else tuple(reversed(SETTINGS))
        for label, workers, threads in order:
            home = _fresh(f"workers-{workers}-{threads}")
            run = _cli(home, "recommender", "tune", "--trials", str(trials), "--workers", str(workers), "--json",
                       threads=threads)
            result = json.loads(run.pop("out"))
            assert result["n_trials"] == trials and result["n_failed"] == 0, result
            run.update(_trial_times(home, result["study"]))
            run["startup_s"] = run["wall_s"] - run["span_s"]
            runs[label].append(run)
            print(f"{label}: {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU, load {run['load_before']:.1f}",
                  file=sys.stderr)
    return {"trials": trials, "repeats": repeats, "runs": runs,
            "command": f"lepton recommender tune --trials {trials} --workers 1|2 --json"}


def _latest(home: Path, app: str) -> dict[str, Any]:
    versions: list[dict[str, Any]] = json.loads(_cli(home, "models", "list", app, "--json")["out"])
    return max(versions, key=lambda v: int(str(v["version"]).lstrip("v")))


def tuned_against_default(app: str, data_args: tuple[str, ...], trials: int, timeout: float = BUDGET_S,
                          test_data: Path | None = None, threads: int | None = None, label: str | None = None
                          ) -> dict[str, Any]:
    """The study, and the versions ``train`` registers with its defaults and with the study's best parameters.

    With ``test_data`` each version's metrics are ``evaluate``'s on that file instead of ``train``'s own;
    ``threads`` forces the commands' thread count through the environment (None: the runner's choice);
    ``label`` names the run's suite home (default: the app).
    """
    home = _fresh(f"tuned-{label or app}")
    study_args = ("--study", f"{app}-bench")
    tuned = _cli(home, app, "tune", *data_args, *study_args, "--trials", str(trials), "--timeout", str(timeout),
                 "--json", threads=threads)
    study = json.loads(tuned.pop("out"))
    default_run = _cli(home, app, "train", *data_args, "--promote", "never", threads=threads)
    default = _latest(home, app)
    best_run = _cli(home, app, "train", *data_args, "--params", "best", *study_args, "--promote", "never",
                    threads=threads)
    best = _latest(home, app)
    commands = [f"lepton {app} tune {' '.join(data_args)} {' '.join(study_args)} --trials {trials} "
                f"--timeout {int(timeout)} --json",
                f"lepton {app} train {' '.join(data_args)} --promote never",
                f"lepton {app} train {' '.join(data_args)} --params best {' '.join(study_args)} --promote never"]
    if test_data is not None:
        for version in (default, best):
            scored = _cli(home, app, "evaluate", "--json", "--data", str(test_data), "--model",
                          str(version["version"]), threads=threads)
            version["metrics"] = json.loads(scored["out"])
        commands.append(f"lepton {app} evaluate --json --data {test_data} --model <each version>")
    return {"study": study, "tune": tuned, "default": default, "tuned": best,
            "train_s": (default_run["wall_s"], best_run["wall_s"]), "commands": commands}


def _mmm(values: list[float], fmt: str = ".1f") -> str:
    return f"{min(values):{fmt}} / {statistics.median(values):{fmt}} / {max(values):{fmt}}"


def _ratio_section(ratio: dict[str, Any]) -> list[str]:
    runs = ratio["runs"]
    lines = [f"### Two workers against one ({ratio['trials']} light trials, recommender built-in shop)", "",
             f"`{ratio['command']}`, and `--workers 1` with `OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1`; "
             f"each setting {ratio['repeats']} times, alternating, in a fresh SQLite suite database. "
             "Figures are min / median / max over the runs; CPU is user + system of the whole command and its "
             "workers; start-up is the wall outside the study's first-start-to-last-end span.", "",
             "| setting | wall s | CPU s | CPU utilisation | median trial s | start-up s | load avg before -> after |",
             "|---|---|---|---|---|---|---|"]
    for label, rs in runs.items():
        lines.append(
            f"| {label} | {_mmm([r['wall_s'] for r in rs])} | {_mmm([r['cpu_s'] for r in rs])} | "
            f"{_mmm([100 * r['cpu_s'] / r['wall_s'] for r in rs], '.0f')} % | "
            f"{_mmm([r['trial_median_s'] for r in rs], '.2f')} | "
            f"{_mmm([r['startup_s'] for r in rs])} | "
            + ", ".join(f"{r['load_before']:.1f} -> {r['load_after']:.1f}" for r in rs) + " |")
    one, two, single = (runs[label] for label, _, _ in SETTINGS)
    pairs = [b["wall_s"] / a["wall_s"] for a, b in zip(one, two, strict=True)]
    scaling = [b["wall_s"] / a["wall_s"] for a, b in zip(single, two, strict=True)]
    lines += ["",
              f"Wall ratio 2 workers / 1 worker (all cores), run by run: {_mmm(pairs, '.2f')} (target <= 0.6).",
              f"Scaling, 2 workers (1 thread each) / 1 worker at 1 thread, run by run: {_mmm(scaling, '.2f')} "
              "(0.5 would be perfect).", ""]
    return lines


def _tuned_section(name: str, t: dict[str, Any], metrics: tuple[str, ...], note: str) -> list[str]:
    s, d, b = t["study"], t["default"], t["tuned"]
    lines = [f"### {name}: tuned against default", "", note, "", "```", *t["commands"], "```", "",
             f"{s['n_trials']} trials ({s['n_complete']} complete, {s['n_pruned']} pruned, {s['n_failed']} failed) in "
             f"{t['tune']['wall_s']:.0f} s wall (load average {t['tune']['load_before']:.1f} -> "
             f"{t['tune']['load_after']:.1f}); training {t['train_s'][0]:.0f} s (defaults) and {t['train_s'][1]:.0f} s "
             "(tuned).", "",
             f"| | validation {s['metric']} (the study) | " + " | ".join(f"test {m}" for m in metrics) + " |",
             "|---|---|" + "---|" * len(metrics)]
    for label, value, version, trial in (("defaults", s["default_value"], d, 0),
                                         ("tuned", s["best_value"], b, s["best_trial"])):
        cells = " | ".join(f"{version['metrics'].get(m, float('nan')):.4f}" for m in metrics)
        lines.append(f"| {label} ({version['version']}) | {value:.4f} (trial {trial}) | {cells} |")
    lines += ["", f"Best parameters: `{json.dumps(s['best_params'], sort_keys=True)}`.", ""]
    return lines


def _section(ratio: dict[str, Any] | None, tuned: dict[str, dict[str, Any]]) -> str:
    lines = ["## Tuning (`lepton <app> tune`)", ""]
    if ratio is not None:
        lines += _ratio_section(ratio)
    if "recommender" in tuned:
        lines += _tuned_section(
            "Recommender, built-in shop", tuned["recommender"], ("ndcg_at_10", "precision_at_10"),
            "`train` without `--params` searches its own small grid on validation, so its test figure is that "
            "grid's pick, not trial 0's.")
    for key in sorted(k for k in tuned if k.startswith("fraud")):
        lines += _tuned_section(
            f"Fraud, handbook slice, training week {tuned[key]['week']}", tuned[key], FRAUD_METRICS,
            f"Data `../shared/datasets/{FRAUD_DATA}`; `train` registers the candidate with the better validation "
            "average precision (LightGBM or the MLP) with its default parameters.")
    if "chatbot" in tuned:
        lines += _tuned_section(
            "Chatbot, BANKING77", tuned["chatbot"], CHATBOT_METRICS,
            f"Data `../shared/datasets/{CHATBOT_TRAIN}` ({' '.join(CHATBOT_ARGS)}: 5 % held out for the study's "
            f"objective, early stopping and the blend); test metrics by `evaluate` on `{CHATBOT_TEST}`.")
    return "\n".join(lines)


def measure(shared: Path, trials: int = RATIO_TRIALS, repeats: int = REPEATS, apps: tuple[str, ...] = (
        "recommender", "fraud", "chatbot"), workers: bool = True, fraud_trials: int = FRAUD_TRIALS,
        fraud_weeks: tuple[str, ...] = FRAUD_WEEKS, chatbot_trials: int = CHATBOT_TRIALS,
        threads: int | None = None) -> str:
    ratio = worker_ratio(trials, repeats) if workers else None
    tuned: dict[str, dict[str, Any]] = {}
    if "recommender" in apps:
        tuned["recommender"] = tuned_against_default("recommender", (), BUDGET_TRIALS, threads=threads)
    fraud_data = shared / "datasets" / FRAUD_DATA
    for week in fraud_weeks if "fraud" in apps else ():
        tuned[f"fraud {week}"] = tuned_against_default("fraud", ("--data", str(fraud_data), "--train-start", week),
                                                       fraud_trials, threads=threads, label=f"fraud-{week}")
        tuned[f"fraud {week}"]["week"] = week
    if "chatbot" in apps:
        data = shared / "datasets" / CHATBOT_TRAIN
        tuned["chatbot"] = tuned_against_default("chatbot", ("--data", str(data), *CHATBOT_ARGS), chatbot_trials,
                                                 test_data=shared / "datasets" / CHATBOT_TEST, threads=threads)
    for t in tuned.values():
        t["commands"] = [c.replace(str(shared), "../shared") for c in t["commands"]]
    return _section(ratio, tuned)


def run(shared: Path) -> str:
    return measure(shared)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers-only", action="store_true", help="measure only the worker comparison")
    parser.add_argument("--trials", type=int, default=RATIO_TRIALS, help="trials of the worker comparison")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs of each worker setting")
    parser.add_argument("--apps", default="recommender,fraud,chatbot",
                        help="apps to tune against their defaults: recommender, fraud, chatbot")
    parser.add_argument("--fraud-trials", type=int, default=FRAUD_TRIALS, help="trials of the fraud study")
    parser.add_argument("--fraud-weeks", default=",".join(FRAUD_WEEKS),
                        help="first days of the fraud training weeks, comma-separated")
    parser.add_argument("--chatbot-trials", type=int, default=CHATBOT_TRIALS, help="trials of the chatbot study")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads of the tuned-against-default commands (default: the runner's choice)")
    parser.add_argument("--no-workers", action="store_true", help="skip the worker comparison")
    args = parser.parse_args()
    from benchmarks.run import shared_dir

    apps = () if args.workers_only else tuple(a for a in args.apps.split(",") if a)
    print(measure(shared_dir(), args.trials, args.repeats, apps, not args.no_workers, args.fraud_trials,
                  tuple(w for w in args.fraud_weeks.split(",") if w), args.chatbot_trials, args.threads))


if __name__ == "__main__":
    main()
