"""What imaging monitoring watches. Decoding every image again to describe it would double the cost of an
answer, so an image is described by what the model made of it: the label it gave; the prediction watched is the
calibrated probability of the positive class (images from another scanner or population move it first).
Clinicians' reviews are the live quality.

A shadow replay reads the logged upload (``/v1/diagnose`` logs it as a ``/v1/predict`` body, only when its
base64 fits ``LEPTON_LOG_INPUT_MAX_KB``: most studies do not at the default) and compares labels; a clinician's
reviewed label is what its accuracy is measured on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lepton_shared.monitoring import AppMonitor


class ImagingMonitor(AppMonitor):
    endpoints = ("/v1/predict", "/v1/diagnose")

    def features(self, inputs: Any, output: Mapping[str, Any]) -> dict[str, Any] | None:
        return {"label": output["label"]} if "label" in output else None

    def prediction(self, output: Mapping[str, Any]) -> Any:
        return output.get("positive_probability")

    def answer(self, output: Mapping[str, Any]) -> Any:
        return output.get("label")

    def replay_labels(self, outputs: Sequence[Mapping[str, Any]], database_url: str | None = None,
                      answered_at: Sequence[datetime] | None = None) -> list[Any]:
        """The clinician's reviewed label of each answer's study (``study_id``)."""
        from sqlalchemy import select

        from apps.imaging.storage import ImagingStudy
        from lepton_shared.storage import session_scope

        ids = [o.get("study_id") for o in outputs]
        with session_scope(database_url) as session:
            found = dict(session.execute(select(ImagingStudy.id, ImagingStudy.reviewed_label)
                                         .where(ImagingStudy.id.in_([i for i in ids if isinstance(i, int)]),
                                                ImagingStudy.reviewed_label.is_not(None))).tuples().all())
        return [found.get(i) if isinstance(i, int) else None for i in ids]

    def live_quality(self, since: datetime, database_url: str | None = None) -> dict[str, Any] | None:
        """Studies reviewed since ``since``: how often the clinician agreed with the model's label."""
        from sqlalchemy import select

        from apps.imaging.storage import ImagingStudy
        from lepton_shared.storage import session_scope

        with session_scope(database_url) as session:
            rows = session.execute(select(ImagingStudy.label, ImagingStudy.reviewed_label)
                                   .where(ImagingStudy.reviewed_label.is_not(None),
                                          ImagingStudy.reviewed_at >= since)).all()
        if not rows:
            return None
        agreed = sum(r.label == r.reviewed_label for r in rows)
        return {"reviewed": len(rows), "agreement": round(agreed / len(rows), 4)}


MONITOR_CLASS = ImagingMonitor
