"""Interactions stored through the service: the table's migration, validation, and their use at the next
retrain."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from apps.recommender.schemas import EventIn
from apps.recommender.storage import load_events, store_events


def test_events_are_stored_and_used_at_next_retrain(lepton_home: Path, tiny_trainer: Callable[..., Any]) -> None:
    from apps.recommender.app import APP
    from apps.recommender.storage import RecommenderEvent
    from lepton_shared.storage import session_scope

    tiny_trainer()
    before = APP.load_predictor().engine
    assert "brand-new-user" not in before.user_index
    store_events([EventIn(user_id="brand-new-user", item_id="i1"), EventIn(user_id="brand-new-user", item_id="i2",
                                                                           weight=2.0),
                  EventIn(user_id="brand-new-user", item_id="brand-new-item")])
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(RecommenderEvent)) == 3
    assert len(load_events()) == 3
    info = tiny_trainer()
    assert info.params["events_used"] == 3
    after = APP.load_predictor().engine
    assert {i["item_id"] for i in after.history_of("brand-new-user")} == {"i1", "i2", "brand-new-item"}
    assert "brand-new-item" in after.item_index
    out = after.for_user("brand-new-user", 5)
    assert out["strategy"] == "personalised" and not {"i1", "i2"} & {i["item_id"] for i in out["items"]}
    ignored = tiny_trainer(use_events=False)
    assert ignored.params["events_used"] == 0


def test_bad_events_are_rejected() -> None:
    for bad in ({"user_id": "u", "item_id": "i", "weight": -1}, {"user_id": "", "item_id": "i"},
                {"user_id": "u", "item_id": "i", "extra": 1}):
        with pytest.raises(ValidationError):
            EventIn.model_validate(bad)


def test_migration_creates_the_events_table(lepton_db_home: Path) -> None:
    from sqlalchemy import inspect

    from lepton_shared.storage import get_engine, init_db

    init_db()
    columns = {c["name"] for c in inspect(get_engine()).get_columns("recommender_events")}
    assert {"user_id", "item_id", "weight", "event_type", "occurred_at", "created_at"} <= columns
    store_events([EventIn(user_id="a", item_id="b", weight=2.5)])
    frame = load_events()
    assert frame.to_dict("records")[0]["weight"] == 2.5 and frame["timestamp"].notna().all()
