"""Maintenance policies, how they are scored, and how the baselines are tuned.

A policy maps the environment's state to an action. The three baselines are
tuned by grid search on the *training* seeds; everything is then compared on
held-out seeds that neither the tuning nor the RL training saw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from tqdm.auto import tqdm

from apps.maintenance.env import REPLACE, RUN, SERVICE, MaintenanceEnv, NoEstimate

PolicyFn = Callable[[np.ndarray, MaintenanceEnv], int]

TRAIN_SEEDS = range(0, 24)
HELD_OUT_SEEDS = range(10_000, 10_040)


@dataclass(frozen=True)
class RunToFailure:
    """Never stop a running machine: repair it when it breaks."""

    name: str = "run_to_failure"
    reads_estimate: ClassVar[bool] = False

    def __call__(self, obs: np.ndarray, env: MaintenanceEnv) -> int:
        return RUN

    def params(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class FixedInterval:
    """Maintain every ``interval`` operating cycles since the last maintenance."""

    interval: int
    action: int = REPLACE
    name: str = "fixed_interval"
    reads_estimate: ClassVar[bool] = False

    def __call__(self, obs: np.ndarray, env: MaintenanceEnv) -> int:
        return self.action if env.cycles_since_maintenance >= self.interval else RUN

    def params(self) -> dict[str, Any]:
        return {"interval": self.interval, "action": "service" if self.action == SERVICE else "replace"}


@dataclass(frozen=True)
class RulThreshold:
    """Maintain as soon as the RUL estimate drops to ``threshold`` cycles."""

    threshold: float
    action: int = REPLACE
    name: str = "rul_threshold"

    def __call__(self, obs: np.ndarray, env: MaintenanceEnv) -> int:
        return self.action if env.rul_estimate <= self.threshold else RUN

    def params(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "action": "service" if self.action == SERVICE else "replace"}


class SB3Policy:
    """A trained stable-baselines3 model used greedily, asked only once the RUL estimate is at or
    below ``decide_below`` (as in training: the alert-driven workflow of ``MaintenanceEnv``)."""

    name = "rl"

    def __init__(self, model: Any, decide_below: float | None = None) -> None:
        self.model = model
        self.decide_below = decide_below

    def __call__(self, obs: np.ndarray, env: MaintenanceEnv) -> int:
        if self.decide_below is not None and env.rul_estimate > self.decide_below:
            return RUN
        action, _ = self.model.predict(obs, deterministic=True)
        return int(action)

    def params(self) -> dict[str, Any]:
        return {"algorithm": getattr(self.model, "algorithm", type(self.model).__name__)}


class RandomPolicy:
    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def __call__(self, obs: np.ndarray, env: MaintenanceEnv) -> int:
        return int(self.rng.integers(0, 3))

    def params(self) -> dict[str, Any]:
        return {}


def score_policy(policy: PolicyFn, make_env: Callable[[], MaintenanceEnv], seeds: Iterable[int],
                 trace: bool = False) -> dict[str, Any]:
    """Run one episode per seed; totals and ``cost_per_1000_cycles`` (per operating cycle).

    A policy with ``reads_estimate = False`` runs without the (costly) RUL estimator.
    """
    totals = {"cost": 0.0, "operating_cycles": 0.0, "failures": 0.0, "services": 0.0, "replacements": 0.0,
              "maintenance_cost": 0.0, "failure_cost": 0.0, "downtime_cost": 0.0}
    env = make_env()
    if not getattr(policy, "reads_estimate", True):
        env.estimator = NoEstimate()
    episodes = 0
    for seed in seeds:
        obs, _ = env.reset(seed=int(seed))
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(policy(obs, env))
            done = terminated or truncated
        for key in totals:
            totals[key] += env.stats[key]
        episodes += 1
    cycles = max(1.0, totals["operating_cycles"])
    return {
        "cost_per_1000_cycles": round(1000 * totals["cost"] / cycles, 2),
        "failures": int(totals["failures"]),
        "maintenance_count": int(totals["services"] + totals["replacements"]),
        "services": int(totals["services"]),
        "replacements": int(totals["replacements"]),
        "operating_cycles": int(totals["operating_cycles"]),
        "episodes": episodes,
        "total_cost": round(totals["cost"], 2),
        "downtime_cost": round(totals["downtime_cost"], 2),
    }


def rl_saving(scores: dict[str, Any], name: str = "rl") -> float:
    """Policy ``name``'s saving (the RL agent's by default) against the cheapest baseline (``scores``: policy
    name -> ``score_policy`` result; every name starting with ``rl`` is an agent)."""
    best = min(v["cost_per_1000_cycles"] for k, v in policy_rows(scores).items() if not k.startswith("rl"))
    return round(1 - scores[name]["cost_per_1000_cycles"] / best, 4)


def choose_policy(agent: PolicyFn, baselines: dict[str, Any], make_env: Callable[[], MaintenanceEnv],
                  seeds: Iterable[int]) -> dict[str, Any]:
    """The policy a version acts with: the agent only when it is cheaper than every tuned rule on ``seeds``
    (the tuning seeds: the held-out ones stay unseen), else the cheapest rule, so a registered policy is never
    worse than its rules where they were compared. PPO's result varies from run to run; a tie keeps the rule."""
    seeds = list(seeds)
    costs = {"rl": score_policy(agent, make_env, seeds)["cost_per_1000_cycles"]}
    costs.update({name: score_policy(pol, make_env, seeds)["cost_per_1000_cycles"] for name, pol in baselines.items()})
    best_rule = min(baselines, key=lambda name: costs[name])
    keep = costs["rl"] < costs[best_rule]
    verdict = (f"less than the best rule, {best_rule} ({costs[best_rule]:.2f}): the agent is the policy" if keep
               else f"no less than the best rule, {best_rule} ({costs[best_rule]:.2f}): the agent lost, so this "
                    f"version's policy falls back to {best_rule}")
    return {"policy": "rl" if keep else best_rule, "fallback": not keep, "best_rule": best_rule,
            "tuning_episodes": len(seeds), "tuning_cost_per_1000_cycles": costs,
            "note": f"the PPO agent costs {costs['rl']:.2f} per 1,000 cycles on the {len(seeds)} tuning seeds, "
                    + verdict}


