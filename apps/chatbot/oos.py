"""Out-of-scope detection: a threshold on the top softmax probability.

The threshold is chosen on validation data as the highest value that keeps
in-scope accuracy within ``max_drop`` (1 point) of the accuracy without any
threshold, so the fallback catches as many off-topic messages as that budget
allows. It is stored with the model.
"""

from __future__ import annotations

import math

import numpy as np


def choose_threshold(proba: np.ndarray, y_true: np.ndarray, max_drop: float = 0.01) -> float:
    """Highest confidence threshold whose in-scope accuracy is >= accuracy - ``max_drop``.

    A message is answered only when its top probability is >= the threshold;
    the answers it withholds from correctly classified messages are the cost.
    """
    y = np.asarray(y_true)
    if len(y) == 0:
        return 0.0
    conf = proba.max(axis=1)
    correct_conf = np.sort(conf[proba.argmax(axis=1) == y])
    may_lose = math.floor(max_drop * len(y) + 1e-9)
    if len(correct_conf) == 0:
        return 0.0
    if may_lose >= len(correct_conf):
        return float(correct_conf[-1])
    return float(correct_conf[may_lose])


def oos_metrics(proba: np.ndarray, y_true: np.ndarray, threshold: float) -> dict[str, float]:
    """Metrics on a mix of in-scope rows (label >= 0) and out-of-scope rows (label -1).

    ``in_scope_accuracy``: in-scope rows answered with the right intent (not sent to the fallback);
    ``oos_recall``: out-of-scope rows sent to the fallback; ``fallback_rate``: all rows sent there.
    """
    y = np.asarray(y_true)
    flagged = proba.max(axis=1) < threshold
    pred = proba.argmax(axis=1)
    in_scope, oos = y >= 0, y < 0
    out = {"fallback_rate": float(flagged.mean()) if len(y) else 0.0}
    if in_scope.any():
        out["in_scope_accuracy"] = float(((pred == y) & ~flagged)[in_scope].mean())
    if oos.any():
        out["oos_recall"] = float(flagged[oos].mean())
    return out
