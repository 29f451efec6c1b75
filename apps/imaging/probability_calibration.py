"""Calibrated probabilities and the operating threshold.

Temperature scaling (Guo et al. 2017) divides the logits by one scalar fitted
on validation data, which fixes over-confidence without changing the ranking
(AUC stays the same). The operating threshold is the highest probability cut
that still reaches the target sensitivity on validation data: in screening a
missed case costs more than a false alarm, so sensitivity is fixed first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return torch.softmax(torch.as_tensor(logits, dtype=torch.float64) / temperature, dim=1).numpy()


def fit_temperature(logits: np.ndarray, labels: np.ndarray, max_iter: int = 200) -> float:
    """The temperature T > 0 minimising the negative log-likelihood of softmax(logits / T)."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    if len(y) == 0:
        return 1.0
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # T = exp(log_t) stays positive
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    t = float(log_t.detach().exp())
    return float(np.clip(t, 0.05, 20.0)) if np.isfinite(t) else 1.0


def threshold_for_sensitivity(labels: np.ndarray, positive_proba: np.ndarray, target: float = 0.95) -> float:
    """Highest cut whose sensitivity (recall of class 1) is at least ``target``."""
    y = np.asarray(labels).astype(int)
    p = np.asarray(positive_proba, dtype=float)
    positives = np.sort(p[y == 1])
    if len(positives) == 0:
        return 0.5
    # Predicting positive when p >= cut: keep at least ceil(target * n) positives above the cut.
    need = int(np.ceil(target * len(positives)))
    cut = positives[len(positives) - need] if need > 0 else 1.0
    return float(np.clip(cut, 1e-6, 1.0))


def operating_point(labels: np.ndarray, positive_proba: np.ndarray, threshold: float) -> dict[str, Any]:
    """Sensitivity, specificity and accuracy when predicting positive at ``p >= threshold``."""
    y = np.asarray(labels).astype(int)
    pred = (np.asarray(positive_proba) >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    return {
        "sensitivity": tp / max(1, tp + fn),
        "specificity": tn / max(1, tn + fp),
        "accuracy": (tp + tn) / max(1, len(y)),
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }
