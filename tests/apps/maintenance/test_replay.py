"""Replaying recorded run-to-failure engines through the policies."""

from __future__ import annotations

import numpy as np
from gymnasium.utils.env_checker import check_env

from apps.maintenance.costs import CostModel
from apps.maintenance.env import RUN, SERVICE
from apps.maintenance.policies import FixedInterval, RulThreshold, RunToFailure, score_policy
from apps.maintenance.replay import ReplayEnv, compare_on_replay, split_engines, tune_replay_baselines


def _perfect(n: int) -> np.ndarray:
    return np.minimum(np.arange(n)[::-1], 125).astype(float)


def test_replay_env_passes_check_env() -> None:
    check_env(ReplayEnv([_perfect(80), _perfect(120)]), skip_render_check=True)


def test_running_past_the_record_is_one_failure_with_its_cost() -> None:
    costs = CostModel()
    env = ReplayEnv([_perfect(100)], costs)
    env.reset(seed=0)
    start, done, steps = env.t, False, 0
    while not done:
        _, _, done, _, info = env.step(RUN)
        steps += 1
    assert steps == 100 and info["failures"] == 1 and info["operating_cycles"] == 100
    expected = costs.failure_cost + costs.stop_cost(start + 100, costs.failure_downtime)
    assert info["cost"] == expected


def test_a_stop_ends_the_engine_and_loses_its_remaining_life() -> None:
    costs = CostModel()
    env = ReplayEnv([_perfect(100)], costs)
    env.reset(seed=3)
    start = env.t
    for _ in range(60):
        env.step(RUN)
    _, _, done, _, info = env.step(SERVICE)
    assert done and info["failures"] == 0 and info["operating_cycles"] == 60
    assert info["cost"] == costs.service_cost + costs.stop_cost(start + 60, costs.service_downtime)


def test_replay_scores_rank_policies_and_tuning_finds_a_safe_threshold() -> None:
    lives = [_perfect(n) for n in (140, 180, 220, 260)]
    costs = CostModel()
    make = lambda: ReplayEnv(lives, costs)  # noqa: E731
    rtf = score_policy(RunToFailure(), make, range(4))
    safe = score_policy(RulThreshold(8.0, SERVICE), make, range(4))
    assert rtf["failures"] == 4 and safe["failures"] == 0
    assert safe["cost_per_1000_cycles"] < rtf["cost_per_1000_cycles"]
    # a fixed interval longer than the shortest life lets that engine fail
    assert score_policy(FixedInterval(150, SERVICE), make, range(4))["failures"] == 1
    found = tune_replay_baselines(lives, costs)
    params = {k: v.params() for k, v in found.items()}
    result = compare_on_replay(lives, params, costs)
    assert result["rul_threshold"]["failures"] == 0
    assert result["rul_threshold"]["cost_per_1000_cycles"] <= result["fixed_interval"]["cost_per_1000_cycles"]


def test_engine_split_is_disjoint_and_seeded() -> None:
    tune, held = split_engines(10, 0.4, seed=1)
    assert len(held) == 4 and not set(tune) & set(held) and sorted(tune + held) == list(range(10))
    assert split_engines(10, 0.4, seed=1) == (tune, held)
