"""Train the PPO maintenance agent with stable-baselines3 (vectorised envs, evaluation callback).

Choices that made PPO learn the quiet-window timing within a CPU budget (measured in
docs/benchmarks/maintenance.md):

* the environment runs in alert mode (``decide_below``), so an episode is ~150 decisions,
  not 600 cycles, and nearly every decision matters;
* ``gamma`` is 1: the return is then exactly minus the episode's cost. With ``gamma < 1``
  the agent discounts per *decision*, and a decision after a service comes one step later
  however long the machine then ran, so discounting rewards delaying costs by wasting
  decisions (running on into failure) rather than saving money;
* the evaluation callback scores every checkpoint on a fixed set of *training* seeds
  (the seeds the baselines are tuned on) and keeps the best one: a fair, low-noise
  selection that never looks at held-out machines;
* ``DummyVecEnv``: on two busy cores, worker processes cost more than they save.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from apps.maintenance.env import MaintenanceEnv
from lepton_shared import progress_file

PPO_DEFAULTS: dict[str, Any] = {"n_steps": 256, "batch_size": 512, "n_epochs": 10, "gamma": 1.0,
                                "gae_lambda": 0.95, "learning_rate": 3e-4, "ent_coef": 0.003, "clip_range": 0.2}


class SeedCycle(gym.Wrapper[np.ndarray, np.int64, np.ndarray, np.int64]):
    """Resets through a fixed list of seeds, so every evaluation scores the very same episodes.

    ``evaluate_policy`` resets once per episode plus once at the start; with one env the
    episodes of an evaluation are a full turn of the cycle, i.e. each seed exactly once.
    """

    def __init__(self, env: gym.Env[np.ndarray, np.int64], seeds: Sequence[int]) -> None:
        super().__init__(env)
        self.seeds = [int(s) for s in seeds]
        self._next = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        seed = self.seeds[self._next % len(self.seeds)]
        self._next += 1
        return self.env.reset(seed=seed, options=options)


def train_ppo(make_env: Callable[[], MaintenanceEnv], timesteps: int, seed: int = 0, n_envs: int = 8,
              device: str = "cpu", eval_seeds: Sequence[int] = range(6), eval_every: int = 10_000,
              progress: bool = True, subprocess: bool = False, **ppo_kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """PPO on ``n_envs`` environments; the best checkpoint on ``eval_seeds`` is returned.

    Small MLP policies run faster on CPU than on GPU, hence ``device="cpu"`` by default.
    ``ppo_kwargs`` override :data:`PPO_DEFAULTS`.
    """
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback, EvalCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    class ProgressReport(BaseCallback):  # type: ignore[misc]
        """Steps done, for ``make demo``'s home card (``lepton_shared.progress_file``)."""

        def _on_step(self) -> bool:
            progress_file.report("training the PPO agent", self.num_timesteps, timesteps)
            return True

    vec = make_vec_env(make_env, n_envs=n_envs, seed=seed, vec_env_cls=SubprocVecEnv if subprocess else DummyVecEnv)
    eval_env = DummyVecEnv([lambda: Monitor(SeedCycle(make_env(), eval_seeds))])
    model = PPO("MlpPolicy", vec, seed=seed, device=device, verbose=0, policy_kwargs={"net_arch": [64, 64]},
                **{**PPO_DEFAULTS, **ppo_kwargs})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        every = max(n_envs, min(eval_every, timesteps // 2))  # short runs still get one evaluation
        callback = EvalCallback(eval_env, n_eval_episodes=len(eval_seeds), eval_freq=every // n_envs,
                                best_model_save_path=tmp, deterministic=True, verbose=0)
        model.learn(total_timesteps=timesteps, callback=[callback, ProgressReport()], progress_bar=progress)
        best = Path(tmp) / "best_model.zip"
        if best.exists():
            model = PPO.load(best, device=device)
        best_reward = float(callback.best_mean_reward)  # -inf when no evaluation ran (no steps): not JSON
        info = {"timesteps": timesteps, "seconds": round(time.perf_counter() - started, 1),
                "best_eval_reward": best_reward if np.isfinite(best_reward) else None, "n_envs": n_envs,
                "eval_episodes": len(eval_seeds), "vec_env": "SubprocVecEnv" if subprocess else "DummyVecEnv",
                **{k: v for k, v in {**PPO_DEFAULTS, **ppo_kwargs}.items()}}
    vec.close()
    eval_env.close()
    return model, info


def save_agent(model: Any, folder: Path, name: str) -> None:
    """The agent's policy network as tensors (``<name>.pt``) and its spaces and architecture as JSON
    (``<name>.json``). Not stable-baselines3's own zip: that holds cloudpickled objects, so a service loading it
    would run whatever code a writer of the model store put there."""
    import torch
    from gymnasium.spaces import Box, Discrete

    obs, actions = model.observation_space, model.action_space
    if not (isinstance(obs, Box) and isinstance(actions, Discrete)):
        raise TypeError(f"save_agent handles Box observations and Discrete actions, not {obs} and {actions}")
    meta = {"low": obs.low.tolist(), "high": obs.high.tolist(), "dtype": str(obs.dtype), "actions": int(actions.n),
            "policy_kwargs": model.policy_kwargs, "algorithm": type(model).__name__}
    (folder / f"{name}.json").write_text(json.dumps(meta))
    torch.save(model.policy.state_dict(), folder / f"{name}.pt")


def load_agent(folder: Path, name: str) -> Any:
    """The policy of :func:`save_agent` (its ``predict`` answers as the PPO model's did); no pickle is loaded."""
    import torch
    from gymnasium.spaces import Box, Discrete
    from stable_baselines3.common.policies import ActorCriticPolicy

    from lepton_shared.errors import UserError

    meta_path = folder / f"{name}.json"
    if not meta_path.exists():
        raise UserError(f"{folder.name} has no {meta_path.name} (an agent saved as a pickled stable-baselines3 zip, "
                        "which the suite no longer loads): retrain it with `lepton maintenance train`")
    meta = json.loads(meta_path.read_text())
    dtype = np.dtype(meta["dtype"])
    space = Box(low=np.asarray(meta["low"], dtype=dtype), high=np.asarray(meta["high"], dtype=dtype), dtype=dtype)
    policy = ActorCriticPolicy(space, Discrete(meta["actions"]), lr_schedule=lambda _: 0.0, **meta["policy_kwargs"])
    policy.load_state_dict(torch.load(folder / f"{name}.pt", map_location="cpu", weights_only=True))
    policy.set_training_mode(False)
    policy.algorithm = meta.get("algorithm", "PPO")  # what SB3Policy.params reports, as for the trained model
    return policy
