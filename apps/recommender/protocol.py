"""The fixed evaluation protocol and hyperparameter tuning.

Protocol: every interaction counts as a positive; one random 80/20
split of the interactions with seed 42 (``implicit.evaluation.train_test_split``);
items seen in training are filtered; K = 10. Tuning only ever looks at a
validation split carved from the 80 % part, never at the 20 % test part.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from implicit.recommender_base import RecommenderBase
from scipy import sparse
from tqdm import tqdm

from apps.recommender.models import BASELINES, EASE, fit_model, knn_model, make_baseline, quiet_implicit
from lepton_shared.errors import UserError
from lepton_shared.evaluation import ranking_metrics

SPLIT_SEED = 42
TRAIN_PERCENTAGE = 0.8
K = 10


@dataclass
class Encoded:
    """Interactions as a users x items CSR of ones, with the id of every row and column."""

    matrix: sparse.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray


def encode(frame: pd.DataFrame, user_ids: Iterable[str] | None = None,
           item_ids: Iterable[str] | None = None) -> Encoded:
    """Binary matrix of ``frame``; ids listed first keep their positions, new ones are appended in order."""
    users = _extend(list(user_ids) if user_ids is not None else [], frame["user_id"])
    items = _extend(list(item_ids) if item_ids is not None else [], frame["item_id"])
    rows = users.get_indexer(pd.Index(frame["user_id"]))
    cols = items.get_indexer(pd.Index(frame["item_id"]))
    data = np.ones(len(frame), dtype=np.float32)
    matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(users), len(items)), dtype=np.float32)
    matrix.data[:] = 1.0  # duplicates were summed: every interaction is one positive
    return Encoded(matrix, np.asarray(users, dtype=object), np.asarray(items, dtype=object))


def _extend(known: list[Any], values: pd.Series) -> pd.Index:
    seen = set(known)
    return pd.Index(known + [v for v in pd.unique(values) if v not in seen])


def split(matrix: sparse.csr_matrix, seed: int = SPLIT_SEED,
          train_percentage: float = TRAIN_PERCENTAGE) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """The protocol's random split of interactions (``implicit.evaluation.train_test_split``)."""
    from implicit.evaluation import train_test_split

    if matrix.nnz < 5:
        raise UserError(f"only {matrix.nnz} interactions: the 80/20 protocol needs at least 5")
    with quiet_implicit():
        train, test = train_test_split(sparse.coo_matrix(matrix), train_percentage=train_percentage,
                                       random_state=seed)
    return sparse.csr_matrix(train, dtype=np.float32), sparse.csr_matrix(test, dtype=np.float32)


def score(model: RecommenderBase, train: sparse.csr_matrix, test: sparse.csr_matrix, k: int = K) -> dict[str, float]:
    """precision/map/ndcg/auc at k with ``implicit``'s ranking metrics (training items filtered)."""
    if test.nnz == 0:
        raise UserError("the held-out part has no interactions; the data set is too small to evaluate")
    if train.shape[1] < k:  # implicit reads k ids per user: fewer items would give wrong numbers
        raise UserError(f"only {train.shape[1]} items: ranking metrics at {k} need at least {k} items")
    with quiet_implicit():
        return ranking_metrics(model, train, test, k=k)


# --------------------------------------------------------------------------- tuning
def candidate_grid(n_items: int, nnz: int, tiny: bool, epochs: int) -> dict[str, list[dict[str, Any]]]:
    """Hyperparameters to try per family; small on purpose (each is fitted once on the fit part).

    EASE's λ scales with the data: a good λ is of the order of the mean item
    count, so the grid is relative to it. ``epochs`` sets ALS sweeps (BPR
    runs 8x as many of its cheaper SGD epochs).
    """
    mean_count = max(1.0, nnz / max(1, n_items))
    lambdas = sorted({round(mean_count * f, 1) for f in ((0.5, 2.0, 8.0) if tiny else (0.5, 1, 2, 4, 8))})
    als_factors = (16,) if tiny else (16, 32, 64)
    grid: dict[str, list[dict[str, Any]]] = {
        "ease": [{"l2": float(lam)} for lam in lambdas],
        "item_knn_bm25": [{"k": k, "k1": 1.2, "b": 0.75} for k in ((20, 100) if tiny else (100, 200, 400))],
        "popularity": [{}],
        "als": [{"factors": f, "regularization": r, "alpha": 1.0, "iterations": epochs}
                for f in als_factors for r in (0.05,)],
        "bpr": [{"factors": f, "learning_rate": lr, "regularization": 0.01, "iterations": epochs * 8}
                for f in ((16,) if tiny else (64,)) for lr in ((0.05,) if tiny else (0.01, 0.05))],
    }
    return grid


def build(family: str, params: dict[str, Any], seed: int, device: str) -> RecommenderBase:
    if family == "ease":
        return EASE(l2=params["l2"], max_items=params.get("max_items", 12_000), device=device)
    if family == "item_knn_cosine":
        return knn_model("cosine", params.get("k", 100))
    return make_baseline(family, params, seed=seed, device=device)


@dataclass
class Trial:
    family: str
    params: dict[str, Any]
    metrics: dict[str, float]
    seconds: float


def tune(train: sparse.csr_matrix, grid: dict[str, list[dict[str, Any]]], seed: int, device: str,
         show_progress: bool = True) -> list[Trial]:
    """Fit every candidate on the fit part of ``train`` and score it on the validation part."""
    import time

    fit_part, val_part = split(train, seed=seed + 1)
    trials = []
    jobs = [(family, params) for family, options in grid.items() for params in options]
    for family, params in tqdm(jobs, desc="tuning on validation", unit="model", file=sys.stderr,
                               disable=not show_progress):
        start = time.perf_counter()
        model = fit_model(build(family, params, seed, device), fit_part)
        metrics = score(model, fit_part, val_part)
        trials.append(Trial(family, params, metrics, time.perf_counter() - start))
    return trials


def best_of(trials: list[Trial], families: Iterable[str]) -> dict[str, Trial]:
    """The best trial per family by validation NDCG@10."""
    out: dict[str, Trial] = {}
    for trial in trials:
        if trial.family in families and (trial.family not in out or
                                          trial.metrics["ndcg_at_10"] > out[trial.family].metrics["ndcg_at_10"]):
            out[trial.family] = trial
    return out


def baseline_metrics(train: sparse.csr_matrix, test: sparse.csr_matrix, params: dict[str, dict[str, Any]],
                     seed: int, device: str, show_progress: bool = True) -> dict[str, dict[str, float]]:
    """The protocol's baselines fitted on ``train`` (with their tuned params) and scored on ``test``."""
    out = {}
    for name in tqdm(BASELINES, desc="baselines", unit="model", file=sys.stderr, disable=not show_progress):
        model = fit_model(make_baseline(name, params.get(name, {}), seed=seed, device=device), train)
        out[name] = score(model, train, test)
    return out


def relative_gain(model_ndcg: float, baselines: dict[str, dict[str, float]]) -> tuple[str, float]:
    """The strongest baseline by NDCG@10 and the model's relative gain over it."""
    name, best = max(((n, m["ndcg_at_10"]) for n, m in baselines.items()), key=lambda kv: kv[1])
    return name, (model_ndcg / best - 1.0) if best > 0 else float("inf")
