"""Engine, sessions and migrations.

Every process shares one engine per URL. ``init_db`` runs Alembic to the
newest revision of every branch (core plus one branch per app), so replicas of
a service and the CLI always agree on the schema. When the database already
stands at those revisions (nearly always), it says so without loading Alembic.
"""

from __future__ import annotations

import ast
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from lepton_shared.errors import ConfigurationError
from lepton_shared.settings import get_settings

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_makers: dict[str, sessionmaker[Session]] = {}
_migrated: set[str] = set()

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
APPS_DIR = Path(__file__).resolve().parents[2] / "apps"


def _url(url: str | None) -> str:
    return url or get_settings().resolved_database_url


def _shown(url: str) -> str:
    """``url`` without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def get_engine(url: str | None = None) -> Engine:
    url = _url(url)
    with _lock:
        if url not in _engines:
            try:
                make_url(url).get_dialect()
            except (ArgumentError, NoSuchModuleError) as exc:
                raise ConfigurationError(f"LEPTON_DATABASE_URL={_shown(url)} is not a usable database URL: "
                                         f"{str(exc).splitlines()[0]}") from None
            if url.startswith("sqlite"):
                engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

                @event.listens_for(engine, "connect")
                def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
                    cur = dbapi_conn.cursor()
                    cur.execute("PRAGMA journal_mode=WAL")
                    # WAL + NORMAL: no fsync on every commit (a service's answer often is one small commit);
                    # the database stays consistent, a power cut may only lose the last few commits.
                    cur.execute("PRAGMA synchronous=NORMAL")
                    cur.execute("PRAGMA foreign_keys=ON")
                    cur.execute("PRAGMA busy_timeout=30000")
                    cur.close()
            else:
                engine = create_engine(url, pool_pre_ping=True)
            _engines[url] = engine
            _makers[url] = sessionmaker(engine, expire_on_commit=False)
        return _engines[url]


def reset_engine() -> None:
    """Forget cached engines (tests switch databases between cases)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _makers.clear()
        _migrated.clear()


def version_locations() -> list[str]:
    """Core migrations plus ``apps/<app>/migrations`` for every app that has some."""
    locations = [str(MIGRATIONS_DIR / "versions")]
    if APPS_DIR.is_dir():
        for path in sorted(APPS_DIR.glob("*/migrations")):
            if path.is_dir() and any(path.glob("*.py")):
                locations.append(str(path))
    return locations


def alembic_config(url: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("version_locations", " ".join(version_locations()))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("sqlalchemy.url", _url(url).replace("%", "%%"))
    return cfg


@functools.cache
def script_heads() -> frozenset[str]:
    """The newest revision of every migration branch, read from the files' ``revision`` and ``down_revision``.

    Alembic answers the same (a test holds them equal), but importing it and checking the schema took 0.45 s of
    every process here (the CLI's ``lepton monitor``, a service's start), against a few milliseconds for this."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for folder in version_locations():
        for path in Path(folder).glob("*.py"):
            names = {target.id: ast.literal_eval(node.value)
                     for node in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(node, ast.Assign)
                     for target in node.targets
                     if isinstance(target, ast.Name) and target.id in ("revision", "down_revision")}
            if isinstance(names.get("revision"), str):
                revisions.add(names["revision"])
                down = names.get("down_revision")
                parents.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions - parents)


def _is_current(connection: Connection) -> bool:
    """Whether the database stands at :func:`script_heads` (False without an ``alembic_version`` table)."""
    from sqlalchemy.exc import DBAPIError

    try:
        stamped = {str(v) for v in connection.execute(text("SELECT version_num FROM alembic_version")).scalars()}
    except DBAPIError:
        return False
    return stamped == script_heads()


# Any constant shared by every Lepton process: the key of the PostgreSQL advisory lock
# that serialises migrations ("lepton" in ASCII).
MIGRATION_LOCK_KEY = 0x6C6570746F6E


def init_db(url: str | None = None) -> None:
    """Bring the schema to the newest revision (idempotent, cheap when current).

    Replicas of a service often start at the same moment on an empty PostgreSQL
    database; without a lock both would run ``CREATE TABLE`` and one would fail.
    A transaction-scoped advisory lock makes the second wait, then find the schema
    current. SQLite serialises writers by itself.
    """
    url = _url(url)
    if url in _migrated:
        return
    engine = get_engine(url)
    try:
        connection = engine.connect()
    except (OperationalError, InterfaceError) as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise ConfigurationError(f"cannot connect to the database {_shown(url)}: {reason}") from None
    with connection:
        current = _is_current(connection)
    if current:
        _migrated.add(url)
        return
    from alembic import command

    cfg = alembic_config(url)
    with engine.connect() as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")
    _migrated.add(url)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A transaction: commit on success, roll back on any error, so no half-written rows."""
    url = _url(url)
    init_db(url)
    get_engine(url)
    session = _makers[url]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
