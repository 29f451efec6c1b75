"""A nearest-neighbour vote over the training messages' fine-tuned embeddings.

The linear head and the neighbours make different mistakes: the head sees a
smoothed class boundary, the neighbours see the one training message most like
the new one (useful for rare phrasings of an intent). ``ensemble.py`` blends
their probabilities with a weight chosen on validation data only (0 = the head
alone), so the vote is used only where it helped on messages the model has not
seen. The same matrix product gives the similarity to the nearest training
message, the out-of-scope score. It costs one (n_train x 384) matrix product
per message, with no extra forward pass.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
        return self.analyse(queries)[0]

    def analyse(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows x intents probabilities, each row's cosine similarity to its nearest training message),
        from one matrix product; the similarity is the out-of-scope score (low: far from every intent)."""
        sims = np.asarray(queries, dtype=np.float32) @ self.embeddings.T
        nearest = np.maximum.reduceat(sims, self.starts, axis=1)
        best = nearest.max(axis=1)
        z = (nearest - best[:, None]) / self.temperature
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True)), np.asarray(best, dtype=np.float64)

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
