"""Interactions posted to the service: stored in one transaction, read back at retrain time."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from lepton_shared.storage import session_scope


class EventIn(BaseModel):
    """One interaction: who touched what, how strongly and when (defaults: weight 1, now)."""

    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=128, description="the user who interacted")
    item_id: str = Field(min_length=1, max_length=128, description="the item they interacted with")
    weight: float = Field(default=1.0, gt=0, le=1e6, description="strength of the signal (> 0)")
    event_type: str = Field(default="interaction", max_length=32, description="view, cart, purchase, ...")
    occurred_at: datetime | None = Field(default=None, description="when it happened (default: now)")


def store_events(events: list[EventIn]) -> int:
    """Write all events or none (one transaction)."""
    from apps.recommender.storage import RecommenderEvent

    now = datetime.now(UTC)
    with session_scope() as session:
        session.add_all([RecommenderEvent(user_id=e.user_id, item_id=e.item_id, weight=e.weight,
                                          event_type=e.event_type, occurred_at=e.occurred_at or now)
                         for e in events])
    return len(events)


def load_events() -> pd.DataFrame:
    """All stored events in the loaders' frame format (user_id, item_id, weight, timestamp)."""
    from apps.recommender.storage import RecommenderEvent

    with session_scope() as session:
        rows = session.execute(select(RecommenderEvent.user_id, RecommenderEvent.item_id, RecommenderEvent.weight,
                                      RecommenderEvent.occurred_at)).all()
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "weight", "occurred_at"])
    if frame.empty:
        return pd.DataFrame({"user_id": [], "item_id": [], "weight": [], "timestamp": []})
    ts = pd.to_datetime(frame["occurred_at"], utc=True)
    frame["timestamp"] = (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    frame = frame.groupby(["user_id", "item_id"], as_index=False).agg(weight=("weight", "sum"),
                                                                      timestamp=("timestamp", "max"))
    return frame[["user_id", "item_id", "weight", "timestamp"]]
