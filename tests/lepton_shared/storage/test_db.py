from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from lepton_shared.storage import PredictionLog, get_engine, init_db, session_scope

PROMOTION_AUDIT_COLUMNS = ("actor", "reason", "previous_version", "metric", "value", "previous_value")


def test_migrations_create_core_tables(lepton_db_home: Path, database_url: str) -> None:
    init_db()
    tables = set(inspect(get_engine()).get_table_names())
    assert {"model_versions", "model_promotions", "training_runs", "prediction_log", "alembic_version"} <= tables
    assert "feedback" not in tables  # dropped by 0002: no app used the shared table
    promotion_columns = {c["name"] for c in inspect(get_engine()).get_columns("model_promotions")}
    assert set(PROMOTION_AUDIT_COLUMNS) <= promotion_columns  # added by 0003
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


def test_a_database_from_before_0003_keeps_its_promotions_and_can_roll_back(lepton_home: Path, tmp_path: Path) -> None:
    """Rows written before the audit columns existed read back with empty ones, and rollback still walks them."""
    import sqlalchemy as sa
    from alembic import command

    from lepton_shared.registry import Registry
    from lepton_shared.storage.db import alembic_config

    command.upgrade(alembic_config(), "0002_drop_feedback")
    versions = sa.table("model_versions", *(sa.column(c) for c in (
        "app", "version", "number", "path", "stage", "metrics", "params", "data_fingerprint", "code_version",
        "created_at")))
    promotions = sa.table("model_promotions", sa.column("app"), sa.column("version"), sa.column("action"),
                          sa.column("created_at"))
    now = datetime.now(UTC)
    with get_engine().begin() as connection:  # not session_scope: it would migrate first
        for number, stage in ((1, "candidate"), (2, "production")):
            folder = tmp_path / f"v{number}"
            folder.mkdir()
            connection.execute(sa.insert(versions).values(
                app="demo", version=f"v{number}", number=number, path=str(folder), stage=stage, metrics="{}",
                params="{}", data_fingerprint="", code_version="", created_at=now))
            connection.execute(sa.insert(promotions).values(app="demo", version=f"v{number}", action="promote",
                                                            created_at=now))
    init_db()
    old = Registry().history("demo")
    assert [(r.version, r.actor, r.reason, r.previous_version, r.value) for r in old] == [
        ("v1", "", "", None, None), ("v2", "", "", None, None)]
    assert Registry().rollback("demo", reason="after the upgrade").version == "v1"
    assert Registry().history("demo")[-1].previous_version == "v2"

    command.downgrade(alembic_config(), "0002_drop_feedback")
    columns = {c["name"] for c in inspect(get_engine()).get_columns("model_promotions")}
    assert columns == {"id", "app", "version", "action", "created_at"}
    with get_engine().connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(promotions)).scalar() == 3
