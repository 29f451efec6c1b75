"""FAQ retrieval: best match by cosine similarity, a score threshold, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from apps.chatbot.faq import FaqIndex


def _index(threshold: float = 0.8) -> FaqIndex:
    emb = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return FaqIndex(["Opening hours?", "Card abroad?", "Fees?"], ["9-5", "Yes", "None"], emb * 3.0, threshold)


def test_best_match_by_cosine_similarity() -> None:
    index = _index()
    match = index.best(np.array([0.1, 2.0, 0.1]))
    assert match is not None and match.answer == "Yes"
    assert 0.99 < match.score <= 1.0  # embeddings are normalised, so scale does not matter


def test_threshold_rejects_distant_questions() -> None:
    index = _index(threshold=0.8)
    assert index.answer(np.array([1.0, 1.0, 1.0])) is None  # cosine 0.577 to every question
    assert index.answer(np.array([1.0, 0.1, 0.0])) is not None


def test_empty_faq_and_roundtrip(tmp_path: Path) -> None:
    assert FaqIndex.load(tmp_path).best(np.ones(3)) is None
    _index().save(tmp_path)
    loaded = FaqIndex.load(tmp_path, threshold=0.5)
    assert loaded.questions == ["Opening hours?", "Card abroad?", "Fees?"] and loaded.threshold == 0.5
    match = loaded.answer(np.array([0.0, 0.0, 1.0]))
    assert match is not None and match.answer == "None"
