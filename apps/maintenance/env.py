"""``MaintenanceEnv``: one machine over a production horizon, as a gymnasium environment.

Every step the agent chooses, for the next cycle, to **run** the machine, **service**
it (removes most damage, short stop) or **replace** it (new unit, longer stop).
Running a machine whose hidden damage crosses 1 is an unplanned failure: its
repair cost and long stop are charged and a new unit is fitted. Reward is minus
the money spent (in thousands), so maximising return minimises cost.

What the agent sees (and a single RUL threshold cannot use): the latest
normalised sensors, the RUL estimate and its recent trend (a fast-wearing unit
shows a steeper trend), the current load regime, the demand right now and the
cycles until the next quiet window (where stopping is cheap).

Speed: the hidden damage of a whole life is simulated at once when the life
starts (loads are an exogenous production plan) and the RUL estimator scores all
its windows in one batch, so a step is a few array look-ups.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from apps.maintenance.costs import CostModel
from apps.maintenance.simulator import SimConfig, damage_paths, draw_rates, load_paths, sensor_readings

RUN, SERVICE, REPLACE = 0, 1, 2
ACTIONS = ("run", "service", "replace")
RUL_CAP = 125.0
REWARD_SCALE = 1000.0


class RulEstimator(Protocol):
    """Scores one life: raw rows (T, 1 + n_sensors: load then sensors) -> RUL estimate per row."""

    def __call__(self, rows: np.ndarray) -> np.ndarray: ...


class NoisyOracle:
    """True RUL plus a per-life bias and per-cycle noise: a stand-in estimator for tests.

    The app itself plugs in the trained CNN (see ``model.RulEnsemble.life_estimator``).
    """

    needs_truth = True

    def __init__(self, bias_sd: float = 8.0, noise_sd: float = 5.0) -> None:
        self.bias_sd, self.noise_sd = bias_sd, noise_sd

    def __call__(self, rows: np.ndarray, true_rul: np.ndarray | None = None,
                 rng: np.random.Generator | None = None) -> np.ndarray:
        assert true_rul is not None and rng is not None
        noise = rng.normal(0, self.bias_sd) + rng.normal(0, self.noise_sd, len(true_rul))
        return np.clip(np.minimum(true_rul, RUL_CAP) + noise, 0, RUL_CAP)


class NoEstimate:
    """For policies that never read the estimate (run-to-failure, fixed interval): the same lives
    as with a real estimator (it draws no random numbers), without the cost of scoring them."""

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        return np.full(len(rows), RUL_CAP)


@lru_cache(maxsize=4)
def _sensor_scale(cfg: SimConfig) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of each sensor over a reference fleet, to normalise observations."""
    from apps.maintenance.simulator import simulate_fleet

    fleet = simulate_fleet(40, seed=99, cfg=cfg)
    values = fleet[cfg.sensor_names].to_numpy()
    return values.mean(axis=0), np.maximum(values.std(axis=0), 1e-6)


