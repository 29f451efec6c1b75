"""Typed settings read from the environment (``LEPTON_*``) or a ``.env`` file.

One object holds everything an operator may want to change, so a deployment is
configured in one place (environment variables or a Kubernetes Secret) rather
than through flags scattered over five apps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lepton_shared.errors import ConfigurationError

#: the salt a fresh install hashes personal ids with; public, so production refuses it
DEFAULT_ID_SALT = "lepton-default-salt"


class Settings(BaseSettings):
    """Suite-wide configuration; every field can be set as ``LEPTON_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="LEPTON_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("var"), description="Where runtime state lives (database, models).")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to a SQLite file under LEPTON_HOME."
    )
    api_token: str | None = Field(
        default=None, description="Bearer token the services require; unset disables auth (dev only)."
    )
    device: str = Field(default="auto", description="Where torch code runs (training, evaluation and the services): "
                        "auto (the GPU when present, else the CPU) | cpu | cuda. The CLI's --device overrides it.")
    micro_batch: bool | None = Field(
        default=None, description="Micro-batching of concurrent POST /v1/predict requests (and the chatbot's "
        "/v1/chat): true | false; unset: each app's default from its manifest (on for chatbot and imaging).")
    max_batch: int | None = Field(
        default=None, ge=1, description="Most requests one micro-batch answers together; unset: the app's "
        "default (32).")
    max_wait_ms: float | None = Field(
        default=None, ge=0.0, description="How long a micro-batch waits for more requests after its first one "
        "arrived, in milliseconds, while requests keep arriving (a lone request never waits); unset: the app's "
        "default (2).")
    batch_workers: int | None = Field(
        default=None, ge=1, description="Micro-batches answered at the same time, each in its own thread; unset: "
        "the app's default (1).")
    reload_poll_s: float = Field(
        default=10.0, ge=0.0, description="How often, in seconds, each service replica asks the registry for its "
        "app's production version and loads it when it changed (a promote or rollback reaches every replica "
        "within this time, with no POST /v1/admin/reload); 0 turns the polling off.")
    max_request_bytes: int = Field(default=10 * 1024 * 1024, description="Largest accepted request body.")
    log_predictions: bool = Field(default=True, description="Store every prediction in the database.")
    log_inputs: bool = Field(
        default=True, description="Keep each logged prediction's model input (personal ids as pseudonyms) so that "
        "`lepton models shadow` can replay it through a candidate version; 0 keeps only its keyed hash.")
    log_input_max_kb: int = Field(
        default=64, ge=0, description="Largest model input kept in the prediction log, in KiB (JSON); a larger "
        "one, e.g. an image upload, is logged as skipped and `lepton models shadow` counts it.")
    id_salt: str = Field(default=DEFAULT_ID_SALT, description="Secret key for pseudonymising personal identifiers "
                         "(HMAC-SHA256); production refuses the default.")
    metrics_public: bool = Field(
        default=False, description="Serve /metrics without any token (for a Prometheus inside a trusted network).")
    metrics_token: str | None = Field(
        default=None, description="A second bearer token that opens /metrics only (for Prometheus), so the "
        "scraper never holds the API token.")
    env: Literal["development", "production"] = Field(
        default="development", description="production: the services refuse to start with the default "
        "LEPTON_ID_SALT.")
    allow_public: bool = Field(
        default=False, description="Let a service without LEPTON_API_TOKEN listen on a non-loopback address "
        "(off: it refuses to start; `serve --allow-public` does the same for one run).")

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if value not in ("auto", "cpu", "cuda"):
            raise ValueError("not a device: use auto, cpu or cuda")
        return value

    @property
    def home_dir(self) -> Path:
        path = self.home.expanduser().resolve()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"LEPTON_HOME={str(self.home)!r} cannot be used: {exc.strerror}") from None
        return path

    @property
    def models_dir(self) -> Path:
        path = self.home_dir / "models"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def cache_dir(self) -> Path:
        path = self.home_dir / "cache"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home_dir / 'lepton.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing env.

    A bad value is a :class:`ConfigurationError` naming the variable, so every command says it in one line.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError("; ".join(_describe(error) for error in exc.errors())) from None


def _describe(error: Any) -> str:
    name = "LEPTON_" + "_".join(str(part) for part in error["loc"]).upper()
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{name}={error['input']!r}: {message}"


@contextmanager
def env_overrides(values: Mapping[str, str | None]) -> Iterator[None]:
    """Environment variables set (``None``: removed) inside the block, and as they were afterwards.

    Children started in the block copy them. Each variable is changed on its own, not by clearing and refilling
    ``os.environ`` as ``unittest.mock.patch.dict`` does, because other threads may read it meanwhile."""
    saved = {name: os.environ.get(name) for name in values}
    _set_env(values)
    try:
        yield
    finally:
        _set_env(saved)


def _set_env(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
