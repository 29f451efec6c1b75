"""PPO training on the simulator."""

from __future__ import annotations

import numpy as np
import pytest

from apps.maintenance.env import MaintenanceEnv
from apps.maintenance.policies import RandomPolicy, SB3Policy, score_policy
from apps.maintenance.rl import SeedCycle, train_ppo


@pytest.mark.slow
def test_short_ppo_run_beats_random() -> None:
    model, info = train_ppo(lambda: MaintenanceEnv(horizon=300, decide_below=40), 4096, n_envs=8,
                            eval_seeds=range(2), progress=False)
    make = lambda: MaintenanceEnv(horizon=300)  # noqa: E731
    rl = score_policy(SB3Policy(model, 40), make, range(100, 104))
    rnd = score_policy(RandomPolicy(), make, range(100, 104))
    assert rl["cost_per_1000_cycles"] < 0.5 * rnd["cost_per_1000_cycles"]
    assert info["timesteps"] == 4096


def test_seed_cycle_repeats_the_same_evaluation_episodes() -> None:
    env = SeedCycle(MaintenanceEnv(horizon=100), seeds=[5, 6])
    first = [env.reset()[0] for _ in range(4)]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(first[1], first[3])
    assert not np.array_equal(first[0], first[1])
