"""A nearest-neighbour vote over the training messages' fine-tuned embeddings.

The linear head and the neighbours make different mistakes: the head sees a
smoothed class boundary, the neighbours see the one training message most like
the new one (useful for rare phrasings of an intent). Their probabilities are
blended with a weight chosen on validation data only (0 = the head alone), so
the vote is used only where it helped on messages the model has not seen.
It costs one (n_train x 384) matrix product per message, with no extra forward pass.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WEIGHTS = (0.0, 0.2, 0.4, 0.6)  # candidate neighbour weights tried on validation data
TEMPERATURE = 0.05  # cosine similarities of fine-tuned embeddings differ by a few hundredths between intents
FILE = "neighbours.npz"


class NeighbourVote:
    """Per intent, the cosine similarity of its nearest training message, softmax-ed over intents."""

    def __init__(self, embeddings: np.ndarray, label_ids: np.ndarray, num_labels: int,
                 temperature: float = TEMPERATURE) -> None:
        ids = np.asarray(label_ids, dtype=np.int64)
        if len(ids) != len(embeddings) or set(ids.tolist()) != set(range(num_labels)):
            raise ValueError("every intent needs at least one training embedding")
        order = np.argsort(ids, kind="stable")
        emb = np.asarray(embeddings, dtype=np.float32)[order]
        emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-9, None)
        self.embeddings = emb.astype(np.float16).astype(np.float32)  # as stored: same answers after loading
        self.label_ids = ids[order]
        self.starts = np.searchsorted(self.label_ids, np.arange(num_labels))
        self.temperature = temperature

    def proba(self, queries: np.ndarray) -> np.ndarray:
        """(rows, intents) probabilities for L2-normalised query embeddings."""
        sims = np.asarray(queries, dtype=np.float32) @ self.embeddings.T
        nearest = np.maximum.reduceat(sims, self.starts, axis=1) / self.temperature
        nearest -= nearest.max(axis=1, keepdims=True)
        e = np.exp(nearest)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def save(self, folder: Path) -> None:
        np.savez_compressed(folder / FILE, embeddings=self.embeddings.astype(np.float16), label_ids=self.label_ids,
                            temperature=np.float32(self.temperature))

    @classmethod
    def load(cls, folder: Path, num_labels: int) -> NeighbourVote | None:
        """The stored vote, or None for a model trained without one."""
        if not (folder / FILE).exists():
            return None
        with np.load(folder / FILE) as data:
            return cls(data["embeddings"].astype(np.float32), data["label_ids"], num_labels,
                       float(data["temperature"]))


def blend(head_proba: np.ndarray, vote_proba: np.ndarray | None, weight: float) -> np.ndarray:
    """(1 - weight) * head + weight * neighbours (the head alone without a vote)."""
    if vote_proba is None or weight <= 0.0:
        return head_proba
    return (1.0 - weight) * head_proba + weight * vote_proba


def choose_weight(head_proba: np.ndarray, vote_proba: np.ndarray, y: np.ndarray,
                  weights: tuple[float, ...] = WEIGHTS) -> float:
    """The weight with the best validation accuracy; ties go to the lower log-loss, then the smaller weight."""
    if len(y) == 0:
        return 0.0
    rows = np.arange(len(y))

    def key(w: float) -> tuple[float, float, float]:
        p = blend(head_proba, vote_proba, w)
        accuracy = float((p.argmax(axis=1) == y).mean())
        log_loss = float(-np.log(np.clip(p[rows, y], 1e-12, None)).mean())
        return (-accuracy, round(log_loss, 6), w)

    return min(weights, key=key)


def stored_vote(folder: Path, config: dict[str, object]) -> tuple[NeighbourVote | None, float]:
    """(vote, weight) of a model artifact; (None, 0.0) for models trained without a vote."""
    weight = float(config.get("neighbour_weight", 0.0))  # type: ignore[arg-type]
    labels = config.get("labels", [])
    vote = NeighbourVote.load(folder, len(labels)) if weight > 0 and isinstance(labels, list) else None
    return vote, weight if vote is not None else 0.0
