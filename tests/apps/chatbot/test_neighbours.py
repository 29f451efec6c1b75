"""The nearest-neighbour vote: per-intent nearest training message, the similarity to the
nearest one, save/load, and the predictor's serving thread count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apps.chatbot.neighbours import NeighbourVote


def _vote() -> NeighbourVote:
    emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    return NeighbourVote(emb, np.array([0, 0, 1, 2]), num_labels=3)


def test_vote_prefers_the_intent_of_the_nearest_message() -> None:
    proba = _vote().proba(np.array([[0.98, 0.2], [0.1, 0.99], [-0.99, 0.1]]))
    assert proba.argmax(axis=1).tolist() == [0, 1, 2]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_every_intent_needs_a_training_message() -> None:
    with pytest.raises(ValueError, match="every intent"):
        NeighbourVote(np.eye(2), np.array([0, 0]), num_labels=2)


def test_save_and_load_give_the_same_answers(tmp_path: Path) -> None:
    vote = _vote()
    vote.save(tmp_path)
    loaded = NeighbourVote.load(tmp_path, 3)
    assert loaded is not None
    query = np.array([[0.6, 0.8]])
    np.testing.assert_allclose(loaded.proba(query), vote.proba(query), rtol=1e-6)
    np.testing.assert_allclose(loaded.analyse(query)[1], [0.8], rtol=1e-3)  # nearest: the message (0, 1)
    assert NeighbourVote.load(tmp_path / "missing", 3) is None  # older models


def test_serving_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.chatbot.predictor import serving_threads

    monkeypatch.delenv("LEPTON_CHATBOT_THREADS", raising=False)
    assert serving_threads() == 1
    monkeypatch.setenv("LEPTON_CHATBOT_THREADS", "2")
    assert serving_threads() == 2
    monkeypatch.setenv("LEPTON_CHATBOT_THREADS", "many")
    assert serving_threads() == 1
