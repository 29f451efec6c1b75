"""Answering requests from a loaded artifact: users, anonymous sessions, similar items.

Scores are ``history @ W`` (see :mod:`apps.recommender.models`), so:

* a known user is scored from their stored history, seen items removed;
* an anonymous session is scored the same way from the items it touched, with
  no retraining;
* a user or session with no known items gets trending items (popularity with
  recent interactions weighing more), within the asked category if any;
* each recommendation names the history items that contributed most to its
  score ("because you liked X").

Ties (e.g. items no history item points to) are broken by trending, so a
list is always full when enough items exist. Everything here is pure and
deterministic: the same request gives the same answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from apps.recommender.model import Artifact
from lepton_shared.errors import NotFoundError, UserError

TIE_BREAK = 1e-6
MAX_REASONS = 2


class Engine:
    def __init__(self, artifact: Artifact, version: str) -> None:
        self.artifact = artifact
        self.version = version
        self.model = artifact.model
        cat = artifact.catalogue
        self.item_ids = cat["item_id"].to_numpy(dtype=object)
        self.titles = cat["title"].to_numpy(dtype=object)
        self.categories = cat["category"].to_numpy(dtype=object)
        self.item_index = {str(item): i for i, item in enumerate(self.item_ids)}
        self.user_index = {str(u): i for i, u in enumerate(artifact.user_ids)}
        self.category_names = sorted(set(self.categories))
        self._category_masks = {c: self.categories == c for c in self.category_names}
        trending = artifact.trending.astype(np.float64)
        self._tie = (TIE_BREAK * trending / max(float(trending.max(initial=0.0)), 1e-12)).astype(np.float32)
        self._trending = trending.astype(np.float32)

    # ------------------------------------------------------------------ lookups
    def item(self, idx: int) -> dict[str, Any]:
        return {"item_id": str(self.item_ids[idx]), "title": str(self.titles[idx]),
                "category": str(self.categories[idx])}

    def item_position(self, item_id: str) -> int:
        idx = self.item_index.get(str(item_id))
        if idx is None:
            raise NotFoundError(f"unknown item {item_id!r}: it is not in the catalogue of model {self.version}")
        return idx

    def user_history(self, user_id: str) -> np.ndarray:
        """Item positions the user interacted with (empty for an unknown user)."""
        row = self.user_index.get(str(user_id))
        if row is None:
            return np.zeros(0, dtype=np.int64)
        h = self.artifact.history
        return np.asarray(h.indices[h.indptr[row]:h.indptr[row + 1]], dtype=np.int64)

    def _category_mask(self, category: str | None) -> np.ndarray | None:
        if category is None or category == "":
            return None
        mask = self._category_masks.get(category)
        if mask is None:
            raise UserError(f"unknown category {category!r}; known: {', '.join(self.category_names)}")
        return mask

    # ------------------------------------------------------------------ scoring
    def _scores(self, history: np.ndarray) -> np.ndarray:
        w = self.model.weights
        if len(history) == 0:
            return np.zeros(len(self.item_ids), dtype=np.float32)
        return np.asarray(w[history].sum(axis=0), dtype=np.float32).ravel()  # dense or sparse rows

    def rank(self, history: np.ndarray, k: int, category: str | None = None,
             exclude: np.ndarray | None = None) -> dict[str, Any]:
        """Top ``k`` for a history of item positions: personalised, or trending when the history is empty."""
        mask = self._category_mask(category)
        cold = len(history) == 0
        scores = self._trending.copy() if cold else self._scores(history) + self._tie
        if self.model.active is not None and not cold:
            scores[~self.model.active] = -np.inf
        if len(history):
            scores[history] = -np.inf
        if exclude is not None and len(exclude):
            scores[exclude] = -np.inf
        if mask is not None:
            scores[~mask] = -np.inf
        n = int(min(k, np.isfinite(scores).sum()))
        if n == 0:
            top = np.zeros(0, dtype=np.int64)
        else:
            top = np.argpartition(-scores, n - 1)[:n]
            top = top[np.lexsort((top, -scores[top]))]
        items = []
        for j in top:
            entry = self.item(int(j))
            entry["score"] = round(float(scores[j]), 6)
            if cold:
                entry["because"] = []
                entry["reason"] = f"popular in {category} right now" if category else "popular right now"
            else:
                entry["because"], entry["reason"] = self._explain(history, int(j))
            items.append(entry)
        return {"items": items, "strategy": "cold_start" if cold else "personalised",
                "category": category or None, "model_version": self.version}

    def _explain(self, history: np.ndarray, item: int) -> tuple[list[dict[str, Any]], str]:
        contrib = self.model.contributions(history, item)
        order = np.argsort(-contrib, kind="stable")[:MAX_REASONS]
        because = [{**self.item(int(history[o])), "weight": round(float(contrib[o]), 6)}
                   for o in order if contrib[o] > 0]
        if not because:
            return [], "popular with shoppers like you"
        names = " and ".join(f"“{b['title']}”" for b in because)
        return because, f"because you liked {names}"

    # ------------------------------------------------------------------ requests
    def for_user(self, user_id: str, k: int = 10, category: str | None = None) -> dict[str, Any]:
        history = self.user_history(user_id)
        out = self.rank(history, k, category)
        return {"user_id": str(user_id), "known_user": str(user_id) in self.user_index, **out}

    def for_session(self, item_ids: list[str], k: int = 10, category: str | None = None) -> dict[str, Any]:
        """Recommendations for an anonymous session from the items it touched (unknown ones are reported)."""
        known = [self.item_index[str(i)] for i in item_ids if str(i) in self.item_index]
        unknown = [str(i) for i in item_ids if str(i) not in self.item_index]
        history = np.unique(np.asarray(known, dtype=np.int64))
        return {**self.rank(history, k, category), "unknown_items": unknown}

    def similar(self, item_id: str, k: int = 10, category: str | None = None) -> dict[str, Any]:
        idx = self.item_position(item_id)
        mask = self._category_mask(category)
        ids, vals = self.model.similar(idx, len(self.item_ids))
        keep = [(int(i), float(v)) for i, v in zip(ids, vals, strict=True) if mask is None or mask[i]][:k]
        return {"item": self.item(idx),
                "similar": [{**self.item(i), "score": round(v, 6)} for i, v in keep],
                "model_version": self.version}

    def history_of(self, user_id: str) -> list[dict[str, Any]]:
        return [self.item(int(i)) for i in self.user_history(user_id)]
