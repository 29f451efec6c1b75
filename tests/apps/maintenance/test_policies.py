"""Baseline policies, scoring, and the comparison helpers."""

from __future__ import annotations

import numpy as np
import pytest

from apps.maintenance.env import REPLACE, SERVICE, MaintenanceEnv
from apps.maintenance.policies import (
    FixedInterval,
    RandomPolicy,
    RulThreshold,
    RunToFailure,
    choose_policy,
    policy_rows,
    rl_saving,
    score_policy,
)


def test_baselines_rank_sensibly() -> None:
    make = lambda: MaintenanceEnv(horizon=400)  # noqa: E731
    seeds = range(5)
    rtf = score_policy(RunToFailure(), make, seeds)
    fixed = score_policy(FixedInterval(60, SERVICE), make, seeds)
    thr = score_policy(RulThreshold(20, SERVICE), make, seeds)
    rnd = score_policy(RandomPolicy(), make, seeds)
    assert rtf["failures"] > 0 and rtf["maintenance_count"] == 0
    assert fixed["maintenance_count"] > 0
    assert thr["cost_per_1000_cycles"] < rtf["cost_per_1000_cycles"]
    assert thr["failures"] < rtf["failures"]
    assert rnd["cost_per_1000_cycles"] > thr["cost_per_1000_cycles"]


def test_policies_blind_to_the_estimate_skip_it_with_identical_lives() -> None:
    calls: list[int] = []

    def estimator(rows: np.ndarray) -> np.ndarray:  # draws no random numbers, like the CNN
        calls.append(len(rows))
        return np.full(len(rows), 60.0)

    make = lambda: MaintenanceEnv(estimator=estimator, horizon=300)  # noqa: E731
    scored = score_policy(FixedInterval(50, SERVICE), make, range(3))
    assert not calls  # the estimator was not run
    env = make()
    manual = 0.0
    for seed in range(3):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, term, trunc, _ = env.step(FixedInterval(50, SERVICE)(np.zeros(1), env))
            done = term or trunc
        manual += env.stats["cost"]
    assert calls and scored["total_cost"] == pytest.approx(manual)


def test_rl_saving_is_against_the_cheapest_baseline_and_rows_skip_notes() -> None:
    comparison = {"rl": {"cost_per_1000_cycles": 80.0}, "rl_simulator_agent": {"cost_per_1000_cycles": 10.0},
                  "run_to_failure": {"cost_per_1000_cycles": 200.0}, "rul_threshold": {"cost_per_1000_cycles": 100.0}}
    assert rl_saving(comparison) == pytest.approx(0.2)  # other agents are not baselines
    noted = {**comparison, "rl_saving_vs_best_baseline": 0.2, "setup": "how it was built"}
    assert set(policy_rows(noted)) == set(comparison)


def test_an_agent_that_loses_to_a_rule_falls_back_to_the_cheapest_rule() -> None:
    make = lambda: MaintenanceEnv(horizon=400)  # noqa: E731
    rules = {"run_to_failure": RunToFailure(), "rul_threshold": RulThreshold(20, SERVICE)}
    crippled = lambda obs, env: REPLACE  # noqa: E731  replaces the machine at every decision
    choice = choose_policy(crippled, rules, make, range(3))
    costs = choice["tuning_cost_per_1000_cycles"]
    assert costs["rl"] > costs["rul_threshold"] < costs["run_to_failure"]
    assert choice["fallback"] and choice["policy"] == choice["best_rule"] == "rul_threshold"
    assert "falls back to rul_threshold" in choice["note"] and choice["tuning_episodes"] == 3


def test_an_agent_cheaper_than_every_rule_is_kept_and_a_tie_keeps_the_rule() -> None:
    make = lambda: MaintenanceEnv(horizon=400)  # noqa: E731
    good = choose_policy(RulThreshold(20, SERVICE), {"run_to_failure": RunToFailure()}, make, range(3))
    assert good["policy"] == "rl" and not good["fallback"]
    assert good["tuning_cost_per_1000_cycles"]["rl"] < good["tuning_cost_per_1000_cycles"]["run_to_failure"]
    tie = choose_policy(RunToFailure(), {"run_to_failure": RunToFailure()}, make, range(2))
    assert tie["fallback"] and tie["policy"] == "run_to_failure"


def test_saving_of_a_named_policy() -> None:
    comparison = {"rl": {"cost_per_1000_cycles": 120.0}, "run_to_failure": {"cost_per_1000_cycles": 200.0},
                  "rul_threshold": {"cost_per_1000_cycles": 100.0}, "setup": "a note"}
    assert rl_saving(comparison, "rul_threshold") == 0.0
    assert rl_saving(comparison, "run_to_failure") == pytest.approx(-1.0)
