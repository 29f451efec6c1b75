"""FAQ answers by embedding similarity.

Questions are embedded once with the model's own sentence encoder (so answering
costs no extra forward pass), and a message gets the answer of the most similar
question when the cosine similarity reaches the score threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_FAQ_THRESHOLD = 0.8


@dataclass(frozen=True)
class FaqMatch:
    question: str
    answer: str
    score: float


class FaqIndex:
    """Question/answer pairs with their L2-normalised embeddings."""

    def __init__(self, questions: list[str], answers: list[str], embeddings: np.ndarray,
                 threshold: float = DEFAULT_FAQ_THRESHOLD) -> None:
        if len(questions) != len(answers) or len(questions) != len(embeddings):
            raise ValueError("questions, answers and embeddings must have the same length")
        self.questions, self.answers, self.threshold = questions, answers, threshold
        emb = np.asarray(embeddings, dtype=np.float32)
        emb = emb.reshape(len(questions), -1) if len(questions) else np.zeros((0, 1), dtype=np.float32)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        self.embeddings = emb / np.clip(norms, 1e-9, None)

    def __len__(self) -> int:
        return len(self.questions)

    def best(self, embedding: np.ndarray) -> FaqMatch | None:
        """The most similar question, whatever its score (None for an empty FAQ)."""
        if not self.questions:
            return None
        query = np.asarray(embedding, dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-9)
        scores = self.embeddings @ query
        i = int(scores.argmax())
        return FaqMatch(self.questions[i], self.answers[i], float(scores[i]))

    def answer(self, embedding: np.ndarray) -> FaqMatch | None:
        """The best match when its score reaches the threshold, else None."""
        match = self.best(embedding)
        return match if match is not None and match.score >= self.threshold else None

    def save(self, folder: Path) -> None:
        pd.DataFrame({"question": self.questions, "answer": self.answers}).to_csv(folder / "faq.csv", index=False)
        np.save(folder / "faq_embeddings.npy", self.embeddings)

    @classmethod
    def load(cls, folder: Path, threshold: float = DEFAULT_FAQ_THRESHOLD) -> FaqIndex:
        if not (folder / "faq.csv").exists():
            return cls([], [], np.zeros((0, 1), dtype=np.float32), threshold)
        frame = pd.read_csv(folder / "faq.csv", dtype=str, keep_default_na=False)
        return cls(list(frame["question"]), list(frame["answer"]), np.load(folder / "faq_embeddings.npy"),
                   threshold)
