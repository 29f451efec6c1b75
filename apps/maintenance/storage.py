"""Sensor readings the service receives per machine (``POST /v1/machines/{id}/readings``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lepton_shared.storage import Base
from lepton_shared.storage.models import utcnow


class MaintenanceReading(Base):
    __tablename__ = "maintenance_readings"
    __table_args__ = (UniqueConstraint("machine_id", "seq", name="uq_maintenance_readings_machine_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[str] = mapped_column(String(64), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
