"""Out-of-scope detection: a threshold on an out-of-scope score (the similarity to
the nearest training message, see ``ensemble.py``; the top probability for older
models), chosen by :mod:`apps.chatbot.calibration`, and what it does to a mix of
in-scope and off-topic messages."""

from __future__ import annotations

import numpy as np

from apps.chatbot.calibration import choose_threshold

__all__ = ["choose_threshold", "oos_metrics"]


def oos_metrics(proba: np.ndarray, y_true: np.ndarray, threshold: float,
                scores: np.ndarray | None = None) -> dict[str, float]:
    """Metrics on a mix of in-scope rows (label >= 0) and out-of-scope rows (label -1).

    ``scores``: the out-of-scope score compared with ``threshold`` (default: the top probability).

    ``in_scope_accuracy``: in-scope rows answered with the right intent (not sent to the fallback);
    ``oos_recall``: out-of-scope rows sent to the fallback; ``fallback_rate``: all rows sent there.
    """
    y = np.asarray(y_true)
    flagged = (proba.max(axis=1) if scores is None else np.asarray(scores)) < threshold
    pred = proba.argmax(axis=1)
    in_scope, oos = y >= 0, y < 0
    out = {"fallback_rate": float(flagged.mean()) if len(y) else 0.0}
    if in_scope.any():
        out["in_scope_accuracy"] = float(((pred == y) & ~flagged)[in_scope].mean())
    if oos.any():
        out["oos_recall"] = float(flagged[oos].mean())
    return out