def policy_rows(comparison: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-policy entries of a comparison (which may also hold a saving and a setup note)."""
    return {name: p for name, p in comparison.items() if isinstance(p, dict) and "cost_per_1000_cycles" in p}


def tune(candidates: Sequence[Any], make_env: Callable[[], MaintenanceEnv], seeds: Iterable[int],
         desc: str = "tuning") -> tuple[Any, list[dict[str, Any]]]:
    """The candidate with the lowest cost per 1,000 cycles on ``seeds``, and every candidate's score."""
    seeds = list(seeds)
    results = []
    for cand in tqdm(candidates, desc=desc, leave=False, dynamic_ncols=True):
        score = score_policy(cand, make_env, seeds)
        results.append({**cand.params(), **score})
    best = min(range(len(candidates)), key=lambda i: results[i]["cost_per_1000_cycles"])
    return candidates[best], results


def tuned_baselines(make_env: Callable[[], MaintenanceEnv], seeds: Iterable[int] = TRAIN_SEEDS,
                    quick: bool = False) -> dict[str, Any]:
    """Run-to-failure plus fixed-interval and RUL-threshold rules tuned by grid search."""
    seeds = list(seeds)
    intervals = range(40, 260, 40 if quick else 10)
    fixed, _ = tune([FixedInterval(i, a) for i in intervals for a in (SERVICE, REPLACE)], make_env, seeds,
                    "tuning fixed interval")
    # coarse grid, then every 2 cycles around the best: finer than a flat grid for fewer (costly) estimator runs
    grid = [RulThreshold(float(t), a) for t in range(0, 72, 12 if quick else 6) for a in (SERVICE, REPLACE)]
    threshold, results = tune(grid, make_env, seeds, "tuning RUL threshold")
    if not quick:
        fine = [RulThreshold(t, threshold.action) for t in (threshold.threshold + d for d in (-4, -2, 2, 4)) if t >= 0]
        best_fine, fine_results = tune(fine, make_env, seeds, "refining RUL threshold")
        if min(r["cost_per_1000_cycles"] for r in fine_results) < min(r["cost_per_1000_cycles"] for r in results):
            threshold = best_fine
    return {"run_to_failure": RunToFailure(), "fixed_interval": fixed, "rul_threshold": threshold}


def policy_from_params(name: str, params: dict[str, Any]) -> Any:
    """Rebuild a saved baseline (``params`` as written by ``.params()``)."""
    action = SERVICE if params.get("action") == "service" else REPLACE
    if name == "fixed_interval":
        return FixedInterval(int(params["interval"]), action)
    if name == "rul_threshold":
        return RulThreshold(float(params["threshold"]), action)
    return RunToFailure()
