"""The maintenance environment: gymnasium API, wear, cost accounting, the horizon."""

from __future__ import annotations

import pytest
from gymnasium.utils.env_checker import check_env

from apps.maintenance.costs import CostModel
from apps.maintenance.env import REPLACE, RUN, SERVICE, MaintenanceEnv


def test_check_env_passes() -> None:
    check_env(MaintenanceEnv(), skip_render_check=True)
    check_env(MaintenanceEnv(decide_below=40), skip_render_check=True)


def test_maintenance_resets_wear() -> None:
    env = MaintenanceEnv(horizon=300)
    env.reset(seed=3)
    for _ in range(30):
        env.step(RUN)
    worn = env.hidden_damage
    env.step(SERVICE)
    assert env.hidden_damage == pytest.approx(worn * 0.3)
    env.step(REPLACE)
    assert env.hidden_damage == 0.0


def test_cost_accounting_of_hand_computed_episode() -> None:
    costs = CostModel(period=10, low_demand_cycles=2, downtime_cost=100, low_demand_factor=0.1,
                      service_cost=50, replace_cost=200, service_downtime=2, replace_downtime=3)
    env = MaintenanceEnv(costs=costs, horizon=20, max_start_damage=0.0)
    env.reset(seed=0)
    total = 0.0
    for _ in range(7):  # t = 0..6 running, no cost
        total += -env.step(RUN)[1]
    assert total == 0.0
    r = env.step(SERVICE)[1]  # t=7: downtime over t=7 (peak) and t=8 (quiet): 50 + 100 + 10
    assert -r * 1000 == pytest.approx(160.0)
    r = env.step(REPLACE)[1]  # t=9 (quiet), 10, 11 (peak): 200 + 10 + 100 + 100
    assert -r * 1000 == pytest.approx(410.0)
    assert env.stats["cost"] == pytest.approx(570.0) and env.stats["operating_cycles"] == 7
    assert env.stats["services"] == 1 and env.stats["replacements"] == 1


def test_episode_ends_as_terminated_at_the_horizon() -> None:
    env = MaintenanceEnv(horizon=50, decide_below=40)
    env.reset(seed=1)
    terminated = truncated = False
    while not (terminated or truncated):
        _, _, terminated, truncated, info = env.step(SERVICE if env.rul_estimate < 20 else RUN)
    assert terminated and not truncated and info["t"] >= 50
