"""Maintenance benchmark: RUL on C-MAPSS FD001 and the policy comparison, via the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAIN_FLAGS = ["--members", "5", "--promote", "always"]


def _lepton(args: list[str], home: Path) -> tuple[str, float]:
    env = {**os.environ, "LEPTON_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"lepton {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return proc.stdout, time.perf_counter() - started


def run(shared: Path) -> str:
    data = shared / "datasets" / "cmapss"
    home = ROOT / "var" / "bench" / "maintenance"
    home.mkdir(parents=True, exist_ok=True)
    train_cmd = ["maintenance", "train", "--data", str(data / "train_FD001.txt"), *TRAIN_FLAGS]
    eval_cmd = ["maintenance", "evaluate", "--data", str(data / "test_FD001.txt"), "--json"]
    _, train_s = _lepton(train_cmd, home)
    out, eval_s = _lepton(eval_cmd, home)
    m = json.loads(out)
    rows = "\n".join(f"| {name} | {p['cost_per_1000_cycles']:.0f} | {p['failures']} | {p['maintenance_count']} |"
                     for name, p in m["policies"].items())
    replay = m.get("policies_cmapss_replay") or {}
    replay_rows = "\n".join(f"| {name} | {p['cost_per_1000_cycles']:.0f} | {p['failures']} | {p['maintenance_count']} |"
                            for name, p in replay.items() if isinstance(p, dict))
    ridge = (m.get("baselines") or {}).get("ridge_last_window", {})
    return f"""## Maintenance

RUL on NASA C-MAPSS FD001 (100 test engines, RUL capped at 125, scored at each engine's last cycle):
**RMSE {m['rmse']:.2f}**, NASA score {m['nasa_score']:.0f}, 90 % band coverage {m['band_coverage']:.2f}
(published: DCNN 12.61, LSTM 16.14; target <= 12.0); simple baseline (ridge on the last window): RMSE
{ridge.get('rmse', float('nan')):.2f}. Model: {m['rul_model']['nets']} {m['rul_model']['arch'].upper()} nets
blended with boosted trees (trees' weight {m['rul_model']['tree_weight']:.1f}, chosen out of fold).

Policies on {m['policies']['rl']['episodes']} held-out simulator episodes (seeds never used for tuning or training),
cost per 1,000 operating cycles (RL saving vs best tuned baseline: {100 * m['rl_saving_vs_best_baseline']:.1f} %):

| policy | cost / 1,000 cycles | unplanned failures | maintenance actions |
|---|---|---|---|
{rows}

Replay of held-out recorded FD001 training engines ({replay.get('setup', 'not available')}; RL saving vs best
tuned baseline: {100 * replay.get('rl_saving_vs_best_baseline', float('nan')):.1f} %):

| policy | cost / 1,000 cycles | unplanned failures | maintenance actions |
|---|---|---|---|
{replay_rows}

Training time (RUL ensemble on FD001 + a simulator RUL model + baseline search + PPO) {train_s:.0f} s,
evaluation {eval_s:.0f} s, on 2 CPU cores **shared with other engineers' jobs** while measuring.

Commands (with `LEPTON_HOME=var/bench/maintenance`):
```
lepton {' '.join(train_cmd)}
lepton {' '.join(eval_cmd)}
```
"""


def env_speed(rul_dir: str | None = None, steps: int = 8000) -> dict[str, float]:
    """Environment steps/s, single and vectorised (8 envs in-process, 2 worker processes).

    Random actions that mostly run (96 % run, 3 % service, 1 % replace), as a trained policy does;
    ``rul_dir`` (a registered version's ``rul`` folder) swaps the stand-in oracle for the CNN estimator.
    """
    import numpy as np
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from apps.maintenance.env import MaintenanceEnv, NoisyOracle
    from apps.maintenance.model import RulEnsemble
    from apps.maintenance.simulator import SimConfig

    est = RulEnsemble.load(Path(rul_dir)).life_estimator(SimConfig().columns) if rul_dir else NoisyOracle()
    p = np.array([0.96, 0.03, 0.01])
    out: dict[str, float] = {}
    for mode, below in (("every_cycle", None), ("alert_40", 40.0)):
        make = lambda below=below: MaintenanceEnv(estimator=est, decide_below=below)  # noqa: E731
        rng = np.random.default_rng(0)
        env = make()
        env.reset(seed=0)
        started = time.perf_counter()
        for _ in range(steps):
            if any(env.step(int(rng.choice(3, p=p)))[2:4]):
                env.reset()
        out[f"{mode}_single"] = round(steps / (time.perf_counter() - started))
        for name, cls, n in (("dummy8", DummyVecEnv, 8), ("subproc2", SubprocVecEnv, 2)):
            vec = make_vec_env(make, n_envs=n, seed=0, vec_env_cls=cls)
            vec.reset()
            started = time.perf_counter()
            for _ in range(steps // n):
                vec.step(rng.choice(3, size=n, p=p))
            out[f"{mode}_{name}"] = round((steps // n) * n / (time.perf_counter() - started))
            vec.close()
    return out
