"""Feature selection, normalisation, windows and the optional age and drift channels."""

from __future__ import annotations

import numpy as np

from apps.maintenance.features import FeatureSpec, make_windows, nasa_score, start_level
from apps.maintenance.simulator import simulate_fleet


def test_features_drop_flat_sensors_and_window() -> None:
    fleet = simulate_fleet(6, seed=0)
    spec = FeatureSpec.fit(fleet)
    assert "s_15" not in spec.columns and "s_16" not in spec.columns  # the constant channels
    assert "setting_1" in spec.columns  # load varies, so it is kept
    x, y, _ = make_windows(fleet, spec, last_only=True)
    assert x.shape == (6, 30, len(spec.columns)) and np.all(y == 0)
    assert nasa_score(np.array([10.0]), np.array([20.0])) > nasa_score(np.array([20.0]), np.array([10.0]))


def test_start_level_is_causal_and_freezes_after_the_first_readings() -> None:
    values = np.arange(10, dtype=np.float32)[:, None] * np.array([[1.0, -2.0]], dtype=np.float32)
    level = start_level(values, 4)
    np.testing.assert_allclose(level[:4, 0], [0.0, 0.5, 1.0, 1.5])  # the mean of the readings seen so far
    np.testing.assert_allclose(level[4:], np.tile(values[:4].mean(axis=0), (6, 1)))  # then the first 4 only
    # a later reading never changes an earlier row's level
    changed = values.copy()
    changed[6:] += 100
    np.testing.assert_allclose(start_level(changed, 4), level)


def test_windows_carry_sensors_then_age_then_drift() -> None:
    fleet = simulate_fleet(3, seed=1)
    spec = FeatureSpec.fit(fleet, window=5, smooth=0.0, baseline=3, age=True)
    n = len(spec.columns)
    assert spec.net_channels == n + 1 and spec.n_channels == 2 * n + 1
    one = fleet[fleet["unit"] == fleet["unit"].iloc[0]]
    values = spec.normalise(one)
    x = spec.windows_of(values)
    assert x.shape == (len(one), 5, 2 * n + 1)
    np.testing.assert_allclose(x[:, -1, :n], values, rtol=1e-6)  # unsmoothed sensors, newest row last
    np.testing.assert_allclose(x[:, -1, n] * spec.cap, np.arange(1, len(one) + 1), rtol=1e-5)  # readings seen
    np.testing.assert_allclose(x[-1, -1, n + 1:], values[-1] - values[:3].mean(axis=0), rtol=1e-4, atol=1e-5)
