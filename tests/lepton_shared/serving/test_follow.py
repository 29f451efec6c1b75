"""A service follows the registry by itself: promote, rollback and a broken version, without /v1/admin/reload."""

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from lepton_shared.registry import Registry
from lepton_shared.serving import app as serving_app
from lepton_shared.serving.follow import RegistryFollower
from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.example import APP, example_service, register_example
from lepton_shared.testing.server import eventually, serve_app

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def home(tmp_path: Path):
    with lepton_env(tmp_path / "home", api_token=TOKEN, reload_poll_s="0.1") as h:
        yield h


def _served(base: str) -> Any:
    return httpx.get(f"{base}/readyz").json().get("model_version")


def _gauge(base: str, version: str) -> str:
    text = httpx.get(f"{base}/metrics", headers=AUTH).text
    line = next((x for x in text.splitlines() if x.startswith(f'lepton_model_info{{app="{APP}",version="{version}"}}')),
                "")
    return line.rsplit(" ", 1)[-1]


def test_a_service_follows_promotion_and_rollback(home: Path) -> None:
    register_example(epochs=1)
    with serve_app(example_service(micro_batch=True)) as base:
        assert _served(base) == "v1"
        assert register_example(epochs=2).version == "v2"  # registered and promoted
        assert eventually(lambda: _served(base), lambda v: v == "v2") == "v2"
        # the micro-batcher answers with the model swapped in
        answer = httpx.post(f"{base}/v1/predict", json={"x0": 1, "x1": 1}, headers=AUTH).json()
        assert answer["model_version"] == "v2"
        assert (_gauge(base, "v1"), _gauge(base, "v2")) == ("0.0", "1.0")

        Registry().rollback(APP, reason="test")
        assert eventually(lambda: _served(base), lambda v: v == "v1") == "v1"
        answer = httpx.post(f"{base}/v1/predict", json={"x0": 1, "x1": 1}, headers=AUTH).json()
        assert answer["model_version"] == "v1"
        assert (_gauge(base, "v1"), _gauge(base, "v2")) == ("1.0", "0.0")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_version_that_fails_to_load_keeps_the_old_one_until_it_is_fixed(home: Path) -> None:
    register_example(epochs=1)
    app = example_service()
    lines = _Lines()
    logging.getLogger(f"lepton.{APP}").addHandler(lines)
    try:
        with serve_app(app) as base:
            # promoted, but its folder lacks the weights: every load of it fails
            broken = Registry().register(APP, lambda folder: None, promote=False)
            Registry().promote(APP, broken.version)
            failures = eventually(lambda: [r for r in lines.records if r.levelno == logging.WARNING],
                                  lambda found: len(found) > 0)
            assert failures and "could not load example v2, still serving v1" in failures[0].getMessage()
            assert _served(base) == "v1"
            answer = httpx.post(f"{base}/v1/predict", json={"x0": 1, "x1": 1}, headers=AUTH)
            assert answer.status_code == 200 and answer.json()["model_version"] == "v1"

            # the next poll retries and succeeds
            (broken.path / "model.pt").write_bytes((Registry().get(APP, "v1").path / "model.pt").read_bytes())
            assert eventually(lambda: _served(base), lambda v: v == "v2") == "v2"
            # one line for the broken version, however many polls saw it broken
            assert len([r for r in lines.records if r.levelno == logging.WARNING]) == 1
    finally:
        logging.getLogger(f"lepton.{APP}").removeHandler(lines)


def test_polling_off_starts_no_follower(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[float] = []

    class Recorder(RegistryFollower):
        async def run(self, interval_s: float) -> None:
            started.append(interval_s)

    monkeypatch.setattr(serving_app, "RegistryFollower", Recorder)
    for poll, expected in (("0", []), ("2.5", [2.5])):
        started.clear()
        with lepton_env(tmp_path / "home", api_token=TOKEN, reload_poll_s=poll):
            register_example(epochs=1)
            with serve_app(example_service()) as base:
                assert _served(base) is not None
                register_example(epochs=1)
                # the admin route still forces the change at once
                assert httpx.post(f"{base}/v1/admin/reload", headers=AUTH).json()["model_version"] == _latest()
        assert started == expected


def _latest() -> str:
    return Registry().get(APP).version


def test_a_negative_poll_interval_is_refused(tmp_path: Path) -> None:
    from lepton_shared.errors import ConfigurationError
    from lepton_shared.settings import get_settings

    with lepton_env(tmp_path / "home", reload_poll_s="-1"), pytest.raises(ConfigurationError,
                                                                          match="LEPTON_RELOAD_POLL_S"):
        get_settings()
