"""The recommender's table and its queries: interactions posted to the service (``POST /v1/events``),
stored in one transaction and read back at the next retrain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, Float, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from lepton_shared.storage import Base, session_scope
from lepton_shared.storage.models import utcnow

if TYPE_CHECKING:
    import pandas as pd


class RecommenderEvent(Base):
    """One interaction reported by a client (a view, a purchase, a rating)."""

    __tablename__ = "recommender_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    item_id: Mapped[str] = mapped_column(String(128), index=True)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    event_type: Mapped[str] = mapped_column(String(32), default="interaction")
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


def store_events(events: Sequence[Any]) -> int:
    """Write all events or none (one transaction); each has the fields of ``schemas.EventIn``
    (``occurred_at`` None: now)."""
    now = datetime.now(UTC)
    with session_scope() as session:
        session.add_all([RecommenderEvent(user_id=e.user_id, item_id=e.item_id, weight=e.weight,
                                          event_type=e.event_type, occurred_at=e.occurred_at or now)
                         for e in events])
    return len(events)


def load_events() -> pd.DataFrame:
    """All stored events in the loaders' frame format (user_id, item_id, weight, timestamp), one row per
    (user, item): weights summed, latest time kept."""
    import pandas as pd  # here: ``lepton monitor`` reads the table and should not pay pandas' import

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
