"""The audit trail: one row per diagnosed study, with the reviewer's confirmation or correction.

No pixel data and no patient identifier is stored: the input only as its
SHA-256, a DICOM PatientID only as a salted hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from lepton_shared.errors import NotFoundError, UserError
from lepton_shared.storage import Base, session_scope
from lepton_shared.storage.models import utcnow

REVIEW_STATES = ("pending", "confirmed", "corrected")


class ImagingStudy(Base):
    __tablename__ = "imaging_studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    model_version: Mapped[str] = mapped_column(String(32))
    input_sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_format: Mapped[str] = mapped_column(String(16))
    study_uid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    series_uid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    patient_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    label: Mapped[str] = mapped_column(String(64))
    positive_probability: Mapped[float] = mapped_column(Float)
    probabilities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    threshold: Mapped[float] = mapped_column(Float)
    review_status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    reviewer: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reviewed_label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "model_version": self.model_version,
            "input_sha256": self.input_sha256,
            "format": self.file_format,
            "study_uid": self.study_uid,
            "series_uid": self.series_uid,
            "patient_hash": self.patient_hash,
            "label": self.label,
            "positive_probability": self.positive_probability,
            "probabilities": self.probabilities,
            "threshold": self.threshold,
            "review_status": self.review_status,
            "reviewer": self.reviewer,
            "reviewed_label": self.reviewed_label,
            "review_note": self.review_note,
            "reviewed_at": self.reviewed_at.isoformat() if self.reviewed_at else None,
        }


def record_study(result: dict[str, Any]) -> dict[str, Any]:
    """Store one diagnosis (the dict ``ImagingPredictor.diagnose`` returns); returns the stored row."""
    with session_scope() as session:
        row = ImagingStudy(
            model_version=result["model_version"], input_sha256=result["input_sha256"],
            file_format=result.get("format") or "unknown", study_uid=result.get("study_uid"),
            series_uid=result.get("series_uid"), patient_hash=result.get("patient_hash"), label=result["label"],
            positive_probability=float(result["positive_probability"]), probabilities=result["probabilities"],
            threshold=float(result["threshold"]),
        )
        session.add(row)
        session.flush()
        return row.as_dict()


def list_studies(status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    if status is not None and status not in REVIEW_STATES:
        raise UserError(f"unknown review status {status!r}; use one of {', '.join(REVIEW_STATES)}")
    with session_scope() as session:
        query = select(ImagingStudy).order_by(ImagingStudy.id.desc()).limit(max(1, min(limit, 1000)))
        if status:
            query = query.where(ImagingStudy.review_status == status)
        return [row.as_dict() for row in session.scalars(query)]


def get_study(study_id: int) -> dict[str, Any]:
    with session_scope() as session:
        row = session.get(ImagingStudy, study_id)
        if row is None:
            raise NotFoundError(f"no imaging study with id {study_id}")
        return row.as_dict()


def review_study(study_id: int, reviewer: str, confirmed: bool, label: str | None = None,
                 note: str | None = None) -> dict[str, Any]:
    """Confirm the model's label, or correct it to ``label``."""
    reviewer = reviewer.strip()
    if not reviewer:
        raise UserError("a review needs the reviewer's name")
    with session_scope() as session:
        row = session.get(ImagingStudy, study_id)
        if row is None:
            raise NotFoundError(f"no imaging study with id {study_id}")
        allowed = list(row.probabilities or {})
        if confirmed:
            final = row.label
        else:
            if not label:
                raise UserError("a correction needs the correct label")
            if allowed and label not in allowed:
                raise UserError(f"unknown label {label!r}; this model's labels are {', '.join(allowed)}")
            final = label
        row.review_status = "confirmed" if confirmed or final == row.label else "corrected"
        row.reviewer = reviewer[:128]
        row.reviewed_label = final
        row.review_note = note
        row.reviewed_at = utcnow()
        session.flush()
        return row.as_dict()
