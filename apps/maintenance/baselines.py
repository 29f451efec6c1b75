"""A simple RUL baseline the DCNN ensemble must beat: ridge regression on the flattened last window.

It answers "is the deep network worth it?" with the same inputs (the normalised, smoothed
sensor window ending at the cycle being scored), the same capped target and the same
metric names, and gives the suite's home card a figure to compare against. Weights are
saved as plain arrays (no pickle), so a version stays loadable across library upgrades.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apps.maintenance.features import FeatureSpec, estimate_rows, make_windows, nasa_score
from lepton_shared.evaluation import regression_metrics

BASELINE_NAME = "ridge_last_window"
ALPHA = 10.0  # fixed, not tuned: the baseline should be simple and cheap


class RidgeRul:
    """``rul = clip(w . flatten(window) + b, 0, cap)``, fitted in closed form by scikit-learn."""

    def __init__(self, coef: np.ndarray, intercept: float, cap: float) -> None:
        self.coef, self.intercept, self.cap = np.asarray(coef, dtype=float), float(intercept), float(cap)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, cap: float) -> RidgeRul:
        from sklearn.linear_model import Ridge

        model = Ridge(alpha=ALPHA).fit(x.reshape(len(x), -1), np.minimum(y, cap))
        return cls(model.coef_, float(model.intercept_), cap)

    def predict(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0)
        return np.clip(x.reshape(len(x), -1).astype(float) @ self.coef + self.intercept, 0, self.cap)

    def save(self, path: Path) -> None:
        np.savez(path, coef=self.coef, intercept=np.array([self.intercept]), cap=np.array([self.cap]))

    def predict_frame(self, frame: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
        """Estimate at every row of a canonical table (windows per unit, as ``RulEnsemble.predict_frame``)."""
        return estimate_rows(frame, spec, self.predict)

    @classmethod
    def load(cls, path: Path) -> RidgeRul:
        saved = np.load(path)
        return cls(saved["coef"], float(saved["intercept"][0]), float(saved["cap"][0]))


def fit_frame(frame: pd.DataFrame, spec: FeatureSpec) -> RidgeRul:
    x, y, _ = make_windows(frame, spec)
    return RidgeRul.fit(x, y, spec.cap)


def ridge_cross_fit(frame: pd.DataFrame, make_spec: Any, folds: int, seed: int) -> np.ndarray:
    """Out-of-fold ridge estimates on the same machine folds as ``model.cross_fit``."""
    from apps.maintenance.model import out_of_fold

    def fit_predict(train: pd.DataFrame, held: pd.DataFrame, _fold: int) -> np.ndarray:
        spec = make_spec(train)
        return fit_frame(train, spec).predict_frame(held, spec)

    return out_of_fold(frame, folds, seed, fit_predict)


def baseline_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, dict[str, Any]]:
    """``{"ridge_last_window": {rmse, mae, nasa_score}}`` with the DCNN's metric names."""
    scores = regression_metrics(y, pred)
    return {BASELINE_NAME: {"rmse": scores["rmse"], "mae": scores["mae"], "nasa_score": nasa_score(y, pred)}}
