"""What fraud monitoring watches: each payment's amount and hour (no customer or terminal id), the fraud
score, and, as labels come back from analysts and chargebacks, how well the decisions caught fraud.

A shadow replay scores the features ``POST /v1/score`` logged (the customer's and terminal's history as it stood
then; the history has moved on since), and compares decisions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lepton_shared.monitoring import AppMonitor, ReplaySkipped

if TYPE_CHECKING:
    from lepton_shared.serving.predictor import Predictor


def decision_quality(scores: Sequence[float], decisions: Sequence[str], labels: Sequence[int]) -> dict[str, Any]:
    """Precision of review-or-decline, recall of fraud, and the score's average precision when both classes
    are present (None where undefined)."""
    flagged = [d != "approve" for d in decisions]
    caught = sum(1 for f, y in zip(flagged, labels, strict=True) if f and y)
    average_precision = None
    if 0 < sum(labels) < len(labels):
        from sklearn.metrics import average_precision_score  # seconds to import: only when it is needed

        average_precision = round(float(average_precision_score(labels, scores)), 4)
    return {"precision": round(caught / sum(flagged), 4) if any(flagged) else None,
            "recall": round(caught / sum(labels), 4) if any(labels) else None,
            "average_precision": average_precision}


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

    def answer(self, output: Mapping[str, Any]) -> Any:
        return output.get("decision")

    def replay_input(self, predictor: Predictor, logged: Any) -> dict[str, Any]:
        """Score the logged features; a payment sent to ``/v1/predict`` (or a batch) kept its body only, and
        its customer's history then cannot be read again."""
        from apps.fraud.predictor import FraudPredictor

        if not isinstance(logged, Mapping) or "features" not in logged:
            raise ReplaySkipped("no features logged (only POST /v1/score logs them)")
        assert isinstance(predictor, FraudPredictor)
        return predictor.score_features([float(logged["tx_amount"])], [logged["features"]])[0]

    def replay_labels(self, outputs: Sequence[Mapping[str, Any]], database_url: str | None = None,
                      answered_at: Sequence[datetime] | None = None) -> list[Any]:
        """1 (fraud) or 0 from analysts and chargebacks, by the answer's ``transaction_id``."""
        from sqlalchemy import select

        from apps.fraud.tables import Transaction
        from lepton_shared.storage import session_scope

        ids = [o.get("transaction_id") for o in outputs]
        with session_scope(database_url) as session:
            found = dict(session.execute(select(Transaction.transaction_id, Transaction.label)
                                         .where(Transaction.transaction_id.in_([i for i in ids if i]),
                                                Transaction.label.is_not(None))).tuples().all())
        return [found.get(i) if i else None for i in ids]

    def replay_metrics(self, outputs: Sequence[Mapping[str, Any]], labels: Sequence[Any]) -> dict[str, float]:
        quality = decision_quality([float(o["score"]) for o in outputs], [str(o["decision"]) for o in outputs],
                                   [int(y) for y in labels])
        return {k: v for k, v in quality.items() if v is not None}

    def live_quality(self, since: datetime, database_url: str | None = None) -> dict[str, Any] | None:
        """Decisions against the labels received since ``since``: precision of review-or-decline, recall of
        fraud, and the score's average precision when both classes came back."""
        from sqlalchemy import select

        from apps.fraud.tables import Transaction  # not apps.fraud.storage: it imports pandas
        from lepton_shared.storage import session_scope

        with session_scope(database_url) as session:
            rows = session.execute(select(Transaction.score, Transaction.decision, Transaction.label)
                                   .where(Transaction.label.is_not(None), Transaction.labelled_at >= since)).all()
        if not rows:
            return None
        labels = [int(r.label) for r in rows]
        return {"labelled": len(rows), "fraud_rate": round(sum(labels) / len(labels), 4),
                **decision_quality([r.score for r in rows], [r.decision for r in rows], labels)}


MONITOR_CLASS = FraudMonitor
