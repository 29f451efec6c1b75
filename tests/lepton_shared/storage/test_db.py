from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from lepton_shared.storage import PredictionLog, get_engine, init_db, session_scope

PROMOTION_AUDIT_COLUMNS = ("actor", "reason", "previous_version", "metric", "value", "previous_value")


def insert_old_log_row(request_id: str) -> None:
    """A ``prediction_log`` row with only the columns of 0001, written without migrating (an older schema)."""
    import sqlalchemy as sa

    table = sa.table("prediction_log", *(sa.column(c) for c in (
        "app", "model_version", "request_id", "endpoint", "input_hash", "latency_ms", "created_at")),
        sa.column("output", sa.JSON))
    with get_engine().begin() as connection:
        connection.execute(sa.insert(table).values(app="x", model_version="v1", request_id=request_id, endpoint="/",
                                                   input_hash="h", output={}, latency_ms=1.0,
                                                   created_at=datetime.now(UTC)))


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

    from lepton_shared.storage.db import alembic_config

    command.upgrade(alembic_config(), "0001_core")
    assert "feedback" in inspect(get_engine()).get_table_names()
    insert_old_log_row("old")  # not session_scope: it would migrate first
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


def test_a_log_from_before_0004_reads_as_answers_without_features(lepton_db_home: Path) -> None:
    """0004 adds ``status`` and ``features`` to ``prediction_log``: older rows were answers (200) with no features,
    new rows keep both; the downgrade removes them and keeps the rows (SQLite and PostgreSQL)."""
    from alembic import command

    from lepton_shared.storage.db import alembic_config

    command.upgrade(alembic_config(), "0003_promotion_history")
    old_columns = {c["name"] for c in inspect(get_engine()).get_columns("prediction_log")}
    assert not {"status", "features"} & old_columns
    insert_old_log_row("old")  # not session_scope: it would migrate first
    init_db()
    with session_scope() as session:
        session.add(PredictionLog(app="x", model_version="v1", request_id="new", endpoint="/", input_hash="h",
                                  output={}, latency_ms=1.0, status=500, features={"amount": 3.5}))
    with session_scope() as session:
        rows = {r.request_id: (r.status, r.features) for r in session.scalars(select(PredictionLog))}
    assert rows == {"old": (200, None), "new": (500, {"amount": 3.5})}
    command.downgrade(alembic_config(), "0003_promotion_history")
    assert not {"status", "features"} & {c["name"] for c in inspect(get_engine()).get_columns("prediction_log")}


def test_a_log_from_before_0005_has_no_model_inputs(lepton_db_home: Path) -> None:
    """0005 adds the nullable ``model_input`` (what shadow replay reads): older rows have none, new rows keep
    theirs; the downgrade removes the column and keeps the rows (SQLite and PostgreSQL)."""
    from alembic import command

    from lepton_shared.storage.db import alembic_config

    command.upgrade(alembic_config(), "0004_prediction_log_monitoring")
    assert "model_input" not in {c["name"] for c in inspect(get_engine()).get_columns("prediction_log")}
    insert_old_log_row("old")
    init_db()
    with session_scope() as session:
        session.add(PredictionLog(app="x", model_version="v1", request_id="new", endpoint="/", input_hash="h",
                                  output={}, latency_ms=1.0, model_input={"input": {"text": "hi"}}))
    with session_scope() as session:
        rows = {r.request_id: r.model_input for r in session.scalars(select(PredictionLog))}
    assert rows == {"old": None, "new": {"input": {"text": "hi"}}}
    command.downgrade(alembic_config(), "0004_prediction_log_monitoring")
    assert "model_input" not in {c["name"] for c in inspect(get_engine()).get_columns("prediction_log")}
    with get_engine().connect() as connection:
        assert connection.execute(select(PredictionLog.request_id)).scalars().all() != []


def test_the_heads_read_from_the_files_are_alembics() -> None:
    """``init_db`` skips Alembic when the database stands at ``script_heads``: they must be Alembic's own heads."""
    from alembic.script import ScriptDirectory

    from lepton_shared.storage.db import alembic_config, script_heads

    assert script_heads() == frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    assert "maintenance_0002" in script_heads() and "maintenance_0001" not in script_heads()


def test_a_current_database_is_not_migrated_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second process (here: forgotten engines) finds the schema current without running Alembic; a database
    behind the files (a migration added since) is brought up to date."""
    import alembic.command

    from lepton_shared.storage.db import get_engine, init_db, reset_engine

    url = f"sqlite:///{tmp_path / 'current.db'}"
    init_db(url)
    reset_engine()
    upgrades: list[str] = []
    original = alembic.command.upgrade
    monkeypatch.setattr(alembic.command, "upgrade", lambda cfg, rev: (upgrades.append(rev), original(cfg, rev)))
    init_db(url)
    assert upgrades == []
    with get_engine(url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'maintenance_0001' "
                                "WHERE version_num = 'maintenance_0002'"))
        connection.execute(text("DROP TABLE maintenance_failures"))
    reset_engine()
    init_db(url)
    assert upgrades == ["heads"]
    with get_engine(url).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM maintenance_failures")).scalar() == 0
