"""The boosted-trees member of the RUL blend and the blend itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from apps.maintenance.features import FeatureSpec, make_windows
from apps.maintenance.model import RulEnsemble, build_net
from apps.maintenance.simulator import simulate_fleet
from apps.maintenance.trees import TreeRul, fit_frame, summary_features, trees_cross_fit


def test_summary_features_read_levels_and_trends() -> None:
    spec = FeatureSpec(["a"], [0.0], [1.0], window=10)
    rising = np.arange(10, dtype=np.float32).reshape(1, 10, 1)
    feats = summary_features(np.concatenate([rising, -rising]), spec)
    # newest value, 4 means, 3 slopes for one channel
    assert feats.shape == (2, 8)
    np.testing.assert_allclose(feats[0, 0], 9.0)
    np.testing.assert_allclose(feats[0, 1], np.mean([5, 6, 7, 8, 9]))
    np.testing.assert_allclose(feats[:, 5:], [[1.0] * 3, [-1.0] * 3], rtol=1e-5)  # slope per step


def test_trees_learn_rul_and_round_trip(tmp_path: Path) -> None:
    train, held = simulate_fleet(30, seed=7), simulate_fleet(6, seed=8)
    spec = FeatureSpec.fit(train, smooth=0.1, baseline=10, age=True)
    trees = fit_frame(train, spec, seed=0)
    x, y, _ = make_windows(held, spec)
    rmse = float(np.sqrt(np.mean((trees.predict(x) - y) ** 2)))
    assert rmse < 0.8 * float(np.std(y))  # far better than predicting the mean
    trees.save(tmp_path / "trees.txt")
    np.testing.assert_allclose(TreeRul.load(tmp_path / "trees.txt", spec).predict(x), trees.predict(x))


def test_blend_weighs_trees_and_nets_and_saves_both(tmp_path: Path) -> None:
    fleet = simulate_fleet(10, seed=3)
    spec = FeatureSpec.fit(fleet, smooth=0.1, baseline=10, age=True)
    trees = fit_frame(fleet, spec)
    ens = RulEnsemble(spec, [build_net("dcnn", spec.net_channels, spec.window).state_dict()], residual_sd=2.0,
                      trees=trees, tree_weight=0.7)
    x, _, _ = make_windows(fleet, spec)
    nets_only = RulEnsemble(spec, [m.state_dict() for m in ens.members])
    np.testing.assert_allclose(ens.predict_windows(x)[0],
                               0.3 * nets_only.predict_windows(x)[0] + 0.7 * trees.predict(x), rtol=1e-5, atol=1e-4)
    ens.save(tmp_path / "rul")
    back = RulEnsemble.load(tmp_path / "rul")
    assert back.tree_weight == 0.7 and back.trees is not None
    np.testing.assert_allclose(back.predict_windows(x)[0], ens.predict_windows(x)[0], rtol=1e-5, atol=1e-4)


def test_an_all_trees_blend_answers_without_running_the_nets() -> None:
    """With the trees' weight at 1 the nets add nothing to the estimate or its band, so they are not run."""
    fleet = simulate_fleet(6, seed=5)
    spec = FeatureSpec.fit(fleet, smooth=0.1, baseline=10, age=True)
    trees = fit_frame(fleet, spec)
    ens = RulEnsemble(spec, [build_net("dcnn", spec.net_channels, spec.window).state_dict()], residual_sd=2.0,
                      trees=trees, tree_weight=1.0)
    x, _, _ = make_windows(fleet, spec)
    mean, _, high = ens.predict_windows(x)
    np.testing.assert_allclose(mean, trees.predict(x), rtol=1e-6)
    np.testing.assert_allclose(high - mean, 1.645 * 2.0, rtol=1e-6)  # the residual band, no member spread
    ens.network = None  # type: ignore[assignment]  # would fail if called
    np.testing.assert_allclose(ens.predict_windows(x)[0], mean)


def test_trees_cross_fit_scores_every_row_out_of_fold() -> None:
    frame = simulate_fleet(10, seed=4)
    oof = trees_cross_fit(frame, lambda f: FeatureSpec.fit(f, baseline=5, age=True), folds=5, seed=0)
    assert isinstance(frame, pd.DataFrame) and np.isfinite(oof).all() and len(oof) == len(frame)
