"""A simple baseline the imaging model must beat: logistic regression on raw pixels.

It answers the question a clinician's manager asks first ("is the deep network
worth it?") and gives the suite's home card something to compare against. It
is fitted on the same training split as the network and scored on the same
held-out split, with the same metric names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from apps.imaging.data import Split
from lepton_shared.evaluation import classification_metrics

BASELINE_NAME = "pixel_logistic_regression"


def _flat(split: Split) -> np.ndarray:
    return split.images.reshape(len(split.images), -1).astype(np.float64)


def pixel_baseline(train: Split, held_out: Split, seed: int = 42) -> dict[str, dict[str, Any]]:
    """``{"pixel_logistic_regression": {roc_auc, average_precision, accuracy}}`` on ``held_out``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(train.labels)) < 2 or len(np.unique(held_out.labels)) < 2:
        return {}
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced",
                                                               random_state=seed))
    model.fit(_flat(train), train.labels)
    scores = classification_metrics(held_out.labels, model.predict_proba(_flat(held_out))[:, 1])
    return {BASELINE_NAME: {key: scores[key] for key in ("roc_auc", "average_precision", "accuracy")}}
