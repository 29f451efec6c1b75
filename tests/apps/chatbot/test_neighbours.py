"""The nearest-neighbour vote: per-intent nearest training message, blending, the
validation-chosen weight, save/load, and the predictor's serving thread count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apps.chatbot.neighbours import NeighbourVote, blend, choose_weight, stored_vote


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


def test_blend_and_weight_choice() -> None:
    head = np.array([[0.6, 0.4], [0.6, 0.4], [0.2, 0.8]])
    vote = np.array([[0.9, 0.1], [0.1, 0.9], [0.1, 0.9]])
    assert blend(head, None, 0.5) is head
    np.testing.assert_allclose(blend(head, vote, 0.5)[1], [0.35, 0.65])
    # the head gets row 1 wrong; weights 0.4 and 0.6 fix it, and 0.6 has the lower log-loss
    assert choose_weight(head, vote, np.array([0, 1, 1])) == 0.6
    # when the vote does not help, the head stays alone
    assert choose_weight(head, vote, np.array([0, 0, 1])) == 0.0


def test_save_and_load_give_the_same_answers(tmp_path: Path) -> None:
    vote = _vote()
    vote.save(tmp_path)
    loaded, weight = stored_vote(tmp_path, {"labels": ["a", "b", "c"], "neighbour_weight": 0.4})
    assert loaded is not None and weight == 0.4
    query = np.array([[0.6, 0.8]])
    np.testing.assert_allclose(loaded.proba(query), vote.proba(query), rtol=1e-6)
    assert stored_vote(tmp_path, {"labels": ["a", "b", "c"]}) == (None, 0.0)  # older models: head alone


def test_serving_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.chatbot.predictor import serving_threads

    monkeypatch.delenv("LEPTON_CHATBOT_THREADS", raising=False)
    assert serving_threads() == 1
    monkeypatch.setenv("LEPTON_CHATBOT_THREADS", "2")
    assert serving_threads() == 2
    monkeypatch.setenv("LEPTON_CHATBOT_THREADS", "many")
    assert serving_threads() == 1
