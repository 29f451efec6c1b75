"""Fixtures for the whole suite: an isolated LEPTON_HOME, SQLite and PostgreSQL
databases, and markers that fail (rather than skip) in CI when a required
server or browser is missing."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lepton_shared.testing.browser import chromium_available
from lepton_shared.testing.env import lepton_env

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

POSTGRES_URL = os.environ.get("LEPTON_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("LEPTON_REQUIRE_POSTGRES") == "1"
REQUIRE_BROWSER = os.environ.get("LEPTON_REQUIRE_BROWSER") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in item.keywords and not chromium_available():
            if REQUIRE_BROWSER:
                item.add_marker(pytest.mark.xfail(reason="chromium missing", strict=True, run=False))
            else:
                item.add_marker(pytest.mark.skip(reason="no /usr/bin/chromium (install Debian chromium)"))


@pytest.fixture()
def lepton_home(tmp_path: Path) -> Iterator[Path]:
    """A fresh LEPTON_HOME with its own SQLite database for one test."""
    with lepton_env(tmp_path / "home") as home:
        yield home


def _fresh_postgres_database() -> Iterator[str]:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("LEPTON_REQUIRE_POSTGRES=1 but LEPTON_TEST_POSTGRES_URL is not set")
        pytest.skip("set LEPTON_TEST_POSTGRES_URL to run PostgreSQL tests (.ci/run does)")
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    name = f"lepton_test_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        from lepton_shared.storage import reset_engine

        reset_engine()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped afterwards)."""
    yield from _fresh_postgres_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Run a storage test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        yield from _fresh_postgres_database()


@pytest.fixture()
def lepton_db_home(tmp_path: Path, database_url: str) -> Iterator[Path]:
    """LEPTON_HOME plus the parametrised database (SQLite and PostgreSQL)."""
    with lepton_env(tmp_path / "home", database_url=database_url) as home:
        yield home
