"""The baseline the intent model must beat: TF-IDF word and character n-grams with
logistic regression, fitted on the same training rows.

It is what a team would build first without a neural encoder, so it tells a
business user (and the suite's home card) what the fine-tuned model adds. It is
saved beside the model so ``evaluate`` can score it on any evaluation file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from apps.chatbot.data import OOS_LABEL
from lepton_shared.errors import UserError

BASELINE_NAME = "tfidf_logistic_regression"
BASELINE_FILE = "baseline.npz"
BASELINE_META = "baseline.json"
LEGACY_FILE = "baseline.joblib"
#: what rebuilds a fitted TfidfVectorizer besides its vocabulary and idf (all JSON values)
_VECTORIZER_PARAMS = ("analyzer", "ngram_range", "lowercase", "strip_accents", "token_pattern", "sublinear_tf",
                      "norm", "use_idf", "smooth_idf", "binary", "min_df", "max_df")


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
    """Arrays and JSON, not a pickle: the baseline is part of the served ensemble, and loading a pickle from the
    model store would let whoever can write there run code in the service. Compressed, with the float32 weights
    of ``fit_baseline``; the file's size is part of every model version's size."""
    union, classifier = pipeline[0], pipeline[-1]
    arrays: dict[str, Any] = {"coef": classifier.coef_, "intercept": classifier.intercept_}
    params: list[dict[str, Any]] = []
    for i, (_, vectorizer) in enumerate(union.transformer_list):
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        arrays[f"terms{i}"] = np.asarray(terms, dtype=str)
        arrays[f"idf{i}"] = vectorizer.idf_
        params.append({key: getattr(vectorizer, key) for key in _VECTORIZER_PARAMS})
    np.savez_compressed(folder / BASELINE_FILE, **arrays)
    (folder / BASELINE_META).write_text(json.dumps({"vectorizers": params,
                                                    "classes": np.asarray(classifier.classes_).tolist()}))


def load_baseline(folder: Path) -> Any | None:
    """The stored baseline (no pickle is loaded), or None for model versions saved before it existed."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    path, meta_path = folder / BASELINE_FILE, folder / BASELINE_META
    if (folder / LEGACY_FILE).exists() and not path.exists():
        raise UserError(f"{folder.name} keeps its TF-IDF baseline as a pickle ({LEGACY_FILE}), which the suite no "
                        "longer loads (a pickle can run code): retrain it with `lepton chatbot train`")
    if not path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    vectorizers = []
    with np.load(path, allow_pickle=False) as saved:
        for i, params in enumerate(meta["vectorizers"]):
            terms = saved[f"terms{i}"].tolist()
            vectorizer = TfidfVectorizer(**{**params, "ngram_range": tuple(params["ngram_range"])},
                                         vocabulary={term: j for j, term in enumerate(terms)})
            vectorizer.idf_ = saved[f"idf{i}"]
            vectorizers.append(vectorizer)
        classifier = LogisticRegression()
        classifier.coef_, classifier.intercept_ = saved["coef"], saved["intercept"]
    classifier.classes_ = np.asarray(meta["classes"])
    classifier.n_features_in_ = classifier.coef_.shape[1]
    return make_pipeline(make_union(*vectorizers), classifier)
