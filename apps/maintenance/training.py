"""Training and evaluation of the maintenance app, from data to a registered version.

``train`` reads top to bottom:

1. load the data: a file, or the built-in simulated fleet;
2. fit the RUL model with the recipe the data calls for. Complete recorded lives (C-MAPSS training
   files) are few, so the final models train on every machine and cross-fitting supplies the honest
   error (``fit_rul_on_recorded_lives``, see ``recorded.py``); any other data holds 15 % of the
   machines out (``fit_rul_on_held_out_machines``);
3. fit the policies in the simulator: baselines tuned by grid search and a PPO agent, reading the RUL
   estimate of simulator sensors; the agent is the version's policy only if it beats every tuned rule on
   the tuning seeds, else the best rule is (``choose_policy``);
4. evaluate every policy on held-out simulator seeds (the RUL metrics come from step 2, on data the
   model did not train on);
5. with recorded lives only: fit the policies again on replays of part of the recorded engines and
   score them on the others (``replay.py``);
6. register the version: artifacts (read back by ``model.Bundle``), metrics, params and a report.

``evaluate`` scores a registered version the same way on new data.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apps.maintenance.app import MaintenanceApp
from apps.maintenance.baselines import BASELINE_NAME, RidgeRul, baseline_metrics
from apps.maintenance.baselines import fit_frame as fit_ridge
from apps.maintenance.config import MaintenanceEvaluateConfig, MaintenanceTrainConfig
from apps.maintenance.costs import CostModel, parse_costs
from apps.maintenance.data import SIMULATOR, load_evaluation_data, load_training_data, split_units
from apps.maintenance.env import MaintenanceEnv
from apps.maintenance.features import FeatureSpec, make_windows, nasa_score
from apps.maintenance.model import Bundle, RulEnsemble, train_ensemble
from apps.maintenance.policies import (
    HELD_OUT_SEEDS,
    TRAIN_SEEDS,
    SB3Policy,
    choose_policy,
    policy_from_params,
    rl_saving,
    score_policy,
    tuned_baselines,
)
from apps.maintenance.recorded import CV_FOLDS, FIXED_EPOCHS, fit_recorded, truncation_rmse, uses_recorded_recipe
from apps.maintenance.replay import compare_on_replay, split_engines, train_replay_agent, tune_replay_baselines
from apps.maintenance.rl import save_agent
from apps.maintenance.simulator import SimConfig
from apps.maintenance.trees import TREE_PARAMS, tree_params
from lepton_shared import progress_file
from lepton_shared.data import fingerprint
from lepton_shared.evaluation import regression_metrics, write_report
from lepton_shared.promotion import register_trained
from lepton_shared.registry import ModelInfo, Registry
from lepton_shared.settings import get_settings

APP = MaintenanceApp.name
DECIDE_BELOW = 40.0  # the agent is asked once the RUL estimate drops to this (the alert of ``MaintenanceEnv``)
HELD_OUT_SHARE = 0.15
REFERENCE_REQUESTS = 300  #: requests in a version's monitoring profile
# simulator PPO steps: 60,000 gave 4.8 %, 19.5 % and 27.6 % savings over the best baseline in three runs, 150,000
# gave 32.1 % (docs/benchmarks/maintenance.md); the evaluation callback keeps the best checkpoint on training seeds
SIM_RL_STEPS = 150_000
REPLAY_RL_STEPS = 100_000  # replay PPO steps: cheap (no simulation); chosen on an inner split of the tuning engines


# -- how much work each step does ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """The sizes of every step: the full recipe, or ``--tiny`` (seconds; tests and smoke runs)."""

    machines: int = 80  # simulated machines to train on (the built-in data and the simulator estimator)
    eval_machines: int = 40  # simulated machines of the built-in evaluation data
    members: int = 3  # nets in the RUL ensemble
    held_out_epochs: int = MaintenanceApp.default_epochs  # with early stopping: the DCNN stops at ~30-40
    recorded_epochs: int = FIXED_EPOCHS
    estimator_members: int = 2  # the simulator estimator's nets (recorded data only)
    estimator_epochs: int = 12
    tuning_seeds: int = len(TRAIN_SEEDS)  # simulator episodes the baselines are tuned (and PPO checkpoints chosen) on
    quick_tuning: bool = False  # coarser baseline grids
    rl_steps: int = SIM_RL_STEPS
    replay_rl_steps: int = REPLAY_RL_STEPS
    episodes: int = 40  # held-out simulator episodes per policy in the comparison


TINY = Budget(machines=24, eval_machines=12, members=1, held_out_epochs=2, recorded_epochs=2, estimator_members=1,
              estimator_epochs=2, tuning_seeds=6, quick_tuning=True, rl_steps=2048, replay_rl_steps=1024, episodes=4)


COARSE_TUNING_SEEDS = 12
"""Tuning episodes with ``--coarse-baselines`` (half the recipe's 24)."""


def budget_of(config: MaintenanceTrainConfig | MaintenanceEvaluateConfig) -> Budget:
    """The recipe's sizes with the config's options applied."""
    base = TINY if config.tiny else Budget()
    budget = replace(base, episodes=config.episodes or base.episodes)
    if isinstance(config, MaintenanceTrainConfig):
        budget = replace(budget, members=config.members or base.members,
                         held_out_epochs=config.epochs or base.held_out_epochs,
                         recorded_epochs=config.epochs or base.recorded_epochs,
                         rl_steps=config.rl_steps if config.rl_steps is not None else base.rl_steps,
                         quick_tuning=base.quick_tuning or config.coarse_baselines,
                         tuning_seeds=min(base.tuning_seeds, COARSE_TUNING_SEEDS) if config.coarse_baselines
                         else base.tuning_seeds)
    return budget


# -- the RUL model ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RulHyper:
    """The RUL model's hyperparameters: the nets' learning rate and width, the trees' LightGBM parameters."""

    lr: float = 1e-3
    width: int | None = None  # None: the architecture's
    trees: dict[str, Any] = field(default_factory=lambda: dict(TREE_PARAMS))

    @classmethod
    def from_config(cls, config: MaintenanceTrainConfig) -> RulHyper:
        return cls(config.net_lr, config.net_width, tree_params(config.tree_leaves, config.tree_learning_rate,
                                                                config.tree_rounds, config.tree_min_child_samples))


@dataclass
class RulFit:
    """A fitted RUL model with its estimates on data it did not train on (``truth``: the capped true RUL)."""

    model: RulEnsemble
    ridge: RidgeRul
    summaries: list[dict[str, Any]]
    epochs: int
    truth: np.ndarray
    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    metrics: dict[str, Any]
    lives: list[np.ndarray] = field(default_factory=list)  # recorded lives only: out-of-fold estimates per engine


def rul_metrics(truth: np.ndarray, estimate: np.ndarray, low: np.ndarray, high: np.ndarray,
                ridge_estimate: np.ndarray, validation: str) -> dict[str, Any]:
    return {**regression_metrics(truth, estimate), "nasa_score": nasa_score(truth, estimate),
            "band_coverage": float(np.mean((truth >= low) & (truth <= high))), "validation": validation,
            "baselines": baseline_metrics(truth, ridge_estimate)}


def fit_rul_on_held_out_machines(frame: pd.DataFrame, budget: Budget, seed: int, device: str,
                                 hyper: RulHyper | None = None,
                                 on_epoch_end: Callable[[int, dict[str, float]], None] | None = None) -> RulFit:
    """Simulator and other data: the ensemble early-stops on held-out machines, which then give the metrics
    (``on_epoch_end``: the first net's ``val_rmse`` after each epoch, for ``tune``'s pruner)."""
    hyper = hyper or RulHyper()
    train_df, val_df = split_units(frame, HELD_OUT_SHARE, seed)
    spec = FeatureSpec.fit(train_df)
    model, summaries = train_ensemble(train_df, val_df, spec, members=budget.members, epochs=budget.held_out_epochs,
                                      seed=seed, device=device, lr=hyper.lr, width=hyper.width,
                                      show_progress=on_epoch_end is None, on_epoch_end=on_epoch_end)
    x_val, truth, _ = make_windows(val_df, spec)
    estimate, low, high = model.predict_windows(x_val)
    ridge = fit_ridge(train_df, spec)
    metrics = rul_metrics(truth, estimate, low, high, ridge.predict(x_val), "15 % of the machines held out")
    return RulFit(model, ridge, summaries, budget.held_out_epochs, truth, estimate, low, high, metrics)


def fit_rul_on_recorded_lives(frame: pd.DataFrame, budget: Budget, seed: int, device: str,
                              hyper: RulHyper | None = None, show_progress: bool = True) -> RulFit:
    """Complete recorded lives: final models on every machine, out-of-fold estimates for the metrics and the replay."""
    hyper = hyper or RulHyper()
    fit = fit_recorded(frame, budget.members, budget.recorded_epochs, seed, device, show_progress, lr=hyper.lr,
                       width=hyper.width, tree_params=hyper.trees)
    cap = fit.rul.spec.cap
    half = fit.rul.half_width(fit.oof)
    low, high = np.clip(fit.oof - half, 0, None), fit.oof + half
    metrics = rul_metrics(fit.target, fit.oof, low, high, fit.ridge_oof,
                          f"{CV_FOLDS}-fold out-of-fold estimates on all training machines")
    metrics["blend"] = fit.blend
    metrics["test_like_rmse"] = truncation_rmse(frame, fit.oof, cap)
    metrics["baselines"][BASELINE_NAME]["test_like_rmse"] = truncation_rmse(frame, fit.ridge_oof, cap)
    return RulFit(fit.rul, fit.ridge, fit.summaries, budget.recorded_epochs, fit.target, fit.oof, low, high, metrics,
                  fit.lives(frame))


def validation_rmse(frame: pd.DataFrame, recorded: bool, budget: Budget, seed: int, device: str, hyper: RulHyper,
                    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None) -> float:
    """``train``'s own RUL RMSE on machines the model did not train on (held-out machines, or out-of-fold on
    recorded lives): what ``tune`` minimises. No policy is fitted: PPO is no part of a trial."""
    if recorded:
        fit = fit_rul_on_recorded_lives(frame, budget, seed, device, hyper, show_progress=False)
    else:
        fit = fit_rul_on_held_out_machines(frame, budget, seed, device, hyper, on_epoch_end)
    return float(fit.metrics["rmse"])


def fit_simulator_estimator(budget: Budget, seed: int, device: str) -> RulEnsemble:
    """A RUL model of simulator sensors for the policies, when the RUL model learned other sensors: a plain CNN
    without smoothing (the estimator the PPO settings were tuned with), on a simulated fleet of its own."""
    fleet, _ = load_training_data(None, budget.machines, seed + 1)
    train_df, val_df = split_units(fleet, HELD_OUT_SHARE, seed)
    model, _ = train_ensemble(train_df, val_df, FeatureSpec.fit(train_df, smooth=0.0), members=budget.estimator_members,
                              epochs=budget.estimator_epochs, seed=seed, device=device, arch="cnn")
    return model


# -- the policies -------------------------------------------------------------------------------------------------
def simulator(estimator: RulEnsemble, costs: CostModel, decide_below: float | None = None
              ) -> Callable[[], MaintenanceEnv]:
    """A factory of simulated machines whose RUL estimate comes from ``estimator``."""
    sim = SimConfig()
    life_estimator = estimator.life_estimator(sim.columns)
    return lambda: MaintenanceEnv(estimator=life_estimator, costs=costs, sim=sim, decide_below=decide_below)


@dataclass
class SimulatorPolicies:
    baselines: dict[str, Any]  # name -> tuned policy
    ppo: Any
    rl_info: dict[str, Any]
    choice: dict[str, Any]  # ``choose_policy``: the agent or the rule it fell back to, and why

    def baseline_params(self) -> dict[str, dict[str, Any]]:
        return {name: policy.params() for name, policy in self.baselines.items()}


def fit_simulator_policies(estimator: RulEnsemble, costs: CostModel, budget: Budget, seed: int) -> SimulatorPolicies:
    """Baselines tuned by grid search, then PPO, both on the training seeds (never the held-out ones); then the
    agent is checked against the tuned rules on those seeds and kept only if it is cheaper."""
    from apps.maintenance.rl import train_ppo

    seeds = list(TRAIN_SEEDS)[:budget.tuning_seeds]
    progress_file.report("tuning the rule baselines")
    baselines = tuned_baselines(simulator(estimator, costs), seeds, quick=budget.quick_tuning)
    # the longest step of the default train (minutes): a progress bar where a person watches the terminal
    ppo, rl_info = train_ppo(simulator(estimator, costs, DECIDE_BELOW), budget.rl_steps, seed=seed, eval_seeds=seeds,
                             progress=sys.stderr.isatty())
    choice = choose_policy(SB3Policy(ppo, DECIDE_BELOW), baselines, simulator(estimator, costs), seeds)
    return SimulatorPolicies(baselines, ppo, rl_info, choice)


@dataclass
class ReplayPolicies:
    """Policies fitted on replays of the tuning engines; ``setup`` is what ``policy.json`` keeps of them."""

    lives: list[np.ndarray]
    setup: dict[str, Any]
    ppo: Any


def fit_replay_policies(lives: list[np.ndarray], costs: CostModel, budget: Budget, seed: int) -> ReplayPolicies:
    """Split the recorded engines; tune the baselines and train an agent on replays of the tuning ones."""
    tune_idx, score_idx = split_engines(len(lives), seed=seed)
    tuning = [lives[i] for i in tune_idx]
    baselines = tune_replay_baselines(tuning, costs)
    ppo, rl_info = train_replay_agent(tuning, costs, budget.replay_rl_steps, DECIDE_BELOW, seed=seed)
    setup = {"baselines": {k: v.params() for k, v in baselines.items()}, "tune_engines": tune_idx,
             "score_engines": score_idx, "rl": rl_info}
    return ReplayPolicies(lives, setup, ppo)


# -- evaluation ---------------------------------------------------------------------------------------------------
def policy_card(choice: dict[str, Any], scores: dict[str, Any]) -> dict[str, Any]:
    """What a version's metrics say of its policy: which one it acts with, whether the agent lost and it fell
    back to a rule, the check on the tuning seeds, and that policy's saving on held-out seeds (``scores``)."""
    return {"policy": choice["policy"], "policy_fallback": choice["fallback"], "policy_check": choice,
            "policy_saving_vs_best_baseline": rl_saving(scores, choice["policy"])}


def compare_policies(estimator: RulEnsemble, ppo: Any, baseline_params: dict[str, dict[str, Any]],
                     costs: CostModel, episodes: int, decide_below: float = DECIDE_BELOW,
                     retune: bool = False, quick: bool = False) -> dict[str, Any]:
    """Each policy on held-out simulator seeds; ``retune`` re-searches the baselines for new costs."""
    make = simulator(estimator, costs)
    seeds = list(HELD_OUT_SEEDS)[:episodes]
    if retune:
        baselines = tuned_baselines(make, list(TRAIN_SEEDS)[:max(4, episodes // 2)], quick=quick)
    else:
        baselines = {name: policy_from_params(name, p) for name, p in baseline_params.items()}
    out: dict[str, Any] = {"rl": score_policy(SB3Policy(ppo, decide_below), make, seeds)}
    for name, pol in baselines.items():
        out[name] = {**score_policy(pol, make, seeds), "params": pol.params()}
    return out


def replay_report(lives: list[np.ndarray], setup: dict[str, Any], costs: CostModel, replay_ppo: Any,
                  sim_ppo: Any, decide_below: float) -> dict[str, Any]:
    """Policies on the held-out replayed engines (see ``replay.py``), with the RL saving and how it was built.

    ``rl`` is the agent trained on replays of the tuning engines (the data the baselines are tuned on);
    ``rl_simulator_agent`` is the simulator-trained agent transferred as it is (sensor inputs zeroed).
    """
    held = [lives[i] for i in setup["score_engines"]]
    agents = {"rl": SB3Policy(replay_ppo, decide_below), "rl_simulator_agent": SB3Policy(sim_ppo, decide_below)}
    out: dict[str, Any] = compare_on_replay(held, setup["baselines"], costs, agents)
    out["rl_saving_vs_best_baseline"] = rl_saving(out)
    out["setup"] = (f"{len(held)} held-out recorded training engines, each replayed once (out-of-fold RUL "
                    f"estimates); baselines tuned and rl trained on {len(setup['tune_engines'])} other engines; "
                    "a service or replacement ends the engine's replay, running past its last cycle is a failure")
    return out


# -- train and evaluate -------------------------------------------------------------------------------------------
def train(config: MaintenanceTrainConfig) -> ModelInfo:
    started = time.perf_counter()
    budget = budget_of(config)
    device = config.device or get_settings().device
    costs = parse_costs(config.cost)

    progress_file.report("training the RUL nets")
    frame, source = load_training_data(config.data, budget.machines, config.seed)
    hyper = RulHyper.from_config(config)
    if source != SIMULATOR and uses_recorded_recipe(frame):
        rul = fit_rul_on_recorded_lives(frame, budget, config.seed, device, hyper)
    else:
        rul = fit_rul_on_held_out_machines(frame, budget, config.seed, device, hyper)
    rul_seconds = round(time.perf_counter() - started, 1)  # data, (cross-)fitting, ensemble and ridge baseline

    # the policies act in the simulator, so they read an estimator of simulator sensors
    estimator = rul.model if source == SIMULATOR else fit_simulator_estimator(budget, config.seed, device)
    policies = fit_simulator_policies(estimator, costs, budget, config.seed)
    progress_file.report("comparing the policies on held-out machines")
    scores = compare_policies(estimator, policies.ppo, policies.baseline_params(), costs, budget.episodes)
    metrics = {**rul.metrics, "rl_saving_vs_best_baseline": rl_saving(scores), **policy_card(policies.choice, scores),
               "policies": scores}

    # recorded lives: policies fitted on replays of some engines, scored on the others
    replay = fit_replay_policies(rul.lives, costs, budget, config.seed) if rul.lives else None
    if replay is not None:
        metrics["policies_cmapss_replay"] = replay_report(replay.lives, replay.setup, costs, replay.ppo,
                                                          policies.ppo, DECIDE_BELOW)

    spec = rul.model.spec
    params = {"source": source, "seed": config.seed, "epochs": rul.epochs, "members": budget.members,
              "window": spec.window, "cap": spec.cap, "features": spec.columns, "rl": policies.rl_info,
              "decide_below": DECIDE_BELOW,
              "costs": costs.as_dict(), "baselines": policies.baseline_params(), "ensemble": rul.summaries,
              "policy": policies.choice["policy"], "policy_fallback": policies.choice["fallback"],
              "rul_seconds": rul_seconds, "train_seconds": round(time.perf_counter() - started, 1),
              "net_lr": hyper.lr, "net_width": rul.model.width,
              "trees": hyper.trees if rul.model.trees is not None else None}
    return register(rul, estimator, policies, replay, costs, source, metrics, params, fingerprint(frame),
                    config.promote, config.tolerance, reference=reference_requests(rul.model, frame, config.seed))


def reference_requests(model: RulEnsemble, frame: pd.DataFrame, seed: int,
                       n: int = REFERENCE_REQUESTS) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Requests as ``POST /v1/predict`` gets them, a machine's readings from its first cycle to a cycle drawn
    at random (newest last, at most the service's limit), and the model's RUL for each: the reference profile
    ``lepton monitor`` compares served traffic with (drawn from the training fleet)."""
    from apps.maintenance.predictor import MAX_READINGS

    rng = np.random.default_rng(seed)
    columns = [c for c in frame.columns if c.startswith(("s_", "setting_"))]
    groups = [g.sort_values("cycle") for _, g in frame.groupby("unit")]
    histories = []
    for index in rng.integers(0, len(groups), n):
        group = groups[index]
        end = int(rng.integers(1, len(group) + 1))
        histories.append(group.iloc[max(0, end - MAX_READINGS):end])
    windows = np.concatenate([model.spec.windows_of(model.spec.normalise(h))[-1:] for h in histories])
    estimates = model.predict_windows(windows)[0]
    inputs = [{"readings": h[columns].to_dict("records")} for h in histories]
    return inputs, [{"rul": round(float(e), 2)} for e in estimates]


def register(rul: RulFit, estimator: RulEnsemble, policies: SimulatorPolicies, replay: ReplayPolicies | None,
             costs: CostModel, source: str, metrics: dict[str, Any], params: dict[str, Any], data_fingerprint: str,
             promote: str = "gate", tolerance: float | None = None,
             reference: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None) -> ModelInfo:
    """A new version in the registry, its folder laid out as ``model.Bundle`` reads it, with the monitoring
    profile of ``reference`` (requests and answers, see :func:`reference_requests`)."""

    def write(folder: Path) -> None:
        if reference is not None:
            from lepton_shared.monitoring import write_reference

            write_reference(APP, folder, *reference)
        rul.model.save(folder / "rul")
        rul.ridge.save(folder / "rul" / "ridge.npz")
        if estimator is not rul.model:
            estimator.save(folder / "policy_rul")
        save_agent(policies.ppo, folder, "ppo")
        policy = {"costs": costs.as_dict(), "baselines": policies.baseline_params(), "decide_below": DECIDE_BELOW,
                  "policy": policies.choice, "replay": replay.setup if replay is not None else {}}
        (folder / "policy.json").write_text(json.dumps(policy, indent=1))
        if replay is not None:
            save_agent(replay.ppo, folder, "ppo_replay")
            np.savez(folder / "replay.npz", estimates=np.concatenate(replay.lives),
                     lengths=np.array([len(life) for life in replay.lives]))
        write_report(folder / "report.html", "Maintenance model report", metrics,
                     figures=_figures(rul, metrics["policies"]),
                     notes=f"Data: {source}. RUL capped at {rul.model.spec.cap:.0f}; policies on held-out simulator "
                           f"seeds. Policy: {policies.choice['note']}.")

    return register_trained(APP, write, metrics=metrics, params=params, data_fingerprint=data_fingerprint,
                            promote=promote, tolerance=tolerance)


def evaluate(config: MaintenanceEvaluateConfig) -> dict[str, Any]:
    bundle = Bundle(Registry().get(APP, config.model))
    budget = budget_of(config)
    frame, last_only = load_evaluation_data(config.data, budget.eval_machines, config.seed)
    x, truth, _ = make_windows(frame, bundle.rul.spec, last_only=last_only)
    estimate, low, high = bundle.rul.predict_windows(x)
    scores = regression_metrics(truth, estimate)
    out: dict[str, Any] = {"rmse": scores["rmse"], "nasa_score": nasa_score(truth, estimate), "mae": scores["mae"],
                           "band_coverage": float(np.mean((truth >= low) & (truth <= high))), "n": len(truth),
                           "evaluated_at": "last cycle per machine" if last_only else "every cycle",
                           "rul_model": {"arch": bundle.rul.arch, "nets": bundle.rul.n_members,
                                         "tree_weight": bundle.rul.tree_weight}}
    costs = parse_costs(config.cost) if config.cost else bundle.costs
    out["policies"] = compare_policies(bundle.policy_rul, bundle.ppo, bundle.baselines, costs, budget.episodes,
                                       bundle.decide_below)
    out["rl_saving_vs_best_baseline"] = rl_saving(out["policies"])
    out.update(policy_card(bundle.choice, out["policies"]))
    out["baselines"] = baseline_metrics(truth, bundle.ridge.predict(x))
    if bundle.replay:
        out["policies_cmapss_replay"] = replay_report(bundle.replay_lives(), bundle.replay, costs,
                                                      bundle.replay_agent(), bundle.ppo, bundle.decide_below)
    return out


def _figures(rul: RulFit, policies: dict[str, Any]) -> dict[str, Any]:
    from matplotlib.figure import Figure

    y, mean, lo, hi = rul.truth, rul.estimate, rul.low, rul.high
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
