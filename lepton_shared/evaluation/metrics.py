"""Metric names follow scikit-learn and ``implicit`` in snake_case, as the CLI contract asks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, n_bins: int = 15) -> float:
    """ECE over equal-width confidence bins of the top-class probability."""
    proba = np.asarray(proba, dtype=float)
    y_true = np.asarray(y_true)
    if proba.ndim == 1:
        proba = np.stack([1 - proba, proba], axis=1)
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def ece_interval(y_true: np.ndarray, proba: np.ndarray, confidence: float = 0.95, n_resamples: int = 1000,
                 seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval of :func:`expected_calibration_error` over the images (resampled with
    their labels): a few hundred test images leave ECE uncertain by about a point either way."""
    from scipy.stats import bootstrap

    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=float)
    if len(y) < 2:
        ece = expected_calibration_error(y, p)
        return ece, ece
    res = bootstrap((np.arange(len(y)),), lambda idx: expected_calibration_error(y[idx], p[idx]),
                    confidence_level=confidence, n_resamples=n_resamples, method="percentile",
                    vectorized=False, random_state=seed)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def classification_metrics(y_true: Sequence[int] | np.ndarray, proba: np.ndarray,
                           labels: Sequence[str] | None = None, threshold: float | None = None) -> dict[str, Any]:
    """accuracy, f1_macro, roc_auc, average_precision, ece and the confusion matrix.

    ``proba`` is (n, C) class probabilities, or (n,) positive-class probabilities
    for a binary task (``threshold`` then sets the decision, default 0.5).
    """
    y = np.asarray(y_true).astype(int)
    p = np.asarray(proba, dtype=float)
    binary = p.ndim == 1 or p.shape[1] == 2
    if binary:
        pos = p if p.ndim == 1 else p[:, 1]
        pred = (pos >= (0.5 if threshold is None else threshold)).astype(int)
    else:
        pred = p.argmax(axis=1)
    out: dict[str, Any] = {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "f1_macro": float(skm.f1_score(y, pred, average="macro", zero_division=0)),
    }
    n_classes = 2 if binary else p.shape[1]
    present = np.unique(y)
    try:
        if binary:
            out["roc_auc"] = float(skm.roc_auc_score(y, pos))
            out["average_precision"] = float(skm.average_precision_score(y, pos))
        elif len(present) > 1:
            onehot = np.eye(n_classes)[y]
            cols = [c for c in range(n_classes) if onehot[:, c].any() and not onehot[:, c].all()]
            out["roc_auc"] = float(skm.roc_auc_score(onehot[:, cols], p[:, cols], average="macro"))
            out["average_precision"] = float(skm.average_precision_score(onehot[:, cols], p[:, cols],
                                                                          average="macro"))
    except ValueError:  # a single class in y: AUC is undefined
        pass
    out["ece"] = expected_calibration_error(y, p if p.ndim == 2 else np.stack([1 - p, p], 1))
    cm_labels = list(range(n_classes))
    out["confusion_matrix"] = skm.confusion_matrix(y, pred, labels=cm_labels).tolist()
    if labels is not None:
        out["labels"] = list(labels)
    return out


def regression_metrics(y_true: Sequence[float] | np.ndarray, y_pred: Sequence[float] | np.ndarray) -> dict[str, float]:
    y, yp = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    return {
        "rmse": float(np.sqrt(skm.mean_squared_error(y, yp))),
        "mae": float(skm.mean_absolute_error(y, yp)),
        "r2": float(skm.r2_score(y, yp)) if len(y) > 1 else float("nan"),
    }


def ranking_metrics(model: Any, train_user_items: Any, test_user_items: Any, k: int = 10,
                    show_progress: bool = False) -> dict[str, float]:
    """precision/map/ndcg/auc at k from ``implicit.evaluation.ranking_metrics_at_k``."""
    from implicit.evaluation import ranking_metrics_at_k

    raw = ranking_metrics_at_k(model, train_user_items, test_user_items, K=k, show_progress=show_progress)
    return {f"{name}_at_{k}": float(raw[name]) for name in ("precision", "map", "ndcg", "auc")}
