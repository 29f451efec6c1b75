from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from lepton_shared.storage import PredictionLog, get_engine, init_db, session_scope


def test_migrations_create_core_tables(lepton_db_home: Path, database_url: str) -> None:
    init_db()
    tables = set(inspect(get_engine()).get_table_names())
    assert {"model_versions", "model_promotions", "training_runs", "prediction_log", "alembic_version"} <= tables
    assert "feedback" not in tables  # dropped by 0002: no app used the shared table
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
        session.add(PredictionLog(app="x", model_version="v1", request_id="r1", endpoint="/", input_hash="h",
                                  output={"a": [1, 2], "b": {"c": "d"}}, latency_ms=1.0))
    with session_scope() as session:
        row = session.scalars(select(PredictionLog)).one()
        assert row.output == {"a": [1, 2], "b": {"c": "d"}}
        assert row.created_at is not None


def test_a_database_from_before_0002_loses_only_the_unused_feedback_table(lepton_home: Path) -> None:
    from alembic import command
    from sqlalchemy import insert

    from lepton_shared.storage.db import alembic_config

    command.upgrade(alembic_config(), "0001_core")
    assert "feedback" in inspect(get_engine()).get_table_names()
    with get_engine().begin() as connection:  # not session_scope: it would migrate first
        connection.execute(insert(PredictionLog).values(app="x", model_version="v1", request_id="old", endpoint="/",
                                                        input_hash="h", output={}, latency_ms=1.0,
                                                        created_at=datetime.now(UTC)))
    init_db()
    assert "feedback" not in inspect(get_engine()).get_table_names()
    with session_scope() as session:
        assert session.scalars(select(PredictionLog.request_id)).all() == ["old"]
