"""Training and evaluation end to end: RUL ensemble, tuned baselines, PPO agent, report."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apps.maintenance.baselines import BASELINE_NAME, RidgeRul, baseline_metrics, fit_frame
from apps.maintenance.costs import CostModel
from apps.maintenance.env import MaintenanceEnv
from apps.maintenance.features import FeatureSpec, make_windows, nasa_score
from apps.maintenance.loaders import load_history
from apps.maintenance.model import RulEnsemble, train_ensemble
from apps.maintenance.policies import (
    HELD_OUT_SEEDS,
    TRAIN_SEEDS,
    SB3Policy,
    policy_from_params,
    score_policy,
    tuned_baselines,
)
from apps.maintenance.recorded import CV_FOLDS, FIXED_EPOCHS, fit_recorded, truncation_rmse, uses_recorded_recipe
from apps.maintenance.replay import compare_on_replay, split_engines, train_replay_agent, tune_replay_baselines
from apps.maintenance.simulator import LOAD_COLUMN, SimConfig, simulate_fleet
from apps.maintenance.trees import TREE_PARAMS
from lepton_shared.data import fingerprint
from lepton_shared.errors import UserError
from lepton_shared.evaluation import regression_metrics, write_report
from lepton_shared.registry import ModelInfo, Registry

APP = "maintenance"
DECIDE_BELOW = 40.0
# simulator PPO steps: 60,000 gave 4.8 %, 19.5 % and 27.6 % savings over the best baseline in three runs, 150,000
# gave 32.1 % (docs/benchmarks/maintenance.md); the evaluation callback keeps the best checkpoint on training seeds
SIM_RL_STEPS = 150_000
REPLAY_RL_STEPS = 100_000  # replay PPO steps: cheap (no simulation); chosen on an inner split of the tuning engines


def parse_costs(pairs: list[str] | None) -> CostModel:
    values: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UserError(f"--cost expects KEY=VALUE (e.g. downtime_cost=300), got {pair!r}")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise UserError(f"--cost {key}: {value!r} is not a number") from None
    return CostModel().with_overrides(**values)


def split_units(frame: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    units = np.sort(frame["unit"].unique())
    if len(units) < 2:
        raise UserError("need at least two machines to hold one out for validation")
    rng = np.random.default_rng(seed)
    val = rng.choice(units, max(1, round(len(units) * share)), replace=False)
    mask = frame["unit"].isin(val)
    return frame[~mask], frame[mask]


def sim_env_factory(estimator: Any, costs: CostModel, decide_below: float | None = None) -> Any:
    sim = SimConfig()
    return lambda: MaintenanceEnv(estimator=estimator, costs=costs, sim=sim, decide_below=decide_below)


def sim_columns() -> list[str]:
    return [LOAD_COLUMN, *SimConfig().sensor_names]


def compare_policies(policy_rul: RulEnsemble, ppo: Any, baseline_params: dict[str, dict[str, Any]],
                     costs: CostModel, episodes: int, decide_below: float = DECIDE_BELOW,
                     retune: bool = False, quick: bool = False) -> dict[str, Any]:
    """Each policy on held-out simulator seeds; ``retune`` re-searches the baselines for new costs."""
    make = sim_env_factory(policy_rul.life_estimator(sim_columns()), costs)
    seeds = list(HELD_OUT_SEEDS)[:episodes]
    if retune:
        baselines = tuned_baselines(make, list(TRAIN_SEEDS)[:max(4, episodes // 2)], quick=quick)
    else:
        baselines = {name: policy_from_params(name, p) for name, p in baseline_params.items()}
    out: dict[str, Any] = {}
    if ppo is not None:
        out["rl"] = score_policy(SB3Policy(ppo, decide_below), make, seeds)
    for name, pol in baselines.items():
        out[name] = {**score_policy(pol, make, seeds), "params": pol.params()}
    return out


def _load_data(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    if args.data is None:
        n = 24 if args.tiny else 80
        return simulate_fleet(n, seed=args.seed), "simulator"
    return load_history(args.data), str(args.data)


def train(args: argparse.Namespace) -> ModelInfo:
    started = time.perf_counter()
    tiny = bool(args.tiny)
    costs = parse_costs(args.cost)
    frame, source = _load_data(args)
    members = args.members or (1 if tiny else 3)
    replay_lives: list[np.ndarray] = []
    blend: dict[str, Any] = {}
    if source != "simulator" and uses_recorded_recipe(frame):
        # recorded run-to-failure data: the final models train on every engine, and out-of-fold estimates give
        # the honest error, the band width and the policy replay (recorded.py)
        epochs = args.epochs or (2 if tiny else FIXED_EPOCHS)
        fit = fit_recorded(frame, members, epochs, args.seed, args.device)
        rul, summaries, ridge, spec = fit.rul, fit.summaries, fit.ridge, fit.rul.spec
        yva, mean, ridge_val, blend = fit.target, fit.oof, fit.ridge_oof, fit.blend
        half = rul.half_width(mean)
        lo, hi = np.clip(mean - half, 0, None), mean + half
        validation = f"{CV_FOLDS}-fold out-of-fold estimates on all training machines"
        replay_lives = fit.lives(frame)
    else:
        train_df, val_df = split_units(frame, 0.15, args.seed)
        spec = FeatureSpec.fit(train_df)
        epochs = args.epochs or (2 if tiny else 60)  # the DCNN early-stops at ~30-40 epochs
        rul, summaries = train_ensemble(train_df, val_df, spec, members=members, epochs=epochs, seed=args.seed,
                                        device=args.device)
        xva, yva, _ = make_windows(val_df, spec)
        mean, lo, hi = rul.predict_windows(xva)
        ridge = fit_frame(train_df, spec)
        ridge_val = ridge.predict(xva)
        validation = "15 % of the machines held out"
    rul_seconds = round(time.perf_counter() - started, 1)  # data, cross-fitting, ensemble and ridge baseline
    metrics: dict[str, Any] = {**regression_metrics(yva, mean), "nasa_score": nasa_score(yva, mean),
                               "band_coverage": float(np.mean((yva >= lo) & (yva <= hi))), "validation": validation}
    metrics["baselines"] = baseline_metrics(yva, ridge_val)
    if blend:
        metrics["blend"] = blend
    if replay_lives:
        metrics["test_like_rmse"] = truncation_rmse(frame, mean, spec.cap)
        metrics["baselines"][BASELINE_NAME]["test_like_rmse"] = truncation_rmse(frame, ridge_val, spec.cap)
    # the policy lives in the simulator, so it needs an estimator that reads simulator sensors
    if source == "simulator":
        policy_rul = rul
    else:
        sim = simulate_fleet(24 if tiny else 80, seed=args.seed + 1)
        s_tr, s_va = split_units(sim, 0.15, args.seed)
        # the simulator estimator keeps the earlier CNN recipe (no smoothing), which the policy was tuned with
        policy_rul, _ = train_ensemble(s_tr, s_va, FeatureSpec.fit(s_tr, smooth=0.0), members=1 if tiny else 2,
                                       epochs=2 if tiny else 12, seed=args.seed, device=args.device, arch="cnn")
    estimator = policy_rul.life_estimator(sim_columns())
    seeds = list(TRAIN_SEEDS)[:6] if tiny else list(TRAIN_SEEDS)
    baselines = tuned_baselines(sim_env_factory(estimator, costs), seeds, quick=tiny)
    from apps.maintenance.rl import train_ppo

    timesteps = args.rl_steps if args.rl_steps is not None else (2048 if tiny else SIM_RL_STEPS)
    # checkpoints are chosen on the baselines' tuning seeds: the same machines, never held-out ones
    # the longest step of the default train (minutes): a progress bar where a person watches the terminal
    ppo, rl_info = train_ppo(sim_env_factory(estimator, costs, DECIDE_BELOW), timesteps, seed=args.seed,
                             eval_seeds=seeds, progress=sys.stderr.isatty())
    episodes = args.episodes or (4 if tiny else 40)
    policies = compare_policies(policy_rul, ppo, {k: v.params() for k, v in baselines.items()}, costs, episodes)
    best = min(v["cost_per_1000_cycles"] for k, v in policies.items() if k != "rl")
    metrics["rl_saving_vs_best_baseline"] = round(1 - policies["rl"]["cost_per_1000_cycles"] / best, 4)
    metrics["policies"] = policies
    replay: dict[str, Any] = {}
    if replay_lives:
        tune_idx, score_idx = split_engines(len(replay_lives), seed=args.seed)
        found = tune_replay_baselines([replay_lives[i] for i in tune_idx], costs)
        replay_steps = 1024 if tiny else REPLAY_RL_STEPS
        replay_ppo, replay_info = train_replay_agent([replay_lives[i] for i in tune_idx], costs, replay_steps,
                                                     DECIDE_BELOW, seed=args.seed)
        replay = {"baselines": {k: v.params() for k, v in found.items()}, "tune_engines": tune_idx,
                  "score_engines": score_idx, "rl": replay_info}
        metrics["policies_cmapss_replay"] = replay_report(replay_lives, replay, costs, replay_ppo, ppo,
                                                          DECIDE_BELOW)
    params = {"source": source, "epochs": epochs, "members": members, "window": spec.window, "cap": spec.cap,
              "features": spec.columns, "rl": rl_info, "decide_below": DECIDE_BELOW, "costs": costs.as_dict(),
              "baselines": {k: v.params() for k, v in baselines.items()}, "ensemble": summaries,
              "rul_seconds": rul_seconds, "train_seconds": round(time.perf_counter() - started, 1),
              "trees": TREE_PARAMS if rul.trees is not None else None}

    def write(folder: Path) -> None:
        rul.save(folder / "rul")
        ridge.save(folder / "rul" / "ridge.npz")
        if policy_rul is not rul:
            policy_rul.save(folder / "policy_rul")
        ppo.save(folder / "ppo.zip")
        if replay_lives:
            replay_ppo.save(folder / "ppo_replay.zip")
        (folder / "policy.json").write_text(json.dumps({"costs": costs.as_dict(), "baselines": params["baselines"],
                                                        "decide_below": DECIDE_BELOW, "replay": replay}, indent=1))
        if replay_lives:
            np.savez(folder / "replay.npz", estimates=np.concatenate(replay_lives),
                     lengths=np.array([len(life) for life in replay_lives]))
        write_report(folder / "report.html", "Maintenance model report", metrics,
                     figures=_figures(yva, mean, lo, hi, policies),
                     notes=f"Data: {source}. RUL capped at {spec.cap:.0f}; policies on held-out simulator seeds.")

    return Registry().register(APP, write, metrics=metrics, params=params, data_fingerprint=fingerprint(frame),
                               promote=not args.no_promote)


def _figures(y: np.ndarray, mean: np.ndarray, lo: np.ndarray, hi: np.ndarray, policies: dict[str, Any]) -> Any:
    from matplotlib.figure import Figure

    fig1 = Figure(figsize=(5, 4))
    ax = fig1.subplots()
    order = np.argsort(y)[:: max(1, len(y) // 400)]
    ax.scatter(y[order], mean[order], s=6, alpha=0.6)
    ax.vlines(y[order], lo[order], hi[order], alpha=0.15)
    ax.plot([0, 125], [0, 125], "k--", lw=1)
    ax.set(xlabel="true RUL (capped)", ylabel="estimated RUL", title="Validation machines: estimate and 90% band")
    fig2 = Figure(figsize=(5, 4))
    ax2 = fig2.subplots()
    names = list(policies)
    ax2.bar(names, [policies[n]["cost_per_1000_cycles"] for n in names], color="tab:blue")
    ax2.set(ylabel="cost per 1,000 operating cycles", title="Policies on held-out machines")
    ax2.tick_params(axis="x", rotation=20)
    return {"rul_estimates": fig1, "policy_costs": fig2}


class Bundle:
    """A registered version loaded for use: RUL ensemble, policy estimator, PPO agent, baselines."""

    def __init__(self, info: ModelInfo) -> None:
        self.info = info
        self.rul = RulEnsemble.load(info.path / "rul")
        policy_dir = info.path / "policy_rul"
        self.policy_rul = RulEnsemble.load(policy_dir) if policy_dir.exists() else self.rul
        self.policy = json.loads((info.path / "policy.json").read_text())
        self.costs = CostModel(**self.policy["costs"])
        self._ppo: Any = None

    @property
    def ppo(self) -> Any:
        if self._ppo is None:
            from stable_baselines3 import PPO

            self._ppo = PPO.load(self.info.path / "ppo.zip", device="cpu")
        return self._ppo


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    bundle = Bundle(Registry().get(APP, args.model))
    if args.data is None:
        frame = simulate_fleet(12 if args.tiny else 40, seed=args.seed + 777)
        last_only = False
    else:
        frame = load_history(args.data)
        last_only = Path(args.data).name.lower().startswith("test")
    x, y, _ = make_windows(frame, bundle.rul.spec, last_only=last_only)
    mean, lo, hi = bundle.rul.predict_windows(x)
    out: dict[str, Any] = {"rmse": regression_metrics(y, mean)["rmse"], "nasa_score": nasa_score(y, mean),
                           "mae": regression_metrics(y, mean)["mae"],
                           "band_coverage": float(np.mean((y >= lo) & (y <= hi))), "n": len(y),
                           "evaluated_at": "last cycle per machine" if last_only else "every cycle",
                           "rul_model": {"arch": bundle.rul.arch, "nets": len(bundle.rul.members),
                                         "tree_weight": bundle.rul.tree_weight}}
    costs = parse_costs(args.cost) if args.cost else bundle.costs
    episodes = args.episodes or (4 if args.tiny else 40)
    out["policies"] = compare_policies(bundle.policy_rul, bundle.ppo, bundle.policy["baselines"], costs, episodes,
                                       bundle.policy.get("decide_below", DECIDE_BELOW))
    best = min(v["cost_per_1000_cycles"] for k, v in out["policies"].items() if k != "rl")
    out["rl_saving_vs_best_baseline"] = round(1 - out["policies"]["rl"]["cost_per_1000_cycles"] / best, 4)
    ridge_file = bundle.info.path / "rul" / "ridge.npz"
    if ridge_file.exists():  # versions saved before the RUL baseline existed have none
        out["baselines"] = baseline_metrics(y, RidgeRul.load(ridge_file).predict(x))
    replay = bundle.policy.get("replay") or {}
    replay_file = bundle.info.path / "replay.npz"
    if replay and replay_file.exists():
        saved = np.load(replay_file)
        lives = np.split(saved["estimates"], np.cumsum(saved["lengths"])[:-1])
        from stable_baselines3 import PPO

        replay_ppo = PPO.load(bundle.info.path / "ppo_replay.zip", device="cpu")
        out["policies_cmapss_replay"] = replay_report(lives, replay, costs, replay_ppo, bundle.ppo,
                                                      bundle.policy.get("decide_below", DECIDE_BELOW))
    return out


def replay_report(lives: list[np.ndarray], replay: dict[str, Any], costs: CostModel, replay_ppo: Any,
                  sim_ppo: Any, decide_below: float) -> dict[str, Any]:
    """Policies on the held-out replayed engines (see ``replay.py``), with the RL saving and how it was built.

    ``rl`` is the agent trained on replays of the tuning engines (the data the baselines are tuned on);
    ``rl_simulator_agent`` is the simulator-trained agent transferred as it is (sensor inputs zeroed).
    """
    held = [lives[i] for i in replay["score_engines"]]
    agents = {"rl": SB3Policy(replay_ppo, decide_below), "rl_simulator_agent": SB3Policy(sim_ppo, decide_below)}
    out: dict[str, Any] = compare_on_replay(held, replay["baselines"], costs, agents)
    best = min(v["cost_per_1000_cycles"] for k, v in out.items() if not k.startswith("rl"))
    out["rl_saving_vs_best_baseline"] = round(1 - out["rl"]["cost_per_1000_cycles"] / best, 4)
    out["setup"] = (f"{len(held)} held-out recorded training engines, each replayed once (out-of-fold RUL "
                    f"estimates); baselines tuned and rl trained on {len(replay['tune_engines'])} other engines; "
                    "a service or replacement ends the engine's replay, running past its last cycle is a failure")
    return out
