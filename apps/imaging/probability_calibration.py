"""Calibrated probabilities and the operating threshold.

Three calibrators are fitted on the validation split, each a map from the network's logits to
probabilities that keeps the ranking (AUC stays the same):

* temperature scaling (Guo et al. 2017) divides the logits by one scalar: it fixes
  over-confidence but cannot move the point where the classes cross, so a biased model stays biased;
* Platt scaling fits ``sigmoid(a * margin + b)`` on the logit margin: the intercept ``b`` removes a bias;
* isotonic regression fits any increasing map of the margin, with enough validation images to
  fill its steps (:data:`MIN_ISOTONIC`).

The one that gives the lowest ECE out of fold, by stratified cross-validation *within* the
validation split, is refitted on the whole validation split and kept; the test split is never
looked at. Every calibrator is plain numbers saved as JSON (no pickles) and applied with numpy.

The operating threshold is the highest cut on *calibrated* probability that still reaches the
target sensitivity on validation data: in screening a missed case costs more than a false alarm,
so sensitivity is fixed first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

METHODS = ("temperature", "platt", "isotonic")
#: validation images below which isotonic regression is not offered: its steps would follow the noise
MIN_ISOTONIC = 200
CV_FOLDS = 5


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return torch.softmax(torch.as_tensor(logits, dtype=torch.float64) / temperature, dim=1).numpy()


def margin(logits: np.ndarray) -> np.ndarray:
    """The positive-class logit minus the negative one: softmax's positive probability is its sigmoid."""
    z = np.asarray(logits, dtype=np.float64)
    return z[:, 1] - z[:, 0]


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


@dataclass(frozen=True)
class Calibrator:
    """One fitted calibrator: ``method`` and its numbers (``temperature``; Platt's ``a``, ``b``; isotonic's
    ``x``, ``y`` knots on the margin), exactly what ``imaging.json`` stores."""

    method: str = "temperature"
    params: dict[str, Any] = field(default_factory=lambda: {"temperature": 1.0})

    def proba(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (n, 2) from logits (n, 2)."""
        if self.method == "temperature":
            return softmax(logits, float(self.params["temperature"]))
        z = margin(logits)
        if self.method == "platt":
            positive = 1.0 / (1.0 + np.exp(-(float(self.params["a"]) * z + float(self.params["b"]))))
        elif self.method == "isotonic":  # np.interp holds the end values beyond the knots, as sklearn's "clip"
            positive = np.interp(z, np.asarray(self.params["x"], float), np.asarray(self.params["y"], float))
        else:
            raise ValueError(f"unknown calibration method {self.method!r}")
        return np.stack([1.0 - positive, positive], axis=1)

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, **self.params}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibrator:
        params = {k: v for k, v in data.items() if k != "method"}
        if data.get("method") not in METHODS:
            raise ValueError(f"unknown calibration method {data.get('method')!r}")
        return cls(str(data["method"]), params)


def fit_calibrator(method: str, logits: np.ndarray, labels: np.ndarray) -> Calibrator:
    """``method`` fitted on ``logits`` and their ``labels`` (both classes present for Platt and isotonic)."""
    y = np.asarray(labels).astype(int)
    if method == "temperature":
        return Calibrator("temperature", {"temperature": fit_temperature(logits, y)})
    z = margin(logits).reshape(-1, 1)
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e4, max_iter=1000).fit(z, y)  # nearly unpenalised: two parameters, many images
        return Calibrator("platt", {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])})
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(z[:, 0], y)
        return Calibrator("isotonic", {"x": [float(v) for v in iso.X_thresholds_],
                                       "y": [float(v) for v in iso.y_thresholds_]})
    raise ValueError(f"unknown calibration method {method!r}")


def candidate_methods(labels: np.ndarray, n_classes: int = 2) -> list[str]:
    """The methods the data allows: Platt and isotonic are two-class maps, isotonic needs many images."""
    if n_classes != 2 or len(np.unique(labels)) < 2:
        return ["temperature"]
    return [m for m in METHODS if m != "isotonic" or len(labels) >= MIN_ISOTONIC]


def choose_calibration(logits: np.ndarray, labels: np.ndarray, seed: int = 0
                       ) -> tuple[Calibrator, dict[str, float]]:
    """The method with the lowest out-of-fold ECE on these (validation) images, refitted on all of them;
    and every candidate's cross-validated ECE. Ties go to the simpler method (the order of :data:`METHODS`)."""
    from sklearn.model_selection import StratifiedKFold

    from lepton_shared.evaluation import expected_calibration_error

    y = np.asarray(labels).astype(int)
    methods = candidate_methods(y, np.asarray(logits).shape[1])
    folds = min(CV_FOLDS, int(np.bincount(y, minlength=2).min()))
    if len(methods) == 1 or folds < 2:
        return fit_calibrator("temperature", logits, y), {}
    cv_ece: dict[str, float] = {}
    for method in methods:
        oof = np.zeros((len(y), 2))
        for fit_idx, held_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(logits, y):
            oof[held_idx] = fit_calibrator(method, logits[fit_idx], y[fit_idx]).proba(logits[held_idx])
        cv_ece[method] = round(expected_calibration_error(y, oof), 6)
    best = min(methods, key=lambda m: cv_ece[m])
    return fit_calibrator(best, logits, y), cv_ece


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
