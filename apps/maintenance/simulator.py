"""A fleet degradation simulator, so the app runs (and is tested) with no download.

Each machine carries a hidden *damage* level that starts near zero and grows
every operating cycle by ``rate * load**1.5`` (times a little gamma noise): a
machine's own ``rate`` differs from its neighbours' (manufacturing spread) and
its ``load`` switches between regimes (light, nominal, heavy duty). The machine
fails when damage reaches 1. Sensors respond to damage non-linearly (nothing
shows until wear is well under way, as in NASA's C-MAPSS engines) and to load,
and carry measurement noise. Service removes part of the damage, replacement
all of it (and brings a new unit with a new rate).

Everything is vectorised with numpy: histories are cumulative sums, so a fleet of
hundreds of machines is generated in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LOAD_COLUMN = "setting_1"


@dataclass(frozen=True)
class SimConfig:
    """Physics of the simulated fleet (defaults give lives of roughly 100-300 cycles)."""

    n_sensors: int = 14
    n_constant_sensors: int = 2  # flat channels, as C-MAPSS has; the feature step must drop them
    rate_median: float = 1 / 170  # damage per cycle at nominal load
    rate_spread: float = 0.30  # log-normal sigma of the rate between units
    load_levels: tuple[float, ...] = (0.75, 1.0, 1.3)
    load_switch_prob: float = 0.025  # chance per cycle that the duty regime changes
    step_noise_shape: float = 20.0  # gamma shape of the per-cycle damage increment (larger: smoother)
    curvature: float = 3.0  # how late in life the sensors start to move
    sensor_noise: float = 0.25  # measurement noise relative to the full damage response
    sensor_seed: int = 1234  # fixes the sensor gains so every fleet has the same "machine type"

    @property
    def sensor_names(self) -> list[str]:
        return [f"s_{i + 1}" for i in range(self.n_sensors + self.n_constant_sensors)]

    @property
    def columns(self) -> list[str]:
        """The columns of one simulated reading, in the order ``MaintenanceEnv`` passes them to an estimator."""
        return [LOAD_COLUMN, *self.sensor_names]


def _sensor_gains(cfg: SimConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Base level, damage gain and load gain of each sensor (fixed for a machine type)."""
    rng = np.random.default_rng(cfg.sensor_seed)
    n = cfg.n_sensors
    base = rng.uniform(10, 100, n)
    gain = rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)
    load_gain = rng.uniform(-0.8, 0.8, n)
    return base, gain, load_gain


def draw_rates(rng: np.random.Generator, n: int, cfg: SimConfig) -> np.ndarray:
    """Per-unit wear rates: log-normal around ``rate_median``."""
    return cfg.rate_median * np.exp(rng.normal(0.0, cfg.rate_spread, n))


def load_paths(rng: np.random.Generator, n: int, length: int, cfg: SimConfig) -> np.ndarray:
    """Markov-switching duty regimes, shape (n, length), without a Python loop over time."""
    switches = rng.random((n, length)) < cfg.load_switch_prob
    segment = np.cumsum(switches, axis=1, dtype=np.int64)
    levels = np.asarray(cfg.load_levels)[rng.integers(0, len(cfg.load_levels), (n, int(segment.max()) + 1))]
    return np.take_along_axis(levels, segment, axis=1)


def damage_paths(rng: np.random.Generator, start: np.ndarray, rates: np.ndarray, loads: np.ndarray,
                 cfg: SimConfig) -> np.ndarray:
    """Damage after each cycle, shape like ``loads``: start + cumulative rate * load^1.5 * noise."""
    noise = rng.gamma(cfg.step_noise_shape, 1.0 / cfg.step_noise_shape, loads.shape)
    return start[:, None] + np.cumsum(rates[:, None] * loads**1.5 * noise, axis=1)


def sensor_readings(rng: np.random.Generator, damage: np.ndarray, loads: np.ndarray, cfg: SimConfig) -> np.ndarray:
    """Noisy sensors for damage/load arrays of any shape (...,) -> (..., n_sensors + n_constant)."""
    base, gain, load_gain = _sensor_gains(cfg)
    k = cfg.curvature
    health = (np.exp(k * np.clip(damage, 0, 1.2)) - 1) / (np.exp(k) - 1)
    values = (base + gain * health[..., None] + load_gain * (loads[..., None] - 1.0)
              + rng.normal(0.0, cfg.sensor_noise, (*damage.shape, cfg.n_sensors)) * np.abs(gain))
    constant = np.broadcast_to(np.linspace(1.0, 5.0, cfg.n_constant_sensors), (*damage.shape,
                                                                               cfg.n_constant_sensors))
    return np.concatenate([values, constant], axis=-1)


def simulate_fleet(n_machines: int = 60, seed: int = 0, cfg: SimConfig | None = None,
                   max_cycles: int = 600, start_damage_max: float = 0.3) -> pd.DataFrame:
    """Run-to-failure histories in the canonical table (unit, cycle, setting_1=load, s_*, rul).

    Some machines start partly worn (as after a service), up to ``start_damage_max``,
    so the RUL model also sees lives that do not begin fresh.
    """
    cfg = cfg or SimConfig()
    rng = np.random.default_rng(seed)
    start = np.where(rng.random(n_machines) < 0.5, 0.0, rng.uniform(0, start_damage_max, n_machines))
    rates = draw_rates(rng, n_machines, cfg)
    loads = load_paths(rng, n_machines, max_cycles, cfg)
    damage = damage_paths(rng, start, rates, loads, cfg)
    failed = damage >= 1.0
    life = np.where(failed.any(axis=1), failed.argmax(axis=1) + 1, max_cycles)  # cycles run, failure on the last
    mask = np.arange(max_cycles)[None, :] < life[:, None]
    sensors = sensor_readings(rng, damage, loads, cfg)
    unit_idx, cyc_idx = np.nonzero(mask)
    frame = pd.DataFrame(sensors[unit_idx, cyc_idx], columns=cfg.sensor_names)
    frame.insert(0, LOAD_COLUMN, loads[unit_idx, cyc_idx])
    frame.insert(0, "cycle", cyc_idx + 1)
    frame.insert(0, "unit", unit_idx + 1)
    frame["rul"] = (life[unit_idx] - (cyc_idx + 1)).astype(float)
    frame["damage"] = np.minimum(damage[unit_idx, cyc_idx], 1.0)
    return frame
