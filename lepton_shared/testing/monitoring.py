"""Hand-made monitoring data for tests: a fraud version with a known reference profile, and log rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def register_fraud_reference(amounts: list[float]) -> None:
    """A fraud version whose profile holds ``amounts`` at noon, each scored 0.1."""
    from lepton_shared.monitoring import write_reference
    from lepton_shared.registry import Registry

    inputs = [{"tx_amount": a, "tx_datetime": "2018-05-20T12:00:00"} for a in amounts]
    outputs = [{"score": 0.1}] * len(inputs)
    Registry().register("fraud", lambda folder: write_reference("fraud", folder, inputs, outputs))


def log_fraud_requests(rows: list[dict[str, Any]]) -> None:
    """Log one fraud request per ``rows`` item as the service does: ``amount`` and ``latency`` (ms), or a
    ``status`` >= 400 for a failed one; optional ``endpoint`` (default ``/v1/score``) and ``age`` (a timedelta)."""
    from lepton_shared.serving.prediction_log import failure_row, insert_rows, log_row
    from lepton_shared.storage import init_db

    init_db()  # as a service does when it starts
    made = []
    for i, row in enumerate(rows):
        if row.get("status", 200) >= 400:
            made.append(failure_row("fraud", "v1", f"r{i}", "/v1/score", row["status"], row["latency"]))
            continue
        body = {"tx_amount": row["amount"], "tx_datetime": "2018-05-21T12:00:00", "customer_id": 1, "terminal_id": 2}
        made.append(log_row("fraud", f"r{i}", row.get("endpoint", "/v1/score"),
                            {"score": 0.1, "model_version": "v1"}, body, row["latency"]))
        made[-1]["created_at"] -= row.get("age", timedelta(0))
    insert_rows(made)
