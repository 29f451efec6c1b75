"""The app's tables and every query on them: sensor readings per machine (``POST /v1/machines/{id}/readings``)
and the failures reported for them (``POST /v1/machines/{id}/failure``), which label the service's estimates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column

from lepton_shared.storage import Base, session_scope
from lepton_shared.storage.models import utcnow


class MaintenanceReading(Base):
    __tablename__ = "maintenance_readings"
    __table_args__ = (UniqueConstraint("machine_id", "seq", name="uq_maintenance_readings_machine_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[str] = mapped_column(String(64), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MaintenanceFailure(Base):
    """A machine failed at its reading ``at_reading``: the remaining life at its reading ``r`` was
    ``at_reading - r`` (one reading per operating cycle, as the model counts RUL)."""

    __tablename__ = "maintenance_failures"
    __table_args__ = (UniqueConstraint("machine_id", "at_reading", name="uq_maintenance_failures_machine_reading"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    machine_id: Mapped[str] = mapped_column(String(64), index=True)
    at_reading: Mapped[int] = mapped_column(Integer)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def add_readings(machine_id: str, readings: list[dict[str, float]]) -> int:
    """Append ``readings`` (oldest first) to a machine's history, all or nothing; its number of readings after."""
    with session_scope() as session:
        last = session.scalar(select(func.max(MaintenanceReading.seq))
                              .where(MaintenanceReading.machine_id == machine_id)) or 0
        for i, values in enumerate(readings, start=1):
            session.add(MaintenanceReading(machine_id=machine_id, seq=last + i, values=values))
    return last + len(readings)


def recent_readings(machine_id: str, limit: int) -> list[tuple[int, dict[str, float]]]:
    """A machine's newest ``limit`` readings as (reading number, values), oldest first (empty for an unknown
    machine): the numbers come from the same query, so an answer names exactly the readings it assessed."""
    with session_scope() as session:
        rows = session.scalars(select(MaintenanceReading).where(MaintenanceReading.machine_id == machine_id)
                               .order_by(MaintenanceReading.seq.desc()).limit(limit)).all()
        return [(int(r.seq), dict(r.values)) for r in reversed(rows)]


def machine_ids() -> list[str]:
    """Every machine with at least one reading."""
    with session_scope() as session:
        return list(session.scalars(select(MaintenanceReading.machine_id).distinct()))


def reading_counts() -> dict[str, int]:
    """Machine id -> how many readings it has sent (the number of its newest one)."""
    with session_scope() as session:
        rows = session.execute(select(MaintenanceReading.machine_id, func.max(MaintenanceReading.seq))
                               .group_by(MaintenanceReading.machine_id)).all()
        return {str(machine): int(count) for machine, count in rows}


def reading_count(machine_id: str) -> int:
    """How many readings ``machine_id`` has sent (0 for an unknown machine)."""
    with session_scope() as session:
        return int(session.scalar(select(func.max(MaintenanceReading.seq))
                                  .where(MaintenanceReading.machine_id == machine_id)) or 0)


def record_failure(machine_id: str, at_reading: int) -> bool:
    """Record that ``machine_id`` failed at its reading ``at_reading``; False when that failure was known."""
    with session_scope() as session:
        known = session.scalar(select(MaintenanceFailure.id).where(MaintenanceFailure.machine_id == machine_id,
                                                                   MaintenanceFailure.at_reading == at_reading))
        if known is None:
            session.add(MaintenanceFailure(machine_id=machine_id, at_reading=at_reading))
        return known is None


def failures(database_url: str | None = None) -> dict[str, list[int]]:
    """Machine id -> the readings at which it failed, in order."""
    with session_scope(database_url) as session:
        rows = session.execute(select(MaintenanceFailure.machine_id, MaintenanceFailure.at_reading)
                               .order_by(MaintenanceFailure.at_reading)).all()
    found: dict[str, list[int]] = {}
    for machine, at in rows:
        found.setdefault(str(machine), []).append(int(at))
    return found
