"""The recommender's table: interactions posted to the service, used at the next retrain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lepton_shared.storage import Base
from lepton_shared.storage.models import utcnow


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
