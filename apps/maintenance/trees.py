"""Gradient-boosted trees on window summaries: the second member of the RUL blend.

Why a second model: on FD001 *training* engines (5-fold out-of-fold, test-like truncations)
LightGBM on a few hand-made summaries of the window scored RMSE about 9.4 where the DCNN
scored 12.5. What it sees that the DCNN does not use well: how old the machine is (cycles
since its history began: without it the trees scored 11.1) and how far each sensor has
drifted from the machine's own level when new (without it 10.3). The same two inputs given
to the DCNN as extra channels made it worse (drift: 14.9), so they are summarised for the
trees and the blend weight between the two models is chosen on out-of-fold estimates.

The booster is saved in LightGBM's own text format (no pickle), so a version stays loadable
across library upgrades.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apps.maintenance.features import FeatureSpec, estimate_rows, make_windows

TREE_PARAMS: dict[str, Any] = {"n_estimators": 800, "learning_rate": 0.03, "num_leaves": 15, "min_child_samples": 50,
                               "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.5, "reg_lambda": 1.0,
                               "verbose": -1, "n_jobs": 1}
MEAN_SPANS = (5, 10, 20, 40)
SLOPE_SPANS = (10, 20, 40)


def summary_features(x: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Windows (N, W, C) -> (N, D): every channel's newest value (sensors, drifts, age), and the
    sensors' means and least-squares slopes over the last few spans of the window."""
    sensors = x[..., :len(spec.columns)]
    parts = [x[:, -1, :]]
    for span in MEAN_SPANS:
        parts.append(sensors[:, -min(span, x.shape[1]):, :].mean(axis=1))
    for span in SLOPE_SPANS:
        k = min(span, x.shape[1])
        t = np.arange(k) - (k - 1) / 2
        parts.append(np.einsum("nwf,w->nf", sensors[:, -k:, :], t / max(float(t @ t), 1e-9)))
    return np.concatenate(parts, axis=1).astype(np.float32)


class TreeRul:
    """``rul = clip(lightgbm(summary_features(window)), 0, cap)``."""

    def __init__(self, booster: Any, spec: FeatureSpec) -> None:
        self.booster, self.spec = booster, spec

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, spec: FeatureSpec, seed: int = 0,
            params: dict[str, Any] | None = None) -> TreeRul:
        """``params``: LightGBM's (default ``TREE_PARAMS``, see :func:`tree_params`)."""
        import lightgbm as lgb

        model = lgb.LGBMRegressor(**(params or TREE_PARAMS), random_state=seed)
        model.fit(summary_features(x, spec), np.minimum(y, spec.cap))
        return cls(model.booster_, spec)

    def predict(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0)
        return np.clip(self.booster.predict(summary_features(x, self.spec)), 0, self.spec.cap)

    def save(self, path: Path) -> None:
        self.booster.save_model(str(path))

    @classmethod
    def load(cls, path: Path, spec: FeatureSpec) -> TreeRul:
        import lightgbm as lgb

        return cls(lgb.Booster(model_file=str(path)), spec)


def tree_params(leaves: int, learning_rate: float, rounds: int, min_child_samples: int) -> dict[str, Any]:
    """``TREE_PARAMS`` with the parameters ``tune`` searches replaced."""
    return {**TREE_PARAMS, "num_leaves": leaves, "learning_rate": learning_rate, "n_estimators": rounds,
            "min_child_samples": min_child_samples}


def fit_frame(frame: pd.DataFrame, spec: FeatureSpec, seed: int = 0, params: dict[str, Any] | None = None) -> TreeRul:
    x, y, _ = make_windows(frame, spec)
    return TreeRul.fit(x, y, spec, seed, params)


def trees_cross_fit(frame: pd.DataFrame, make_spec: Any, folds: int, seed: int,
                    params: dict[str, Any] | None = None) -> np.ndarray:
    """Out-of-fold tree estimates on the same machine folds as ``model.cross_fit`` (for the blend weight)."""
    from apps.maintenance.model import out_of_fold

    def fit_predict(train: pd.DataFrame, held: pd.DataFrame, fold: int) -> np.ndarray:
        spec = make_spec(train)
        return estimate_rows(held, spec, fit_frame(train, spec, seed + fold, params).predict)

    return out_of_fold(frame, folds, seed, fit_predict)

