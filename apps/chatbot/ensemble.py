"""The intent scorer: the fine-tuned head blended with the neighbour vote and the
TF-IDF model, plus the out-of-scope score, exactly as training chose them.

The three parts make different mistakes (the head sees a smoothed class
boundary, the neighbours the single most similar training message, TF-IDF the
surface words and spellings the encoder's sub-words blur), so a blend of their
probabilities beats each of them. Both weights are chosen on the validation
part of the training file only. With 500 validation messages one message is
0.2 points, so the choice maximises validation accuracy *smoothed over the
neighbouring grid points*: a weight pair that wins by a lucky message or two
next to worse pairs loses to a broad plateau.

Out-of-scope messages are recognised by their maximum cosine similarity to the
training messages (a nearest-neighbour distance): an off-topic message can get
a confident softmax from a head that only knows bank intents, but it is far
from every training message. Old models without stored neighbours fall back to
the top probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from apps.chatbot.neighbours import NeighbourVote

VOTE_WEIGHTS = tuple(round(0.1 * i, 1) for i in range(9))  # 0.0 ... 0.8
TEXT_WEIGHTS = tuple(round(0.05 * i, 2) for i in range(13))  # 0.0 ... 0.6
MIN_HEAD_WEIGHT = 0.1  # the fine-tuned head always keeps a share
SIMILARITY = "max_similarity"  # out-of-scope score: cosine similarity to the nearest training message
PROBABILITY = "max_probability"  # out-of-scope score of older models: the top blended probability


def combine(head: np.ndarray, vote: np.ndarray | None, text: np.ndarray | None, vote_weight: float,
            text_weight: float) -> np.ndarray:
    """``(1 - wv - wt) * head + wv * vote + wt * text`` (a missing part gets weight 0)."""
    wv = vote_weight if vote is not None else 0.0
    wt = text_weight if text is not None else 0.0
    if wv <= 0.0 and wt <= 0.0:
        return head
    out = (1.0 - wv - wt) * head
    if vote is not None and wv > 0.0:
        out = out + wv * vote
    if text is not None and wt > 0.0:
        out = out + wt * text
    return np.asarray(out)


def choose_weights(head: np.ndarray, vote: np.ndarray | None, text: np.ndarray | None,
                   y: np.ndarray) -> tuple[float, float]:
    """(vote weight, text weight) with the best validation accuracy averaged over the neighbouring grid points;
    ties go to the lower log-loss, then to the smaller weights."""
    if len(y) == 0:
        return 0.0, 0.0
    vote_grid = VOTE_WEIGHTS if vote is not None else (0.0,)
    text_grid = TEXT_WEIGHTS if text is not None else (0.0,)
    rows = np.arange(len(y))
    accuracy: dict[tuple[int, int], float] = {}
    log_loss: dict[tuple[int, int], float] = {}
    for i, wv in enumerate(vote_grid):
        for j, wt in enumerate(text_grid):
            if wv + wt > 1.0 - MIN_HEAD_WEIGHT + 1e-9:
                continue
            p = combine(head, vote, text, wv, wt)
            accuracy[i, j] = float((p.argmax(axis=1) == y).mean())
            log_loss[i, j] = float(-np.log(np.clip(p[rows, y], 1e-12, None)).mean())

    def smoothed(cell: tuple[int, int]) -> float:
        near = [accuracy[n] for n in ((cell[0] + a, cell[1] + b) for a in (-1, 0, 1) for b in (-1, 0, 1))
                if n in accuracy]
        return sum(near) / len(near)

    best = min(accuracy, key=lambda c: (-round(smoothed(c), 9), round(log_loss[c], 6), vote_grid[c[0]] +
                                         text_grid[c[1]]))
    return float(vote_grid[best[0]]), float(text_grid[best[1]])


def text_proba(model: Any, texts: list[str], labels: list[str]) -> np.ndarray:
    """The TF-IDF model's probabilities with columns in the intent model's label order."""
    from sklearn import config_context

    column = {name: i for i, name in enumerate(model.classes_)}
    # the model and its inputs were checked when it was fitted; per-call validation is most of a message's cost
    with config_context(assume_finite=True, skip_parameter_validation=True):
        raw = np.asarray(model.predict_proba(texts))
    out = np.zeros((len(texts), len(labels)), dtype=np.float64)
    for k, name in enumerate(labels):
        if name in column:
            out[:, k] = raw[:, column[name]]
    return out


@dataclass
class IntentScorer:
    """Blends the parts and scores out-of-scope messages for the predictor, ``evaluate`` and training."""

    labels: list[str]
    vote: NeighbourVote | None = None
    text_model: Any | None = None
    vote_weight: float = 0.0
    text_weight: float = 0.0
    oos_score: str = PROBABILITY

    def score(self, logits: np.ndarray, embeddings: np.ndarray,
              texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(blended probabilities, out-of-scope scores: low means off-topic) for one batch."""
        from apps.chatbot.model import softmax

        head = softmax(logits)
        vote_proba = similarity = None
        if self.vote is not None:
            vote_proba, similarity = self.vote.analyse(embeddings)
        text = (text_proba(self.text_model, texts, self.labels)
                if self.text_model is not None and self.text_weight > 0 else None)
        proba = combine(head, vote_proba, text, self.vote_weight, self.text_weight)
        if self.oos_score == SIMILARITY and similarity is not None:
            return proba, similarity
        return proba, proba.max(axis=1)

    def config(self) -> dict[str, Any]:
        """What ``intent_config.json`` stores so :meth:`load` rebuilds the same scorer."""
        return {"neighbour_weight": self.vote_weight if self.vote is not None else 0.0,
                "text_weight": self.text_weight if self.text_model is not None else 0.0,
                "oos_score": self.oos_score if self.vote is not None else PROBABILITY}

    @classmethod
    def load(cls, folder: Path, config: dict[str, Any]) -> IntentScorer:
        """The scorer of a model artifact (older artifacts: head alone or head + vote, top-probability score)."""
        from apps.chatbot.baselines import load_baseline

        labels = list(config["labels"])
        vote = NeighbourVote.load(folder, len(labels))
        text_weight = float(config.get("text_weight", 0.0))
        text_model = load_baseline(folder) if text_weight > 0 else None
        return cls(labels=labels, vote=vote, text_model=text_model,
                   vote_weight=float(config.get("neighbour_weight", 0.0)) if vote is not None else 0.0,
                   text_weight=text_weight if text_model is not None else 0.0,
                   oos_score=str(config.get("oos_score", PROBABILITY)))
