"""``make bench-perf``: the efficiency targets of issue 15, measured; writes docs/PERFORMANCE.md.

Runs the CLI as a user would, in a scratch ``LEPTON_HOME`` (``var/bench/perf``, or ``LEPTON_PERF_HOME``):

1. ``lepton <app> train <the manifest's tiny options>`` for each measured app without a production model there
   (the served network is the same as with the full options: MiniLM-L6 + a linear head for the chatbot,
   ResNet-18 at 28 px for imaging; only the training data is smaller, which does not change serving speed);
2. ``lepton perf trainer --json``: the shared Trainer against a plain torch loop;
3. ``lepton perf serve <app> --clients 1,4,16,64 --json`` for chatbot and imaging: batching off and on.

4. with ``--optimize``: ``lepton <app> optimize --method M --data <the public test data> --promote never --json``
   for every method, on the model the quality benchmark trained on the public data (``var/bench/<app>``, or
   ``LEPTON_PERF_<APP>_HOME``; trained there first with the quality benchmark's command when it has none).

Every command's JSON is kept in ``docs/benchmarks/perf.json``; the optimisation section reads the
``lepton <app> optimize`` outputs saved as ``docs/benchmarks/optimize/<app>-<method>.json`` with the command,
the machine's load and the time each took.

Options: ``--apps chatbot,imaging``, ``--clients 1,4,16,64``, ``--requests N``, ``--skip-trainer``,
``--skip-serve``, ``--optimize`` (``--methods int8,onnx-int8``), ``--reuse`` (render docs/PERFORMANCE.md from
the saved JSON without measuring again).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "PERFORMANCE.md"
RAW = ROOT / "docs" / "benchmarks" / "perf.json"
OPTIMIZE_DIR = ROOT / "docs" / "benchmarks" / "optimize"

TRAINER_TARGET = 1.05
OVERHEAD_TARGET_MS = 1.0
BATCH_SPEEDUP_TARGET = 3.0
P99_TARGET_MS = 250.0


#: Per app: the public data (under ../shared/datasets) to train on, to optimise with, and the training options of
#: its quality benchmark (benchmarks/<app>.py), so the optimised model is the one docs/BENCHMARKS.md measures.
OPTIMIZE_DATA: dict[str, tuple[str | None, str | None, tuple[str, ...]]] = {
    "chatbot": ("banking77/train.csv", "banking77/test.csv", ("--epochs", "4", "--val-fraction", "0.05",
                                                               "--encoder-lr", "1e-4")),
    "imaging": ("medmnist/pneumoniamnist.npz", "medmnist/pneumoniamnist.npz", ()),
    # the built-in simulated fleet, where the RUL estimate is the nets' alone (no trees); on C-MAPSS the blend
    # gives the trees 0.8-1.0 of the weight, so the nets' form hardly shows (at 1.0 they are not run at all).
    # A brief simulator agent: optimize changes the RUL nets only
    "maintenance": (None, None, ("--rl-steps", "4096")),
    # the MLP only: optimize applies to the torch net, and the quality benchmark's default pick is LightGBM
    "fraud": ("fraud/transactions_2018-04-01_2018-05-31.csv.gz", "fraud/transactions_2018-04-01_2018-05-31.csv.gz",
              ("--models", "mlp")),
}
#: Apps whose optimised model is not the one their quality benchmark keeps in var/bench/<app>: their own home.
OPTIMIZE_HOMES = {"fraud": "fraud_mlp"}
OPTIMIZE_METHODS = ("int8", "onnx", "onnx-int8", "prune", "bf16")


def home(app: str | None = None) -> Path:
    """The scratch home of the service measurements, or (``app``) the home holding that app's benchmark model."""
    if app is not None:
        return Path(os.environ.get(f"LEPTON_PERF_{app.upper()}_HOME", ROOT / "var" / "bench" / app)).resolve()
    return Path(os.environ.get("LEPTON_PERF_HOME", ROOT / "var" / "bench" / "perf")).resolve()


def datasets() -> Path:
    return Path(os.environ.get("LEPTON_DATASETS", ROOT.parent / "shared" / "datasets")).resolve()


