"""What fraud monitoring watches: each payment's amount and hour (no customer or terminal id), the fraud
score, and, as labels come back from analysts and chargebacks, how well the decisions caught fraud."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lepton_shared.monitoring import AppMonitor


class FraudMonitor(AppMonitor):
    endpoints = ("/v1/predict", "/v1/score")  #: ``/v1/score/batch`` logs one row for many payments: no features

    def features(self, inputs: Any, output: Mapping[str, Any]) -> dict[str, Any] | None:
        if not isinstance(inputs, Mapping) or "tx_amount" not in inputs:
            return None
        when = inputs.get("tx_datetime")
        hour = (when if isinstance(when, datetime) else datetime.fromisoformat(str(when))).hour if when else None
        return {"tx_amount": float(inputs["tx_amount"]), "tx_hour": hour}

    def prediction(self, output: Mapping[str, Any]) -> Any:
        return output.get("score")

    def live_quality(self, since: datetime, database_url: str | None = None) -> dict[str, Any] | None:
        """Decisions against the labels received since ``since``: precision of review-or-decline, recall of
        fraud, and the score's average precision when both classes came back."""
        from sqlalchemy import select

        from lepton_shared.storage import session_scope

        labelled = labelled_transactions()
        with session_scope(database_url) as session:
            rows = session.execute(select(labelled.c.score, labelled.c.decision, labelled.c.label)
                                   .where(labelled.c.label.is_not(None), labelled.c.labelled_at >= since)).all()
        if not rows:
            return None
        labels = [int(r.label) for r in rows]
        flagged = [r.decision != "approve" for r in rows]
        caught = sum(1 for f, y in zip(flagged, labels, strict=True) if f and y)
        average_precision = None
        if 0 < sum(labels) < len(labels):
            from sklearn.metrics import average_precision_score  # seconds to import: only when it is needed

            average_precision = round(float(average_precision_score(labels, [r.score for r in rows])), 4)
        return {"labelled": len(rows), "fraud_rate": round(sum(labels) / len(labels), 4),
                "precision": round(caught / sum(flagged), 4) if any(flagged) else None,
                "recall": round(caught / sum(labels), 4) if any(labels) else None,
                "average_precision": average_precision}


def labelled_transactions() -> Any:
    """The columns of ``apps.fraud.storage.Transaction`` that live quality reads, as a Core table clause.

    Not the ORM class: ``apps.fraud.storage`` imports pandas through the feature code, half a second or more
    that ``lepton monitor`` (target: answers in 2 s) would pay in every app's run."""
    from sqlalchemy import DateTime, Float, Integer, String, column, table

    return table("fraud_transactions", column("score", Float), column("decision", String),
                 column("label", Integer), column("labelled_at", DateTime(timezone=True)))


MONITOR_CLASS = FraudMonitor
