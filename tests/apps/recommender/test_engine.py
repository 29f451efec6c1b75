"""Serving behaviour on a tiny trained model: seen-item filtering, cold start, sessions,
similar items, explanations, category filters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lepton_shared.errors import NotFoundError, UserError


@pytest.fixture(scope="module")
def engine(trained_home: Path):  # type: ignore[no-untyped-def]
    from apps.recommender.app import APP

    return APP.load_predictor().engine


def _heavy_user(engine) -> str:  # type: ignore[no-untyped-def]
    sizes = np.diff(engine.artifact.history.indptr)
    return str(engine.artifact.user_ids[int(np.argmax(sizes))])


def test_seen_items_are_filtered(engine) -> None:  # type: ignore[no-untyped-def]
    user = _heavy_user(engine)
    seen = {i["item_id"] for i in engine.history_of(user)}
    assert len(seen) >= 10
    out = engine.for_user(user, k=30)
    assert out["strategy"] == "personalised" and out["known_user"]
    recommended = [i["item_id"] for i in out["items"]]
    assert len(recommended) == 30 and len(set(recommended)) == 30
    assert not seen & set(recommended)
    scores = [i["score"] for i in out["items"]]
    assert scores == sorted(scores, reverse=True)


def test_unknown_user_gets_trending_items(engine) -> None:  # type: ignore[no-untyped-def]
    out = engine.for_user("someone-new", k=5)
    assert out["strategy"] == "cold_start" and not out["known_user"]
    trending_top = np.argsort(-engine.artifact.trending, kind="stable")[:5]
    assert [i["item_id"] for i in out["items"]] == [str(engine.item_ids[j]) for j in trending_top]
    assert all(i["reason"] == "popular right now" and i["because"] == [] for i in out["items"])


def test_category_filter_applies_to_users_and_cold_start(engine) -> None:  # type: ignore[no-untyped-def]
    category = engine.category_names[0]
    for out in (engine.for_user(_heavy_user(engine), 5, category), engine.for_user("nobody", 5, category)):
        assert out["items"] and all(i["category"] == category for i in out["items"])
    assert "popular in" in engine.for_user("nobody", 3, category)["items"][0]["reason"]
    with pytest.raises(UserError, match="unknown category"):
        engine.for_user("nobody", 3, "no-such-category")


def test_session_recommendations_without_retraining(engine) -> None:  # type: ignore[no-untyped-def]
    user = _heavy_user(engine)
    history = [i["item_id"] for i in engine.history_of(user)]
    session = engine.for_session([*history, "not-an-item"], k=10)
    as_user = engine.for_user(user, k=10)
    assert session["unknown_items"] == ["not-an-item"]
    assert [i["item_id"] for i in session["items"]] == [i["item_id"] for i in as_user["items"]]
    assert not set(history) & {i["item_id"] for i in session["items"]}
    assert engine.for_session(["not-an-item"], k=3)["strategy"] == "cold_start"


def test_explanations_name_history_items_that_contributed(engine) -> None:  # type: ignore[no-untyped-def]
    user = _heavy_user(engine)
    history = {i["item_id"] for i in engine.history_of(user)}
    out = engine.for_user(user, k=10)
    explained = [i for i in out["items"] if i["because"]]
    assert explained, "a heavy user's recommendations should come with reasons"
    for item in explained:
        assert {b["item_id"] for b in item["because"]} <= history
        assert all(b["weight"] > 0 for b in item["because"])
        assert item["reason"].startswith("because you liked")
        assert item["because"][0]["title"] in item["reason"]


def test_similar_items(engine) -> None:  # type: ignore[no-untyped-def]
    item = str(engine.item_ids[0])
    out = engine.similar(item, k=5)
    assert out["item"]["item_id"] == item
    ids = [s["item_id"] for s in out["similar"]]
    assert item not in ids and 0 < len(ids) <= 5
    assert [s["score"] for s in out["similar"]] == sorted((s["score"] for s in out["similar"]), reverse=True)
    with pytest.raises(NotFoundError):
        engine.similar("no-such-item")


def test_answers_are_deterministic(engine) -> None:  # type: ignore[no-untyped-def]
    user = _heavy_user(engine)
    assert engine.for_user(user, 10) == engine.for_user(user, 10)
