from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from lepton_shared.storage import Feedback, PredictionLog, get_engine, init_db, session_scope


def test_migrations_create_core_tables(lepton_db_home: Path, database_url: str) -> None:
    init_db()
    tables = set(inspect(get_engine()).get_table_names())
    assert {"model_versions", "model_promotions", "training_runs", "prediction_log", "feedback",
            "alembic_version"} <= tables
    init_db()  # idempotent


def test_session_scope_rolls_back_on_error(lepton_db_home: Path) -> None:
    with pytest.raises(RuntimeError), session_scope() as session:
        session.add(PredictionLog(app="x", model_version="v1", request_id="r1", endpoint="/", input_hash="h",
                                  output={}, latency_ms=1.0))
        session.flush()
        raise RuntimeError("boom")
    with session_scope() as session:
        assert session.scalars(select(PredictionLog)).all() == []


def test_json_columns_round_trip(lepton_db_home: Path) -> None:
    with session_scope() as session:
        session.add(Feedback(app="x", subject="s", label="ok", payload={"a": [1, 2], "b": {"c": "d"}}))
    with session_scope() as session:
        row = session.scalars(select(Feedback)).one()
        assert row.payload == {"a": [1, 2], "b": {"c": "d"}}
        assert row.created_at is not None
