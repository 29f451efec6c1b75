"""The recorded-lives recipe: cross-fitting, the test-like validation figure, the blend weight."""

from __future__ import annotations

import numpy as np
import pandas as pd

from apps.maintenance.features import FeatureSpec
from apps.maintenance.model import cross_fit
from apps.maintenance.recorded import choose_tree_weight, recorded_lives, truncation_rmse
from apps.maintenance.simulator import simulate_fleet


def test_cross_fit_scores_every_machine_out_of_fold() -> None:
    frame = simulate_fleet(10, seed=5).drop(columns=["damage"])
    assert recorded_lives(frame)
    oof = cross_fit(frame, lambda f: FeatureSpec.fit(f, smooth=0.0), folds=5, epochs=1, seed=0, device="cpu",
                    show_progress=False)
    assert oof.shape == (len(frame),) and np.isfinite(oof).all() and (oof >= 0).all()
    assert np.isfinite(truncation_rmse(frame, oof, 125.0))


def test_test_like_rmse_reads_truncation_points_only() -> None:
    frame = pd.DataFrame({"unit": np.repeat([1, 2], 100), "rul": np.tile(np.arange(100)[::-1], 2).astype(float)})
    truth = np.minimum(frame["rul"].to_numpy(), 125.0)
    assert truncation_rmse(frame, truth, 125.0) == 0.0
    assert abs(truncation_rmse(frame, truth + 3.0, 125.0) - 3.0) < 1e-9
    assert not recorded_lives(frame.assign(rul=frame["rul"] + 1))


def test_tree_weight_is_chosen_on_out_of_fold_estimates() -> None:
    frame = simulate_fleet(10, seed=4)
    truth = np.minimum(frame["rul"].to_numpy(dtype=float), 125.0)
    noise = np.random.default_rng(0).normal(0, 20, len(truth))
    weight, scores = choose_tree_weight(frame, truth + noise, truth, 125.0)
    assert weight == 1.0 and scores["1.0"] == 0.0  # exact trees win
    weight, _ = choose_tree_weight(frame, truth, truth + noise, 125.0)
    assert weight == 0.0
