"""The out-of-scope threshold: it flags at most the budget of in-scope messages, so
in-scope accuracy drops by at most the budget."""

from __future__ import annotations

import numpy as np

from apps.chatbot.oos import allowed_rejections, choose_score_threshold, choose_threshold, oos_metrics


def _proba(confidences: list[float], predicted: list[int], n_classes: int = 3) -> np.ndarray:
    p = np.full((len(confidences), n_classes), 0.0)
    for row, (c, k) in enumerate(zip(confidences, predicted, strict=True)):
        p[row] = (1 - c) / (n_classes - 1)
        p[row, k] = c
    return p


def test_threshold_rejects_at_most_the_budget() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 3, n)
    conf = rng.uniform(0.4, 1.0, n)
    pred = np.where(rng.uniform(size=n) < 0.9, y, (y + 1) % 3)
    proba = _proba(conf.tolist(), pred.tolist())
    base = float((pred == y).mean())
    t = choose_threshold(proba, max_reject=0.01)
    m = oos_metrics(proba, y, t)
    assert m["fallback_rate"] <= 0.01
    assert base - 0.01 - 1e-9 <= m["in_scope_accuracy"] <= base
    # a slightly higher threshold would flag more than the budget: t is the highest allowed
    assert oos_metrics(proba, y, t + 1e-6)["fallback_rate"] > 0.01


def test_budget_counts_wrong_answers_too() -> None:
    # 10 rows, 20 % budget: the two least confident are flagged, whether right or wrong
    conf = [0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99]
    proba = _proba(conf, [0] * 10)
    assert choose_threshold(proba, max_reject=0.2) == 0.5
    assert choose_threshold(proba, max_reject=0.0) == 0.4  # nothing flagged
    assert choose_threshold(proba[:0], max_reject=0.1) == 0.0


def test_oos_metrics_counts_fallbacks() -> None:
    proba = _proba([0.9, 0.3, 0.35, 0.8], [0, 1, 2, 1])
    y = np.array([0, -1, -1, -1])
    m = oos_metrics(proba, y, threshold=0.5)
    assert m["in_scope_accuracy"] == 1.0
    assert m["oos_recall"] == 2 / 3
    assert m["fallback_rate"] == 0.5


def test_confident_budget_flags_fewer_validation_rows() -> None:
    # 1 % of 500 is 5 rows, but only 1 keeps the 95 % upper bound of the rejection rate within 1 %
    assert allowed_rejections(500, 0.01, confidence=None) == 5
    assert allowed_rejections(500, 0.01) == 1
    assert allowed_rejections(70, 0.01) == 0  # too few rows for any rejection to be safe
    assert allowed_rejections(3000, 0.01) == 20
    scores = np.linspace(0.0, 1.0, 500)
    assert choose_score_threshold(scores, 0.01) == scores[1]
    assert choose_score_threshold(scores, 0.01, confidence=None) == scores[5]
