"""The service's prediction-log writer: rows grouped into few commits, nothing lost on close."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, select

from lepton_shared.serving.prediction_log import PredictionLogWriter, hash_input, log_row
from lepton_shared.settings import get_settings
from lepton_shared.storage import PredictionLog, get_engine, init_db, session_scope


def _rows(n: int) -> list[dict]:
    return [log_row("example", f"r{i}", "/v1/predict", {"label": i % 2, "model_version": "v1"}, {"x": i}, 1.5)
            for i in range(n)]


def test_rows_are_committed_in_groups_and_close_writes_the_rest(lepton_home: Path) -> None:
    init_db()
    url = get_settings().resolved_database_url
    inserts: list[int] = []

    @event.listens_for(get_engine(url), "before_execute")
    def count(_conn, clause, multiparams, _params, _execution_options):  # type: ignore[no-untyped-def]
        if getattr(clause, "is_insert", False):
            inserts.append(len(multiparams))

    writer = PredictionLogWriter(url, interval_s=0.5, max_rows=64)
    rows = _rows(200)  # built before: on a busy machine building them inside the loop outlasted the interval
    for i in range(0, 200, 10):
        writer.add(rows[i:i + 10])
    writer.close()
    with session_scope() as session:
        ids = list(session.scalars(select(PredictionLog.request_id)))
        first = session.scalars(select(PredictionLog).where(PredictionLog.request_id == "r0")).one()
    assert sorted(ids) == sorted(f"r{i}" for i in range(200))
    assert sum(inserts) == 200 and len(inserts) <= 4  # 64 + 64 + 64 + 8, not 200 transactions
    assert first.output == {"label": 0, "model_version": "v1"} and first.input_hash == hash_input({"x": 0})
    assert first.model_version == "v1" and first.latency_ms == 1.5


def test_a_failed_write_is_logged_and_the_writer_goes_on(lepton_home: Path,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    init_db()
    broken = PredictionLogWriter("sqlite:///" + str(lepton_home / "missing" / "no.db"), interval_s=0.01)
    broken.add(_rows(3))
    broken.close()
    assert "could not log 3 predictions" in capfd.readouterr().err
    writer = PredictionLogWriter(get_settings().resolved_database_url, interval_s=0.01)
    writer.add(_rows(2))
    writer.close()
    with session_scope() as session:
        assert len(session.scalars(select(PredictionLog)).all()) == 2


def test_deferred_rows_are_built_on_the_writer_thread_and_a_bad_one_costs_only_itself(
        lepton_home: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """``add_later``: the answer's row (input hash, output copy) is built after the answer, off the request's
    thread; an answer whose row cannot be built is reported and the others are still written."""
    import threading
    from datetime import UTC, datetime, timedelta

    init_db()
    built_on: list[str] = []
    at = datetime.now(UTC) - timedelta(minutes=5)

    def build(i: int) -> list[dict]:
        built_on.append(threading.current_thread().name)
        return [log_row("example", f"d{i}", "/v1/predict", {"label": i, "model_version": "v1"}, {"x": i}, 2.0,
                        created_at=at)]

    def broken() -> list[dict]:
        raise ValueError("unencodable answer")

    writer = PredictionLogWriter(get_settings().resolved_database_url, interval_s=0.01)
    writer.add_later(lambda: build(1))
    writer.add_later(broken)
    writer.add_later(lambda: build(2))
    writer.close()
    with session_scope() as session:
        rows = session.scalars(select(PredictionLog).order_by(PredictionLog.request_id)).all()
    assert [r.request_id for r in rows] == ["d1", "d2"] and rows[0].input_hash == hash_input({"x": 1})
    assert all(abs(r.created_at.replace(tzinfo=UTC) - at) < timedelta(seconds=1) for r in rows)  # answer's time
    assert built_on == ["prediction-log", "prediction-log"]
    assert "could not build a prediction log row" in capfd.readouterr().err


def test_the_body_is_encoded_once_for_its_hash_and_its_kept_copy(lepton_home: Path) -> None:
    from lepton_shared.serving.security import pseudonym

    body = {"tx_amount": 12.5, "customer_id": 7, "tx_datetime": "2026-11-30T10:15:00", "terminal_id": 3}
    row = log_row("fraud", "r1", "/v1/score", {"score": 0.1, "model_version": "v1"}, body, 1.0)
    assert row["input_hash"] == hash_input(body)
    assert row["model_input"] == {"input": {**body, "customer_id": pseudonym(7)}}
    features = {"tx_amount": 12.5, "features": [0.5, 1.0]}
    given = log_row("fraud", "r2", "/v1/score", {"score": 0.1, "model_version": "v1"}, body, 1.0, features)
    assert given["input_hash"] == hash_input(body) and given["model_input"] == {"input": features}
    assert log_row("fraud", "r3", "/v1/other", {}, body, 1.0)["model_input"] is None
