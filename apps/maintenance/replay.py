"""Replaying recorded run-to-failure engines (e.g. NASA C-MAPSS) through the maintenance policies.

The simulator can say what happens after any action; recorded data cannot. A replay therefore
plays each recorded engine *once*, from its first cycle, against a policy:

* the policy sees the RUL estimate of a model that never trained on that engine (out-of-fold
  estimates, see ``model.cross_fit``), cycle by cycle, as in ``MaintenanceEnv``;
* running past the recorded last cycle is the engine's unplanned failure (C-MAPSS training
  engines run until they fail), charged as in the simulator (repair + long stop);
* a service or replacement stops the engine there: the rest of its recorded life is lost (that is
  the price of stopping early) and its replay ends. The data holds no history after a service,
  so a replay cannot tell a service from a replacement except by price: both end the engine's
  replay and each is charged its own parts and downtime from ``CostModel``;
* each engine starts at a random phase of the production schedule (fixed per engine seed), so
  policies that time stops into the quiet window can show it.

The sensor part of the agent's observation is zero (the simulator fleet's mean): C-MAPSS sensors
are different quantities from the simulator's, so the only inputs that carry over are the RUL
estimate, its trend and the schedule. Cost per 1,000 operating cycles is then summed over engines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from apps.maintenance.costs import CostModel
from apps.maintenance.env import RUN, MaintenanceEnv, NoisyOracle
from apps.maintenance.policies import RulThreshold, policy_from_params, score_policy, tune, tuned_baselines

REPLAY_HORIZON = 10_000  # far beyond any recorded life: an episode ends with its engine, not with the clock


class ReplayEnv(MaintenanceEnv):
    """One recorded engine per episode; ``reset(seed=i)`` replays engine ``i % len(lives)``.

    ``reset()`` without a seed (vectorised training) replays a random engine. ``lives`` holds, per
    engine, the RUL estimate at each recorded cycle (length = cycles run
    until failure, so the true RUL at row ``i`` is ``len - 1 - i``).
    """

    def __init__(self, lives: Sequence[np.ndarray], costs: CostModel | None = None,
                 decide_below: float | None = None) -> None:
        if not lives:
            raise ValueError("a replay needs at least one recorded engine")
        super().__init__(estimator=NoisyOracle(), costs=costs, horizon=REPLAY_HORIZON, decide_below=decide_below)
        self.lives = [np.asarray(life, dtype=float) for life in lives]
        self.ended = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super(MaintenanceEnv, self).reset(seed=seed)
        # a seed names an engine (scoring replays each once); training resets draw engines at random
        index = seed if seed is not None else int(self.np_random.integers(len(self.lives)))
        engine = self.lives[index % len(self.lives)]
        self.t = int(self.np_random.integers(0, self.costs.period))  # phase of the production schedule
        self.loads = np.ones(self.horizon + 1)  # recorded engines run one operating condition (FD001)
        self.stats = {"cost": 0.0, "operating_cycles": 0, "failures": 0, "services": 0, "replacements": 0,
                      "maintenance_cost": 0.0, "failure_cost": 0.0, "downtime_cost": 0.0}
        self.fail_idx = len(engine)
        self.rul = np.append(engine, engine[-1])  # index = cycles run; the last entry is only shown at the end
        self.damage = np.linspace(0.0, 1.0, len(engine) + 1)  # unused by policies; keeps ``hidden_damage`` defined
        self.readings = np.zeros((len(self.rul), self.n_sensors))
        self.idx = 0
        self.ended = False
        return self._obs(), self._info()

    def _start_life(self, start_damage: float, new_unit: bool) -> None:
        """After a failure or a stop the recorded engine is over: the episode ends."""
        self.ended = True

    def step(self, action: np.int64 | int  # type: ignore[override]
             ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        action = int(action)
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r}: use 0 (run), 1 (service) or 2 (replace)")
        cost = self._apply(action)
        if self.decide_below is not None:
            while not self.ended and self.rul_estimate > self.decide_below:
                cost += self._apply(RUN)
        if self.ended:
            self.idx = min(self.idx, len(self.rul) - 1)
        return self._obs(), -cost / 1000.0, self.ended, False, self._info()

    def _obs(self) -> np.ndarray:
        obs = super()._obs()
        obs[-1] = 0.5  # mid-horizon for the agent: a recorded fleet keeps producing, no end-of-horizon effect
        return obs


def split_engines(n: int, held_out: float = 0.4, seed: int = 0) -> tuple[list[int], list[int]]:
    """Indices of tuning engines and held-out scoring engines (a fixed, seeded split)."""
    order = np.random.default_rng(seed).permutation(n)
    k = max(1, round(n * held_out))
    return sorted(int(i) for i in order[k:]), sorted(int(i) for i in order[:k])


def replay_factory(lives: Sequence[np.ndarray], costs: CostModel, decide_below: float | None = None
                   ) -> Callable[[], ReplayEnv]:
    return lambda: ReplayEnv(lives, costs, decide_below)


def tune_replay_baselines(lives: Sequence[np.ndarray], costs: CostModel) -> dict[str, Any]:
    """The three baselines tuned by grid search on replayed (tuning) engines; thresholds every 2 cycles."""
    make = replay_factory(lives, costs)
    seeds = range(len(lives))
    found = tuned_baselines(make, seeds, quick=False)
    grid = [RulThreshold(float(t), a) for t in range(0, 72, 2) for a in (1, 2)]
    found["rul_threshold"], _ = tune(grid, make, seeds, "tuning replay RUL threshold")
    return found


def train_replay_agent(lives: Sequence[np.ndarray], costs: CostModel, timesteps: int, decide_below: float,
                       seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """PPO trained on replays of the tuning engines only; the checkpoint is chosen on those same engines."""
    from apps.maintenance.rl import train_ppo

    return train_ppo(replay_factory(lives, costs, decide_below), timesteps, seed=seed,
                     eval_seeds=range(len(lives)), eval_every=max(2048, timesteps // 10), progress=False)


def compare_on_replay(lives: Sequence[np.ndarray], baselines: dict[str, dict[str, Any]], costs: CostModel,
                      agents: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each policy on the replayed engines (one episode each); ``agents``: name -> ``SB3Policy``."""
    make = replay_factory(lives, costs)
    seeds = range(len(lives))
    out: dict[str, Any] = {}
    for name, agent in (agents or {}).items():
        out[name] = score_policy(agent, make, seeds)
    for name, params in baselines.items():
        pol = policy_from_params(name, params)
        out[name] = {**score_policy(pol, make, seeds), "params": pol.params()}
    return out

