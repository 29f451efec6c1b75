"""An isolated suite environment (its own LEPTON_HOME and database) for a test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def lepton_env(home: Path, database_url: str | None = None, **extra: str) -> Iterator[Path]:
    from lepton_shared.settings import env_overrides, get_settings
    from lepton_shared.storage import reset_engine

    values: dict[str, str | None] = {"LEPTON_HOME": str(home), "LEPTON_DATABASE_URL": database_url or None,
                                     **{f"LEPTON_{k.upper()}": v for k, v in extra.items()}}
    try:
        with env_overrides(values):
            get_settings.cache_clear()
            reset_engine()
            yield home
    finally:
        get_settings.cache_clear()
        reset_engine()
