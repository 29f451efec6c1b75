"""Fraud benchmark: the handbook protocol on ../shared/datasets/fraud, and scoring latency through the service.

Quality: `lepton fraud train` then `lepton fraud evaluate --json` with the training week starting
2018-05-01 and 2018-05-08 (test weeks 05-15..05-21 and 05-22..05-28). Speed: the service
(`LEPTON_APP=fraud uvicorn services.asgi:app`) with its feature buckets filled from the history before the test week,
scoring the test week's transactions one by one (`POST /v1/score`, feature update included) and in
batches of 1000 (`POST /v1/score/batch`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / "var" / "bench" / "fraud"
STARTS = ("2018-05-01", "2018-05-08")
TARGETS = {"roc_auc": 0.90, "average_precision": 0.75, "card_precision_at_100": 0.34}
N_SINGLE, N_WARMUP, BATCH, N_BATCHES = 1000, 100, 1000, 3


def _cli(*args: str) -> tuple[str, float]:
    env = {**os.environ, "LEPTON_HOME": str(HOME), "PYTHONWARNINGS": "ignore"}
    env.pop("LEPTON_DATABASE_URL", None)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "fraud", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"lepton fraud {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout, time.perf_counter() - started


def _latency(data: Path) -> dict[str, Any]:
    import httpx

    from apps.fraud.data import load_transactions
    from apps.fraud.storage import bootstrap
    from lepton_shared.testing.env import lepton_env
    from lepton_shared.testing.server import free_port, wait_http

    df = load_transactions(data)
    import pandas as pd

    test_start = pd.Timestamp("2018-05-22")
    with lepton_env(HOME):
        t0 = time.perf_counter()
        rows = bootstrap(df, until=test_start)
        bootstrap_s = time.perf_counter() - t0
    stream = df[df["TX_DATETIME"] >= test_start].head(N_SINGLE + BATCH * N_BATCHES)
    bodies = [{"transaction_id": str(r.TRANSACTION_ID), "tx_datetime": r.TX_DATETIME.isoformat(),
               "customer_id": int(r.CUSTOMER_ID), "terminal_id": int(r.TERMINAL_ID), "tx_amount": float(r.TX_AMOUNT)}
              for r in stream.itertuples()]
    port, token = free_port(), "bench-token"
    env = {**os.environ, "LEPTON_HOME": str(HOME), "LEPTON_API_TOKEN": token, "LEPTON_APP": "fraud"}
    env.pop("LEPTON_DATABASE_URL", None)
    log = (HOME / "service.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "services.asgi:app", "--port", str(port),
                             "--log-level", "warning"], env=env, cwd=ROOT, stdout=log, stderr=log)
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    try:
        wait_http(f"{base}/healthz", timeout=120, proc=proc)
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            latencies = []
            for i, body in enumerate(bodies[:N_SINGLE]):
                started = time.perf_counter()
                resp = client.post("/v1/score", json=body)
                elapsed = (time.perf_counter() - started) * 1000
                resp.raise_for_status()
                if i >= N_WARMUP:
                    latencies.append(elapsed)
            batch_seconds = []
            for b in range(N_BATCHES):
                chunk = bodies[N_SINGLE + b * BATCH: N_SINGLE + (b + 1) * BATCH]
                started = time.perf_counter()
                client.post("/v1/score/batch", json={"transactions": chunk}).raise_for_status()
                batch_seconds.append(time.perf_counter() - started)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    lat = np.asarray(latencies)
    return {"load": os.getloadavg(), "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
            "p99": float(np.percentile(lat, 99)), "n": len(lat),
            "batch_tps": BATCH * N_BATCHES / sum(batch_seconds), "bootstrap_rows": rows,
            "bootstrap_s": bootstrap_s}


def _ceilings(data: Path) -> dict[str, dict[str, float]]:
    """What any model can reach on each test week: a scenario-2 fraud at a terminal with no known fraud in the
    delayed window (compromised less than the 7-day label delay ago) carries no signal at all. Scores an oracle
    that ranks every other fraud first and never finds these (ground truth TX_FRAUD_SCENARIO, analysis only)."""
    import pandas as pd
    from sklearn import metrics as skm

    from apps.fraud.data import load_transactions
    from apps.fraud.features import offline_features
    from apps.fraud.protocol import Periods, card_precision_at_k, split

    df = load_transactions(data)
    run_age = offline_features(df)["TERMINAL_FRAUD_RUN_AGE"].to_numpy()
    out = {}
    for start in STARTS:
        _, test = split(df, Periods(pd.Timestamp(start)))
        frame = df.iloc[test]
        y = frame["TX_FRAUD"].to_numpy()
        blind = (frame["TX_FRAUD_SCENARIO"].to_numpy() == 2) & (run_age[test] < 0)
        oracle = (y == 1) & ~blind
        scores = oracle.astype(float) - blind.astype(float)  # blind frauds last: nothing can find them
        out[start] = {"blind_share": float(blind.sum() / y.sum()),
                      "roc_auc": float(skm.roc_auc_score(y, oracle.astype(float))),
                      "average_precision": float(skm.average_precision_score(y, oracle.astype(float))),
                      "card_precision_at_100": card_precision_at_k(frame, scores, 100)}
    return out


def run(shared: Path) -> str:
    data = shared / "datasets" / "fraud" / "transactions_2018-04-01_2018-05-31.csv.gz"
    if not data.exists():
        return f"## Fraud\n\nSkipped: {data} is missing.\n"
    shutil.rmtree(HOME, ignore_errors=True)
    HOME.mkdir(parents=True)
    rel = os.path.relpath(data, ROOT)
    lines = ["## Fraud", "",
             "Handbook protocol on the handbook's simulated transactions (585 177 rows, 2018-04-01..05-31): "
             "train 7 days, skip a 7-day label delay, test 7 days without the cards already known to be "
             "compromised; card precision@100 per test day over cards not caught earlier, averaged. Baselines: "
             "logistic regression, random forest and gradient boosting (scikit-learn) on the handbook's "
             "baseline features. Targets: AUC >= 0.90, AP >= 0.75, CP@100 >= 0.34 and better than every "
             "baseline.", ""]
    rows = []
    for start in STARTS:
        _, train_s = _cli("train", "--data", str(data), "--train-start", start, "--promote", "always")
        out, eval_s = _cli("evaluate", "--data", str(data), "--train-start", start, "--json")
        m = json.loads(out)
        info = json.loads(subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "models", "show", "fraud"],
                                         capture_output=True, text=True, cwd=ROOT,
                                         env={**os.environ, "LEPTON_HOME": str(HOME)}).stdout or "{}")
        chosen = info.get("metrics", {}).get("model", "?")
        m["validation_average_precision"] = info.get("metrics", {}).get("validation_average_precision", {})
        rows.append((start, m, chosen, train_s, eval_s))
    lines += ["| training week from | model | ROC AUC | average precision | card precision@100 |",
              "|---|---|---|---|---|"]
    for start, m, chosen, _, _ in rows:
        lines.append(f"| {start} (test {m['test_period']}) | **ours ({chosen})** | **{m['roc_auc']:.3f}** | "
                     f"**{m['average_precision']:.3f}** | **{m['card_precision_at_100']:.3f}** |")
        for name, b in m["baselines"].items():
            lines.append(f"| {start} | {name.replace('_', ' ')} | {b['roc_auc']:.3f} | {b['average_precision']:.3f} "
                         f"| {b['card_precision_at_100']:.3f} |")
    lines.append("")
    verdicts = []
    for start, m, _, _, _ in rows:
        met = [k for k, v in TARGETS.items() if m[k] >= v]
        missed = [f"{k} {m[k]:.3f} < {v}" for k, v in TARGETS.items() if m[k] < v]
        beats = [k for k in TARGETS if all(m[k] > b[k] for b in m["baselines"].values())]
        verdicts.append(f"- {start}: targets met: {', '.join(met) or 'none'}"
                        + (f"; missed: {', '.join(missed)}" if missed else "")
                        + f"; better than every baseline on: {', '.join(beats) or 'none'}.")
    lines += verdicts
    lines += ["", "Ours: LightGBM (small trees, strong L2, chosen with its hyper-parameters on the validation periods "
              "before the test weeks) on the baseline features plus the amount against the card's spending "
              "14-36 days ago, the card's largest amounts today / this week against it, and the terminal's latest "
              "run of known-fraud days (its age, the oldest it can be, genuine payments since, the share of "
              "possible start days under which a 28-day compromise still runs). The torch MLP (shared Trainer) is "
              "the other candidate; the better by validation AP is registered."]
    ceil = _ceilings(data)
    lines += ["", "What any model can reach: a scenario-2 fraud at a terminal with no known fraud in the delayed "
              "window (compromised less than the 7-day label delay ago, all its payments look normal) carries no "
              "signal. An oracle that ranks every other fraud first and cannot see these (ground truth from "
              "`TX_FRAUD_SCENARIO`, analysis only):", "",
              "| test week of training week from | frauds without signal | oracle ROC AUC (they rank at chance) "
              "| oracle AP | oracle CP@100 |", "|---|---|---|---|---|"]
    lines += [f"| {s} | {c['blind_share']:.1%} | {c['roc_auc']:.3f} | {c['average_precision']:.3f} "
              f"| {c['card_precision_at_100']:.3f} |" for s, c in ceil.items()]
    lines += ["", "Model selection (average precision on the validation period one step earlier): "
              + "; ".join(f"{s}: " + ", ".join(f"{k} {v:.3f}" for k, v in m.get("validation_average_precision",
                                                                                  {}).items())
                          for s, m, _, _, _ in rows) + "."]
    lines += ["", "Training time (features, validation of LightGBM and the torch MLP, refit, baselines): "
              + ", ".join(f"{s}: {t:.0f} s" for s, _, _, t, _ in rows) + "; evaluation: "
              + ", ".join(f"{s}: {t:.0f} s" for s, _, _, _, t in rows) + ".", ""]
    lat = _latency(data)
    lines += [
        "### Scoring speed through the service",
        "",
        f"Service `LEPTON_APP=fraud uvicorn services.asgi:app` (1 worker, SQLite, bearer token, prediction logging "
        f"on), feature "
        f"buckets bootstrapped from the {lat['bootstrap_rows']:,} customer-day and terminal-day aggregates "
        f"before 2018-05-22 ({lat['bootstrap_s']:.1f} s). Then the test week's transactions in time order:",
        "",
        "| measure | value |", "|---|---|",
        f"| `POST /v1/score` latency p50 (client side, feature read + score + reasons + feature update + log) "
        f"| {lat['p50']:.1f} ms |",
        f"| p95 | {lat['p95']:.1f} ms |",
        f"| p99 (target <= 10 ms) | {lat['p99']:.1f} ms |",
        f"| `POST /v1/score/batch` throughput ({BATCH} per request, recorded in order) | "
        f"{lat['batch_tps']:.0f} transactions/s |",
        "",
        f"{lat['n']} single requests after {N_WARMUP} warm-up ones. The machine's 2 CPU cores were shared with "
        "other engineers' jobs during this benchmark (load average at the end of the latency run: "
        + "/".join(f"{x:.1f}" for x in lat["load"]) + " over 1/5/15 min), so the figures vary between runs."
        + (" At a load this far above the 2 cores the latencies mostly measure waiting for a CPU, not the service."
           if lat["load"][0] > 4 else ""),
        "",
        "Commands:",
        "",
        "```",
        *[f"LEPTON_HOME=var/bench/fraud lepton fraud train --data {rel} --train-start {s}\n"
          f"LEPTON_HOME=var/bench/fraud lepton fraud evaluate --data {rel} --train-start {s} --json"
          for s in STARTS],
        "python -m benchmarks.run fraud   # also runs the latency measurement above",
        "```",
    ]
    return "\n".join(lines) + "\n"
