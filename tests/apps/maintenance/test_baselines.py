"""The ridge RUL baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from apps.maintenance.baselines import RidgeRul, fit_frame
from apps.maintenance.features import FeatureSpec, make_windows
from apps.maintenance.simulator import simulate_fleet


def test_ridge_baseline_learns_and_round_trips(tmp_path: Path) -> None:
    train, held = simulate_fleet(30, seed=7), simulate_fleet(6, seed=8)
    spec = FeatureSpec.fit(train, smooth=0.0)
    ridge = fit_frame(train, spec)
    x, y, _ = make_windows(held, spec)
    rmse = float(np.sqrt(np.mean((ridge.predict(x) - y) ** 2)))
    assert rmse < 0.8 * float(np.std(y))  # far better than predicting the mean
    ridge.save(tmp_path / "ridge.npz")
    assert np.allclose(RidgeRul.load(tmp_path / "ridge.npz").predict(x), ridge.predict(x))
    assert np.allclose(ridge.predict_frame(held, spec), ridge.predict(x))
