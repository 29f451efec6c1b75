"""The baseline the intent model must beat: TF-IDF word and character n-grams with
logistic regression, fitted on the same training rows.

It is what a team would build first without a neural encoder, so it tells a
business user (and the suite's home card) what the fine-tuned model adds. It is
saved beside the model so ``evaluate`` can score it on any evaluation file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apps.chatbot.data import OOS_LABEL

BASELINE_NAME = "tfidf_logistic_regression"
BASELINE_FILE = "baseline.joblib"


def fit_baseline(train: pd.DataFrame, seed: int = 42) -> Any:
    """A scikit-learn pipeline fitted on the in-scope rows of ``train`` (columns text, label)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    rows = train[train["label"] != OOS_LABEL]
    features = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                          TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))
    pipeline = make_pipeline(features, LogisticRegression(C=10.0, max_iter=2000, random_state=seed))
    pipeline.fit(rows["text"].tolist(), rows["label"].to_numpy())
    classifier = pipeline[-1]  # float32 weights: half the bytes on disk, probabilities equal to 4e-8
    classifier.coef_ = np.asarray(classifier.coef_, dtype=np.float32)
    classifier.intercept_ = np.asarray(classifier.intercept_, dtype=np.float32)
    return pipeline


def baseline_metrics(pipeline: Any, frame: pd.DataFrame) -> dict[str, float]:
    """``accuracy`` and ``f1_macro`` on the in-scope rows of ``frame`` (the model's metrics use the same rows)."""
    from sklearn.metrics import accuracy_score, f1_score

    rows = frame[frame["label"] != OOS_LABEL]
    if rows.empty:
        return {}
    truth = rows["label"].to_numpy()
    predicted = np.asarray(pipeline.predict(rows["text"].tolist()))
    return {"accuracy": float(accuracy_score(truth, predicted)),
            "f1_macro": float(f1_score(truth, predicted, average="macro", zero_division=0))}


def save_baseline(pipeline: Any, folder: Path) -> None:
    """Compressed, with the float32 weights of ``fit_baseline``: 9.5 MB instead of 23.6 MB on BANKING77
    (77 intents x 37k n-grams). The baseline is part of the served ensemble, so its size is part of every
    model version's size."""
    import joblib

    joblib.dump(pipeline, folder / BASELINE_FILE, compress=3)


def load_baseline(folder: Path) -> Any | None:
    """The stored baseline, or None for model versions saved before it existed."""
    path = folder / BASELINE_FILE
    if not path.exists():
        return None
    import joblib

    return joblib.load(path)