class MaintenanceEnv(gym.Env[np.ndarray, np.int64]):
    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, estimator: RulEstimator | Callable[..., np.ndarray] | None = None,
                 costs: CostModel | None = None, sim: SimConfig | None = None, horizon: int = 600,
                 max_start_damage: float = 0.6, decide_below: float | None = None) -> None:
        super().__init__()
        self.costs = costs or CostModel()
        self.sim = sim or SimConfig()
        self.estimator = estimator if estimator is not None else NoisyOracle()
        self.horizon = horizon
        self.max_start_damage = max_start_damage
        self.decide_below = decide_below
        self.n_sensors = self.sim.n_sensors + self.sim.n_constant_sensors
        self.obs_dim = self.n_sensors + 8
        self.observation_space = spaces.Box(-10.0, 10.0, (self.obs_dim,), dtype=np.float32)
        self.action_space = spaces.Discrete(3)
        self._mu, self._sd = _sensor_scale(self.sim)
        self.stats: dict[str, float] = {}

    # -- lives ---------------------------------------------------------------
    def _start_life(self, start_damage: float, new_unit: bool) -> None:
        """Simulate the hidden damage of the unit from now to the end of the horizon and score it."""
        rng = self.np_random
        if new_unit:
            self.rate = float(draw_rates(rng, 1, self.sim)[0])
        t0 = self.t
        length = max(1, self.horizon - t0)
        loads = self.loads[t0:t0 + length][None, :]
        damage = damage_paths(rng, np.array([start_damage]), np.array([self.rate]), loads, self.sim)[0]
        self.damage = np.concatenate([[start_damage], damage])  # index 0: state when the life starts
        life_loads = np.concatenate([[self.loads[t0]], loads[0]])
        readings = sensor_readings(rng, self.damage, life_loads, self.sim)
        rows = np.column_stack([life_loads, readings])
        over = np.nonzero(self.damage[1:] >= 1.0)[0]
        self.fail_idx = int(over[0]) + 1 if len(over) else len(self.damage) + 10_000
        # readings past the failure never happen: scoring stops there (halves the estimator's work)
        end = min(len(self.damage), self.fail_idx + 1)
        self.damage, rows, readings = self.damage[:end], rows[:end], readings[:end]
        true_rul = np.maximum(self.fail_idx - np.arange(len(self.damage)) - 1, 0).astype(float)
        if getattr(self.estimator, "needs_truth", False):
            self.rul = np.asarray(self.estimator(rows, true_rul=true_rul, rng=rng), dtype=float)  # type: ignore[call-arg,type-var]
        else:
            self.rul = np.asarray(self.estimator(rows), dtype=float)
        self.readings = np.clip((readings - self._mu) / self._sd, -5, 5)
        self.idx = 0

    @property
    def rul_estimate(self) -> float:
        return float(self.rul[self.idx])

    @property
    def cycles_since_maintenance(self) -> int:
        return self.idx

    @property
    def hidden_damage(self) -> float:
        return float(self.damage[self.idx])

    def _obs(self) -> np.ndarray:
        t = min(self.t, self.horizon - 1)
        past = self.rul[max(0, self.idx - 10)]
        extra = [
            self.rul[self.idx] / RUL_CAP,
            (self.rul[self.idx] - past) / 20.0,
            self.loads[t] - 1.0,
            float(self.costs.demand(t)),
            self.costs.cycles_to_quiet(t) / max(1, self.costs.period),
            (self.rul[self.idx] - self.costs.cycles_to_quiet(t)) / RUL_CAP,
            min(self.idx, 400) / 200.0,
            self.t / self.horizon,
        ]
        return np.concatenate([self.readings[self.idx], extra]).astype(np.float32)

    # -- gymnasium API -------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.t = 0
        self.loads = load_paths(self.np_random, 1, self.horizon + 1, self.sim)[0]
        self.stats = {"cost": 0.0, "operating_cycles": 0, "failures": 0, "services": 0, "replacements": 0,
                      "maintenance_cost": 0.0, "failure_cost": 0.0, "downtime_cost": 0.0}
        start = float(self.np_random.uniform(0, self.max_start_damage))
        self._start_life(start, new_unit=True)
        return self._obs(), self._info()

    def _info(self) -> dict[str, Any]:
        return {"rul_estimate": self.rul_estimate, "cycles_since_maintenance": self.idx, "t": self.t,
                **self.stats}

    def _stop(self, kind: str, parts: float, cycles: int) -> float:
        downtime = self.costs.stop_cost(self.t, min(cycles, self.horizon - self.t))
        self.stats["downtime_cost"] += downtime
        self.stats["failure_cost" if kind == "failure" else "maintenance_cost"] += parts
        self.t += cycles
        return parts + downtime

    def step(self, action: np.int64 | int  # type: ignore[override]
             ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply ``action``; with ``decide_below`` set, then keep running while the unit looks healthy.

        ``decide_below`` models an alert-driven workflow: a planner is only asked once the
        RUL estimate drops to that level, which makes learning far more sample-efficient.
        """
        action = int(action)
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r}: use 0 (run), 1 (service) or 2 (replace)")
        cost = self._apply(action)
        if self.decide_below is not None:
            while self.t < self.horizon and self.rul_estimate > self.decide_below:
                cost += self._apply(RUN)
        # the production horizon is the end of the task (its clock is in the observation), hence
        # ``terminated``: the agent must not bootstrap value beyond it
        terminated = self.t >= self.horizon
        if terminated:
            self.idx = min(self.idx, len(self.rul) - 1)
        return self._obs(), -cost / REWARD_SCALE, terminated, False, self._info()

    def _apply(self, action: int) -> float:
        cost = 0.0
        c = self.costs
        if action == RUN:
            self.t += 1
            self.idx += 1
            self.stats["operating_cycles"] += 1
            if self.idx >= self.fail_idx:
                self.stats["failures"] += 1
                cost = self._stop("failure", c.failure_cost, c.failure_downtime)
                if self.t < self.horizon:
                    self._start_life(0.0, new_unit=True)
            elif self.t < self.horizon and self.idx >= len(self.damage) - 1:
                self._start_life(self.hidden_damage, new_unit=False)  # horizon safety; not reached normally
        elif action == SERVICE:
            self.stats["services"] += 1
            damage = self.hidden_damage * (1 - c.service_restore)
            cost = self._stop("service", c.service_cost, c.service_downtime)
            if self.t < self.horizon:
                self._start_life(damage, new_unit=False)
        else:
            self.stats["replacements"] += 1
            cost = self._stop("replace", c.replace_cost, c.replace_downtime)
            if self.t < self.horizon:
                self._start_life(0.0, new_unit=True)
        self.stats["cost"] += cost
        return cost