def _env(where: Path | None = None) -> dict[str, str]:
    return {**os.environ, "LEPTON_HOME": str(where or home()), "TOKENIZERS_PARALLELISM": "false",
            "PYTHONWARNINGS": "ignore"}


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _lepton(args: list[str], timeout: float = 7200, where: Path | None = None) -> tuple[str, dict[str, Any]]:
    """Run ``lepton ARGS`` (stderr shown as it comes); (the command as shown in the docs, facts of the run)."""
    shown = f"LEPTON_HOME={_rel(where or home())} lepton {' '.join(args)}"
    print(f"$ {shown}", file=sys.stderr, flush=True)
    load_before, started = _load(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", *args], stdout=subprocess.PIPE,
                          text=True, env=_env(where), timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"`{shown}` failed with exit code {proc.returncode}")
    facts = {"command": shown, "seconds": round(time.perf_counter() - started, 1), "load_before": load_before,
             "load_after": _load()}
    return proc.stdout, facts


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _has_model(app: str, where: Path | None = None) -> bool:
    proc = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "models", "show", app],
                          capture_output=True, text=True, env=_env(where))
    return proc.returncode == 0


def _rel_data(path: Path) -> str:
    return f"../shared/datasets/{path.relative_to(datasets()).as_posix()}" if path.is_relative_to(datasets()) \
        else str(path)


def optimize(apps: list[str], methods: list[str]) -> None:
    """``lepton <app> optimize`` for every method on the app's benchmark model; one JSON file per run."""
    from lepton_shared.manifest import get_manifest

    OPTIMIZE_DIR.mkdir(parents=True, exist_ok=True)
    for app in apps:
        if app not in OPTIMIZE_DATA:
            continue
        train_rel, eval_rel, flags = OPTIMIZE_DATA[app]
        train_data = datasets() / train_rel if train_rel else None
        eval_data = datasets() / eval_rel if eval_rel else None
        if eval_data is not None and not eval_data.exists():
            raise SystemExit(f"{eval_data} is missing: the optimisation figures need the public data set")
        where = home(OPTIMIZE_HOMES.get(app, app))
        if not _has_model(app, where):
            data_args = ["--data", str(train_data)] if train_data else []
            _lepton([app, "train", *data_args, *flags, "--promote", "always"], timeout=6 * 3600, where=where)
        source = json.loads(subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "models", "show", app],
                                           capture_output=True, text=True, env=_env(where),
                                           check=True).stdout)
        for method in methods:
            if method == "fp16":
                continue  # a GPU method; the runner refuses it on a CPU
            eval_args = ["--data", str(eval_data)] if eval_data else []
            out, facts = _lepton([app, "optimize", "--method", method, "--model", source["version"], *eval_args,
                                  "--promote", "never", "--json"], where=where)
            if eval_data:
                facts["command"] = facts["command"].replace(str(eval_data), _rel_data(eval_data))
            result = {**json.loads(out), "run": facts, "key_metric_higher_is_better":
                      get_manifest(app).higher_is_better,
                      "trained_on": _rel_data(train_data) if train_data else "built-in data"}
            (OPTIMIZE_DIR / f"{app}-{method}.json").write_text(json.dumps(result, indent=2) + "\n")


