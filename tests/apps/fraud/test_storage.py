"""The online store on SQLite and PostgreSQL: bucket upserts, labels, queue, dashboard."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from apps.fraud.predictor import TransactionIn


def _tx(tx_id: str, amount: float, day: int = 20, customer: int = 1, terminal: int = 2) -> TransactionIn:
    return TransactionIn(transaction_id=tx_id, tx_datetime=datetime(2018, 5, day, 12), customer_id=customer,
                         terminal_id=terminal, tx_amount=amount)


def test_buckets_labels_and_queue(lepton_db_home: Path) -> None:
    from apps.fraud import storage
    from apps.fraud.features import FeatureConfig, online_day
    from lepton_shared.errors import NotFoundError, UserError
    from lepton_shared.storage import session_scope

    answer = {"score": 0.9, "decision": "review", "reasons": [], "model_version": "v1"}
    with session_scope() as session:
        storage.record(session, _tx("a", 10.0), answer)
        storage.record(session, _tx("b", 30.0), {**answer, "decision": "approve", "score": 0.1})
    with session_scope() as session:
        cust, term = storage.history(session, 1, 2, online_day(datetime(2018, 5, 20)), FeatureConfig())
        assert len(cust) == 1 and cust[0].n == 2 and cust[0].amount_sum == 40.0
        assert cust[0].amount_sq_sum == 1000.0 and cust[0].amount_max == 30.0
        assert len(term) == 1 and term[0].n == 2
        assert [q["transaction_id"] for q in storage.review_queue(session)] == ["a"]
    with session_scope() as session:
        storage.apply_label(session, "a", "fraud", "analyst")
        storage.apply_label(session, "a", "fraud", "chargeback")  # the same label twice counts once
    with session_scope() as session:
        cust, term = storage.history(session, 1, 2, online_day(datetime(2018, 5, 20)), FeatureConfig())
        assert cust[0].n_fraud == 1 and term[0].n_fraud == 1
        assert storage.review_queue(session) == []
        day = storage.dashboard(session)[0]
        assert day["transactions"] == 2 and day["alerts"] == 1 and day["alert_precision"] == 1.0
    with pytest.raises(UserError, match="already scored"), session_scope() as session:
        storage.record(session, _tx("a", 5.0), answer)
    with pytest.raises(NotFoundError), session_scope() as session:
        storage.apply_label(session, "zzz", "fraud", "analyst")
    frame = storage.feedback_frame()
    assert list(frame["TX_FRAUD"]) == [1] and frame["TX_AMOUNT"].iloc[0] == 10.0
