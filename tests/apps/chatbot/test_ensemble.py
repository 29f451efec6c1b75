"""The blend of head, neighbour vote and TF-IDF model, its validation-chosen weights, the
out-of-scope similarity score, and the scorer stored with a model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apps.chatbot.ensemble import PROBABILITY, SIMILARITY, IntentScorer, choose_weights, combine, text_proba
from apps.chatbot.neighbours import NeighbourVote
from apps.chatbot.oos import choose_score_threshold, oos_metrics


def test_combine_weights_the_parts_and_skips_missing_ones() -> None:
    head, vote, text = np.array([[0.6, 0.4]]), np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])
    np.testing.assert_allclose(combine(head, vote, text, 0.5, 0.25), [[0.4, 0.6]])
    assert combine(head, None, None, 0.5, 0.5) is head
    np.testing.assert_allclose(combine(head, None, text, 0.5, 0.5), [[0.8, 0.2]])  # missing vote: weight 0


def test_weights_follow_the_part_that_helps_on_validation() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    head = np.full((200, 3), 1 / 3) + rng.normal(0, 0.01, (200, 3))  # uninformative
    text = np.eye(3)[y] * 0.5 + 0.5 / 3  # right on every row
    vote = np.eye(3)[(y + 1) % 3]  # wrong on every row
    vote_weight, text_weight = choose_weights(head, vote, text, y)
    assert vote_weight == 0.0 and text_weight > 0.0
    assert choose_weights(head, None, None, y) == (0.0, 0.0)
    assert choose_weights(head, vote, text, y[:0]) == (0.0, 0.0)


def test_smoothing_prefers_a_plateau_to_a_lucky_single_point() -> None:
    # head right on rows 0-7; text right on 0-3 and 8-9: only a few weight pairs get 10/10 by luck
    y = np.zeros(10, dtype=int)
    head = np.tile([0.6, 0.4], (10, 1))
    head[8:] = [0.45, 0.55]
    text = np.tile([0.9, 0.1], (10, 1))
    text[4:8] = [0.2, 0.8]
    _, text_weight = choose_weights(head, None, text, y)
    p = combine(head, None, text, 0.0, text_weight)
    assert (p.argmax(axis=1) == y).mean() >= 0.8


class _Words:
    """A stand-in TF-IDF model with predict_proba and classes_ in another order than the labels."""

    classes_ = np.array(["b", "a"])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([[0.9, 0.1] if "bee" in t else [0.2, 0.8] for t in texts])


def test_text_proba_follows_the_label_order() -> None:
    np.testing.assert_allclose(text_proba(_Words(), ["a bee", "x"], ["a", "b", "c"]),
                               [[0.1, 0.9, 0.0], [0.8, 0.2, 0.0]])


def test_similarity_flags_messages_far_from_every_training_message(tmp_path: Path) -> None:
    vote = NeighbourVote(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), np.array([0, 1]), num_labels=2)
    scorer = IntentScorer(labels=["a", "b"], vote=vote, text_model=_Words(), vote_weight=0.2, text_weight=0.3,
                          oos_score=SIMILARITY)
    emb = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # a training message, and one far from both
    logits = np.array([[3.0, 0.0], [5.0, 0.0]])  # the head is confident on both
    proba, scores = scorer.score(logits, emb, ["q", "off topic"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(scores, [1.0, 0.0], atol=1e-3)
    threshold = choose_score_threshold(np.array([0.9, 0.8, 0.95, 0.7]), max_reject=0.25, confidence=None)
    assert threshold == 0.8  # one of four in-scope rows may be flagged
    m = oos_metrics(proba, np.array([0, -1]), threshold, scores)
    assert m["oos_recall"] == 1.0 and m["in_scope_accuracy"] == 1.0
    assert oos_metrics(proba, np.array([0, -1]), 0.5)["oos_recall"] == 0.0  # top probability misses it
    # stored and loaded: same answers; without the TF-IDF file its weight falls back to 0
    vote.save(tmp_path)
    loaded = IntentScorer.load(tmp_path, {"labels": ["a", "b"], **scorer.config()})
    assert loaded.oos_score == SIMILARITY and loaded.vote_weight == 0.2 and loaded.text_weight == 0.0
    old = IntentScorer.load(tmp_path / "missing", {"labels": ["a", "b"]})
    assert old.vote is None and old.oos_score == PROBABILITY
    _, old_scores = old.score(logits, emb, ["q", "off topic"])
    assert old_scores[1] == pytest.approx(float(np.exp(5) / (np.exp(5) + 1)))