def measure(apps: list[str], clients: str, requests: int, skip_trainer: bool,
            skip_serve: bool = False) -> dict[str, Any]:
    from lepton_shared.manifest import get_manifest

    raw: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                           "training": {}, "serve": {}}
    for app in apps:
        if not _has_model(app):
            _, facts = _lepton([app, "train", *get_manifest(app).tiny_train_args, "--promote", "always"])
            raw["training"][app] = facts
    if not skip_trainer:
        # torch's default (a thread per core) only on an idle machine: oversubscribed OpenMP threads spin
        # against each other and the run times then vary several-fold (see lepton_shared.perf.trainer)
        cores = os.cpu_count() or 1
        threads = max(1, cores - round(_load()[0] if _load() else 0.0))
        out, facts = _lepton(["perf", "trainer", "--threads", str(threads), "--json"])
        raw["trainer"] = {**json.loads(out), "run": facts}
    for app in [] if skip_serve else apps:
        out, facts = _lepton(["perf", "serve", app, "--clients", clients, "--requests", str(requests), "--json"])
        raw["serve"][app] = {**json.loads(out), "run": facts}
    raw["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return raw


def machine() -> dict[str, Any]:
    import torch

    return {"platform": platform.platform(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


# -- rendering ----------------------------------------------------------------------------------------------------
def _verdict(ok: bool | None) -> str:
    return "**met**" if ok else ("not measured" if ok is None else "**missed**")


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render(raw: dict[str, Any]) -> str:
    m = raw["machine"]
    parts = [
        "# Performance\n",
        "Written by `make bench-perf` (`python -m benchmarks.perf`), which runs the commands quoted in each section "
        f"in a scratch home (`LEPTON_HOME={_rel(home())}`); their raw JSON is in `docs/benchmarks/perf.json`. "
        "Targets from issue 15. Load averages are `os.getloadavg()` (1, 5, 15 minutes) before and after each "
        "command: on a machine shared with other work the figures are pessimistic, most of all for the batched "
        "service, whose one model thread gets a smaller share of a crowded CPU than sixteen unbatched ones.\n",
        f"Machine: {m['machine']}, {m['cpu_count']} CPU cores, {m['platform']}, Python {m['python']}, torch "
        f"{m['torch']} ({m['torch_threads']} threads), GPU: {m['gpu'] or 'none'}. Measured {raw['started']} to "
        f"{raw.get('finished', '?')} UTC.\n",
    ]
    if raw.get("training"):
        rows = "\n".join(f"| {app} | `{f['command']}` | {f['seconds']} s |" for app, f in raw["training"].items())
        parts.append("Models trained for the service measurements:\n\n| app | command | time |\n|---|---|---|\n"
                     + rows + "\n")
    parts.append(_trainer_section(raw.get("trainer")))
    parts.append(_overhead_section(raw.get("serve", {})))
    parts.append(_batching_section(raw.get("serve", {})))
    parts.append(_optimize_section())
    notes = ROOT / "docs" / "benchmarks" / "notes" / "performance.md"
    if notes.exists():  # written by people; never by this script
        parts.append(notes.read_text().strip() + "\n")
    return "\n".join(parts)


def _trainer_section(t: dict[str, Any] | None) -> str:
    head = f"## Trainer overhead: target <= {TRAINER_TARGET}x a plain torch loop\n"
    if not t:
        return head + "\nNot measured in this run (`--skip-trainer`).\n"
    w = t["workload"]
    ok = t["ratio"] <= TRAINER_TARGET
    return head + f"""
Command: `{t['run']['command']}` (load {t['run']['load_before']} → {t['run']['load_after']}).

Workload: an MLP ({w['features']} → {w['hidden']} → {w['hidden']} → {w['classes']}) on {w['samples']:,} synthetic rows,
batch {w['batch_size']}, {w['epochs']} epochs with a validation pass each, AdamW, gradient clipping 1.0, on
{t['device']} with {t['torch_threads']} threads. The plain loop does the same work by hand (same initial weights,
same batch order, keeps the best weights); both end with the same training loss
({t['trainer_final_loss']} vs {t['plain_final_loss']}: {'identical' if t['same_result'] else 'different'}), so
they did the same arithmetic. {w['repeats']} runs each, alternating which goes first; medians compared.

| | median | runs (s) |
|---|---|---|
| Trainer | {t['trainer_s']:.3f} s | {', '.join(f'{x:.3f}' for x in t['trainer_runs_s'])} |
| plain loop | {t['plain_s']:.3f} s | {', '.join(f'{x:.3f}' for x in t['plain_runs_s'])} |
| **ratio** | **{t['ratio']:.3f}x** (target <= {TRAINER_TARGET}x): {_verdict(ok)} | peak memory {t['peak_rss_mb']} MiB |
{_cpu_rows(t)}"""


def _cpu_rows(t: dict[str, Any]) -> str:
    if "cpu_ratio" not in t:
        return ""
    ok = t["cpu_ratio"] <= TRAINER_TARGET
    return (f"| Trainer, CPU time | {t['trainer_cpu_s']:.3f} s | "
            f"{', '.join(f'{x:.3f}' for x in t['trainer_cpu_runs_s'])} |\n"
            f"| plain loop, CPU time | {t['plain_cpu_s']:.3f} s | "
            f"{', '.join(f'{x:.3f}' for x in t['plain_cpu_runs_s'])} |\n"
            f"| **CPU-time ratio** | **{t['cpu_ratio']:.3f}x**: {_verdict(ok)} | less disturbed by other work "
            f"on the machine than wall-clock time |\n")


def _overhead_section(serve: dict[str, Any]) -> str:
    head = f"## Service overhead: target <= {OVERHEAD_TARGET_MS} ms p50 over the in-process predictor\n"
    if not serve:
        return head + "\nNot measured in this run.\n"
    rows = []
    for app, s in serve.items():
        floor = s.get("http_floor_p50_ms")
        for mode, over in s["overhead_p50_ms_by_batching"].items():
            default = " (default)" if mode == s["batching_default"] else ""
            cpu = s.get("overhead_cpu_ms_by_batching", {}).get(mode)
            rows.append(f"| {app} | {mode}{default} | {s['inprocess_p50_ms']:.2f} | "
                        f"{s['service_p50_ms_by_batching'][mode]:.2f} | **{over:.2f}** | "
                        f"{_verdict(over <= OVERHEAD_TARGET_MS)} | {_fmt(floor)} | "
                        f"{_fmt(None if floor is None else over - floor)} | {_fmt(cpu)} | "
                        f"{s['peak_rss_mb'].get(mode)} |")
    return head + """
One client, keep-alive connection, the same inputs in the same order: `POST /v1/predict` through
`lepton <app> serve` (HTTP parsing, auth and size checks, validation, JSON; the prediction log row is queued
for the service's log writer, which commits it just after the answer) against `predictor.predict(item)` in the
measuring process. Commands: see the next section. "HTTP floor" is one round trip, same client and payloads, to
a bare FastAPI app under uvicorn (`lepton_shared/perf/floor_app.py`: no model, no database, one hop to a worker
thread): what any Python HTTP service costs on this machine, so no service's overhead can be below it. "Service
CPU added" is the service process's CPU time per request minus the predictor's CPU time per call: the work the
service adds, steadier than the p50 difference when other work shares the machine.

""" + ("| app | batching | in-process p50 (ms) | service p50 (ms) | overhead p50 (ms) | target | HTTP floor p50 (ms) "
       "| overhead above the floor (ms) | service CPU added per request (ms) | service peak memory (MiB) |\n"
       "|---|---|---|---|---|---|---|---|---|---|\n") + "\n".join(rows) + "\n"


def _batching_section(serve: dict[str, Any]) -> str:
    head = (f"## Micro-batching: chatbot at 16 clients >= {BATCH_SPEEDUP_TARGET}x the unbatched throughput, "
            f"p99 <= {P99_TARGET_MS:.0f} ms\n")
    if not serve:
        return head + "\nNot measured in this run.\n"
    parts = [head]
    chat = serve.get("chatbot", {}).get("clients", {}).get("16", {})
    if "on" in chat and "off" in chat:
        speedup = chat["on"]["req_per_s"] / chat["off"]["req_per_s"] if chat["off"]["req_per_s"] else 0.0
        p99 = chat["on"]["p99_ms"]
        parts.append(f"\nChatbot, 16 clients: {chat['on']['req_per_s']:.1f} req/s batched vs "
                     f"{chat['off']['req_per_s']:.1f} unbatched = **{speedup:.2f}x** (target >= "
                     f"{BATCH_SPEEDUP_TARGET}x): {_verdict(speedup >= BATCH_SPEEDUP_TARGET)}; batched p99 "
                     f"**{p99:.0f} ms** (target <= {P99_TARGET_MS:.0f} ms): {_verdict(p99 <= P99_TARGET_MS)}.\n")
    else:
        parts.append("\nChatbot not measured with batching off and on in this run.\n")
    for app, s in serve.items():
        on = s.get("micro_batch", {}).get("on") or {}
        options = (f"batched with max_batch {on['max_batch']}, max_wait_ms {on['max_wait_ms']}, workers "
                   f"{on['workers']}" if on else "not batched")
        parts.append(f"### {app}\n\nCommand: `{s['run']['command']}` (load {s['run']['load_before']} → "
                     f"{s['run']['load_after']}; {s['run']['seconds']} s). Model {s['model_version']} served on "
                     f"{s.get('service_device') or s['device']}, {options}. Service peak memory: "
                     + ", ".join(f"{k} {v} MiB" for k, v in s["peak_rss_mb"].items()) + ".\n")
        parts.append("| clients | batching | req/s | p50 (ms) | p99 (ms) | mean batch | service CPU per request (ms) | "
                     "requests | errors |\n|---|---|---|---|---|---|---|---|---|")
        for count, modes in s["clients"].items():
            for mode, lv in modes.items():
                parts.append(f"| {count} | {mode} | {lv['req_per_s']:.1f} | {lv['p50_ms']:.1f} | {lv['p99_ms']:.1f} | "
                             f"{_fmt(lv['mean_batch'])} | {_fmt(lv.get('service_cpu_ms_per_request'))} | "
                             f"{lv['requests']} | {lv['errors']} |")
        if s.get("throughput_on_vs_off"):
            parts.append("\nThroughput batched / unbatched: " + ", ".join(
                f"{c} clients {_fmt(r)}x" for c, r in s["throughput_on_vs_off"].items()) + ".")
        parts.append("")
    return "\n".join(parts)


def _optimize_section() -> str:
    head = "## Optimised models: size, latency and throughput ratios per app\n"
    files = sorted(OPTIMIZE_DIR.glob("*.json")) if OPTIMIZE_DIR.exists() else []
    if not files:
        return head + "\nNot measured yet: run `python -m benchmarks.perf --optimize` (needs ../shared/datasets).\n"
    rows, commands = [], []
    for path in files:
        r = json.loads(path.read_text())

        def ratio(key: str, invert: bool = False, r: dict[str, Any] = r) -> str:
            before, after = r[key]["before"], r[key]["after"]
            if not before or not after:
                return "–"
            return f"{(before / after if invert else after / before):.2f}x"

        app = path.stem.split("-", 1)[0]
        change = r["metric_value"]["after"] - r["metric_value"]["before"]
        rows.append(f"| {app} | {r['method']} | {r['from_version']} → {r['version']} | {ratio('size_bytes')} | "
                    f"{r['p50_ms']['before']:.1f} → {r['p50_ms']['after']:.1f} ({ratio('p50_ms')}) | "
                    f"{r['throughput_per_s']['before']:.1f} → {r['throughput_per_s']['after']:.1f} "
                    f"({ratio('throughput_per_s')}) | {r['metric']} {r['metric_value']['before']:.4f} → "
                    f"{r['metric_value']['after']:.4f} ({change:+.4f}) | {r['device']}, {r['threads']} threads |")
        run = r.get("run")
        if run:
            commands.append(f"- `{run['command']}` ({run['seconds']} s, load {run['load_before']} → "
                            f"{run['load_after']})")
    return head + f"""
Each row is one `lepton <app> optimize --json` run (saved in `{_rel(OPTIMIZE_DIR)}/<app>-<method>.json`): the source
(fp32) and the optimised version measured in the same process with the same threads, in alternating rounds.
p50: one-item `predict_batch` calls, in-process (optimised / original: below 1x is faster); throughput: items
per second at the app's serving batch size (optimised / original: above 1x is faster); key metric on the public
test data (maintenance: its built-in simulated evaluation fleet, see below), which was used for no choice.
`--promote never` keeps the fp32 model in production for the next method. Size: the model's files, without the
registry's record and the training report.

| app | method | versions | size | p50 ms | items/s | key metric | where |
|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + "\n\nCommands:\n\n" + "\n".join(commands) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", default="chatbot,imaging", help="apps whose service to measure")
    parser.add_argument("--clients", default="1,4,16,64", help="client counts")
    parser.add_argument("--requests", type=int, default=400, help="requests per client count, at most")
    parser.add_argument("--skip-trainer", action="store_true", help="do not run lepton perf trainer")
    parser.add_argument("--skip-serve", action="store_true", help="do not run lepton perf serve")
    parser.add_argument("--optimize", action="store_true",
                        help="also run lepton <app> optimize for every method on the public data (long)")
    parser.add_argument("--methods", default=",".join(OPTIMIZE_METHODS), help="methods for --optimize")
    parser.add_argument("--reuse", action="store_true", help="render from the saved JSON only")
    args = parser.parse_args(argv)
    apps = [a for a in args.apps.split(",") if a]
    if args.reuse:
        raw = json.loads(RAW.read_text())
    else:
        if args.optimize:
            optimize(apps, [m for m in args.methods.split(",") if m])
        if args.skip_trainer and args.skip_serve and RAW.exists():
            raw = json.loads(RAW.read_text())
        else:
            raw = measure(apps, args.clients, args.requests, args.skip_trainer, args.skip_serve)
            RAW.parent.mkdir(parents=True, exist_ok=True)
            RAW.write_text(json.dumps(raw, indent=2) + "\n")
    OUT.write_text(render(raw))
    print(f"wrote {_rel(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
