"""The out-of-scope threshold: chosen so in-scope accuracy drops by at most the budget."""

from __future__ import annotations

import numpy as np

from apps.chatbot.oos import choose_threshold, oos_metrics


def _proba(confidences: list[float], predicted: list[int], n_classes: int = 3) -> np.ndarray:
    p = np.full((len(confidences), n_classes), 0.0)
    for row, (c, k) in enumerate(zip(confidences, predicted, strict=True)):
        p[row] = (1 - c) / (n_classes - 1)
        p[row, k] = c
    return p


def test_threshold_keeps_accuracy_within_budget() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 3, n)
    conf = rng.uniform(0.4, 1.0, n)
    pred = np.where(rng.uniform(size=n) < 0.9, y, (y + 1) % 3)
    proba = _proba(conf.tolist(), pred.tolist())
    base = float((pred == y).mean())
    t = choose_threshold(proba, y, max_drop=0.01)
    kept = oos_metrics(proba, y, t)["in_scope_accuracy"]
    assert base - 0.01 - 1e-9 <= kept <= base
    # a slightly higher threshold would break the budget: t is the highest allowed
    assert oos_metrics(proba, y, t + 1e-6)["in_scope_accuracy"] < base - 0.01


def test_zero_budget_keeps_every_correct_answer() -> None:
    proba = _proba([0.9, 0.6, 0.95, 0.5], [0, 1, 2, 0])
    y = np.array([0, 1, 2, 1])  # the 0.5 one is wrong
    t = choose_threshold(proba, y, max_drop=0.0)
    assert t == 0.6
    assert oos_metrics(proba, y, t)["in_scope_accuracy"] == 0.75


def test_oos_metrics_counts_fallbacks() -> None:
    proba = _proba([0.9, 0.3, 0.35, 0.8], [0, 1, 2, 1])
    y = np.array([0, -1, -1, -1])
    m = oos_metrics(proba, y, threshold=0.5)
    assert m["in_scope_accuracy"] == 1.0
    assert m["oos_recall"] == 2 / 3
    assert m["fallback_rate"] == 0.5
