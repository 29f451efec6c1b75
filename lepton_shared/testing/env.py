"""An isolated suite environment (its own LEPTON_HOME and database) for a test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def lepton_env(home: Path, database_url: str | None = None, **extra: str) -> Iterator[Path]:
    from lepton_shared.settings import get_settings
    from lepton_shared.storage import reset_engine

    values = {"LEPTON_HOME": str(home), **{f"LEPTON_{k.upper()}": v for k, v in extra.items()}}
    if database_url:
        values["LEPTON_DATABASE_URL"] = database_url
    saved = {k: os.environ.get(k) for k in [*values, "LEPTON_DATABASE_URL"]}
    os.environ.update(values)
    if not database_url:
        os.environ.pop("LEPTON_DATABASE_URL", None)
    get_settings.cache_clear()
    reset_engine()
    try:
        yield home
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        reset_engine()
