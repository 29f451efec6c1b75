"""Train the PPO maintenance agent with stable-baselines3 (vectorised envs, evaluation callback)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apps.maintenance.env import MaintenanceEnv


def train_ppo(make_env: Callable[[], MaintenanceEnv], timesteps: int, seed: int = 0, n_envs: int = 16,
              device: str = "cpu", eval_episodes: int = 6, progress: bool = True) -> tuple[Any, dict[str, Any]]:
    """PPO on ``n_envs`` environments; the best checkpoint by the evaluation callback is returned.

    Small MLP policies run faster on CPU than on GPU, hence ``device="cpu"`` by default.
    """
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.env_util import make_vec_env

    vec = make_vec_env(make_env, n_envs=n_envs, seed=seed)
    eval_env = make_vec_env(make_env, n_envs=1, seed=seed + 5_000)
    # many envs, short rollouts: one batched policy forward serves 16 machines, which is what makes PPO
    # affordable on two CPU cores
    model = PPO("MlpPolicy", vec, n_steps=128, batch_size=512, n_epochs=5, gamma=0.99, gae_lambda=0.95,
                learning_rate=3e-4, ent_coef=0.01, clip_range=0.2, seed=seed, device=device, verbose=0,
                policy_kwargs={"net_arch": [64, 64]})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        callback = EvalCallback(eval_env, n_eval_episodes=eval_episodes, eval_freq=max(1, 8192 // n_envs),
                                best_model_save_path=tmp, deterministic=True, verbose=0)
        model.learn(total_timesteps=timesteps, callback=callback, progress_bar=progress)
        best = Path(tmp) / "best_model.zip"
        if best.exists():
            model = PPO.load(best, device=device)
        info = {"timesteps": timesteps, "seconds": round(time.perf_counter() - started, 1),
                "best_eval_reward": float(callback.best_mean_reward), "n_envs": n_envs}
    vec.close()
    eval_env.close()
    return model, info
