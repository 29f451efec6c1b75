"""Where studies live: Optuna's RDB storage beside the suite's own tables.

Optuna keeps its schema version in an Alembic ``alembic_version`` table, the same name the suite's
migrations use, so its tables cannot share the suite's namespace: on PostgreSQL they go into their own
schema (``optuna``) of the suite database; on SQLite (one file is one namespace) into a file beside the
suite's, ``<name>-optuna.db``. Every worker, on this machine or another, that points at the same
database URL shares the studies.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lepton_shared.errors import UserError

if TYPE_CHECKING:
    import optuna

#: The PostgreSQL schema of Optuna's tables.
SCHEMA = "optuna"
#: How long a SQLite writer waits for the lock another worker holds (seconds).
SQLITE_TIMEOUT_S = 30
#: A running trial writes a heartbeat this often (seconds); one silent for GRACE_S belongs to a worker that was
#: killed (Ctrl-C, OOM, a lost pod), and the next worker to start a trial of the study records it as failed, so an
#: interrupted study resumes with the same ``--study`` name instead of keeping a trial "running" for ever.
HEARTBEAT_S = 30
GRACE_S = 120


def storage_url(database_url: str | None = None) -> tuple[str, dict[str, Any]]:
    """The SQLAlchemy URL and engine options of the study storage for the suite database ``database_url``
    (default: the suite's, from the settings)."""
    from sqlalchemy.engine import make_url

    from lepton_shared.settings import get_settings

    url = make_url(database_url or get_settings().resolved_database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise UserError("tuning needs a database file or server that worker processes share, not an "
                            "in-memory SQLite database")
        path = Path(url.database)
        url = url.set(database=str(path.with_name(f"{path.stem}-optuna{path.suffix or '.db'}")))
        return url.render_as_string(hide_password=False), {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    if backend == "postgresql":
        return url.render_as_string(hide_password=False), {
            "connect_args": {"options": f"-csearch_path={SCHEMA}"}, "pool_pre_ping": True}
    return url.render_as_string(hide_password=False), {"pool_pre_ping": True}


def _create_schema(url: str) -> None:
    """``CREATE SCHEMA IF NOT EXISTS optuna`` (PostgreSQL), once, before Optuna looks for its tables."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
    finally:
        engine.dispose()


def study_storage(database_url: str | None = None) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage on the suite database (its tables created on first use)."""
    import optuna

    url, engine_kwargs = storage_url(database_url)
    if url.startswith("postgresql"):
        _create_schema(url)
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_S,
                                      grace_period=GRACE_S)
