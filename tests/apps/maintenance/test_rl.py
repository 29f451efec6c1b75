"""PPO training on the simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apps.maintenance.env import MaintenanceEnv
from apps.maintenance.policies import RandomPolicy, SB3Policy, score_policy
from apps.maintenance.rl import SeedCycle, train_ppo


@pytest.mark.slow
def test_short_ppo_run_beats_random(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lepton_shared import progress_file

    monkeypatch.setenv(progress_file.ENV, str(tmp_path / "progress.json"))  # as make demo's training runs it
    model, info = train_ppo(lambda: MaintenanceEnv(horizon=300, decide_below=40), 4096, n_envs=8,
                            eval_seeds=range(2), progress=False)
    report = progress_file.read(tmp_path / "progress.json")
    assert report is not None and (report.step, report.done, report.total) == ("training the PPO agent", 4096, 4096)
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


def test_saved_agent_acts_as_the_model_without_pickles(tmp_path: Path) -> None:
    """The served agent is tensors and JSON: write access to the model store must not mean code execution."""
    from stable_baselines3 import PPO

    from apps.maintenance.rl import load_agent, save_agent
    from lepton_shared.errors import UserError

    env = MaintenanceEnv(horizon=100, decide_below=40)
    model = PPO("MlpPolicy", env, seed=3, device="cpu", policy_kwargs={"net_arch": [16, 16]}, n_steps=64,
                batch_size=32)
    save_agent(model, tmp_path, "ppo")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ppo.json", "ppo.pt"]
    agent = load_agent(tmp_path, "ppo")
    observations = [env.reset(seed=s)[0] for s in range(20)] + [env.observation_space.sample() for _ in range(20)]
    for obs in observations:
        assert int(agent.predict(obs, deterministic=True)[0]) == int(model.predict(obs, deterministic=True)[0])
    assert SB3Policy(agent, 40).params() == SB3Policy(model, 40).params() == {"algorithm": "PPO"}
    with pytest.raises(UserError, match="retrain"):
        load_agent(tmp_path / "missing", "ppo")
