"""The registered recommender model (:class:`Artifact`): what a version holds, on disk and in memory.

Its item-to-item scorer is one of the families of :mod:`apps.recommender.models`; the rest is what
serving needs around it. Plain NumPy/SciPy/CSV files (no pickles), so an artifact can be inspected and
loaded without trusting code:

* ``weights.npy`` (dense EASE) or ``weights.npz`` (sparse item-kNN / large EASE),
  ``active.npy`` when only part of the catalogue is modelled;
* ``items.csv``: item id, title, category in column order of the weights;
* ``users.json`` + ``history.npz``: every known user's interactions (all of the
  data plus stored events), used to filter seen items and to score users;
* ``popularity.npy`` and ``trending.npy``: the cold-start rankings;
* ``model.json``: model family, hyperparameters, metrics summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from apps.recommender.models import ItemItemModel


@dataclass
class Artifact:
    """A trained version: the scorer, the catalogue, every known user's history and the cold-start rankings."""

    model: ItemItemModel
    catalogue: pd.DataFrame  # item_id, title, category; row i = column i of the weights
    user_ids: list[str]
    history: sparse.csr_matrix
    popularity: np.ndarray
    trending: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        weights = self.model.weights
        if sparse.issparse(weights):
            sparse.save_npz(folder / "weights.npz", sparse.csr_matrix(weights))
        else:
            np.save(folder / "weights.npy", np.ascontiguousarray(weights, dtype=np.float32))
        if self.model.active is not None:
            np.save(folder / "active.npy", self.model.active)
        self.catalogue.to_csv(folder / "items.csv", index=False)
        (folder / "users.json").write_text(json.dumps(list(self.user_ids)))
        sparse.save_npz(folder / "history.npz", sparse.csr_matrix(self.history, dtype=np.float32))
        np.save(folder / "popularity.npy", self.popularity.astype(np.float32))
        np.save(folder / "trending.npy", self.trending.astype(np.float32))
        (folder / "model.json").write_text(json.dumps(self.info, indent=2, default=str))

    @classmethod
    def load(cls, folder: Path) -> Artifact:
        if (folder / "weights.npy").exists():
            weights: Any = np.load(folder / "weights.npy")
        else:
            weights = sparse.load_npz(folder / "weights.npz").tocsr()
        active = np.load(folder / "active.npy") if (folder / "active.npy").exists() else None
        catalogue = pd.read_csv(folder / "items.csv", dtype=str, keep_default_na=False)
        return cls(
            model=ItemItemModel(weights, active),
            catalogue=catalogue,
            user_ids=json.loads((folder / "users.json").read_text()),
            history=sparse.load_npz(folder / "history.npz").tocsr(),
            popularity=np.load(folder / "popularity.npy"),
            trending=np.load(folder / "trending.npy"),
            info=json.loads((folder / "model.json").read_text()),
        )


def trending_scores(frame: pd.DataFrame, item_ids: np.ndarray, half_life_days: float = 14.0) -> np.ndarray:
    """Interaction counts with recent ones weighing more (half-life in days); plain counts without timestamps."""
    index = pd.Index(item_ids)
    cols = index.get_indexer(frame["item_id"])
    ts = frame["timestamp"].to_numpy(dtype=float)
    if np.isfinite(ts).any():
        newest = np.nanmax(ts)
        age_days = np.where(np.isfinite(ts), (newest - ts) / 86400.0, np.inf)
        weight = np.power(0.5, age_days / half_life_days)
    else:
        weight = np.ones(len(frame))
    return np.bincount(cols[cols >= 0], weights=weight[cols >= 0], minlength=len(index)).astype(np.float32)
