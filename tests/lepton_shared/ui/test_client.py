"""The pages' client: a service that is slow to answer is a clear 504 message, not a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi import FastAPI

from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.server import serve_app
from lepton_shared.ui import AppClient, ServiceError


def test_a_slow_service_is_a_504_service_error_and_timeout_can_be_raised(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    slow = FastAPI()

    @slow.get("/v1/slow")
    def answer() -> dict[str, str]:
        time.sleep(1.0)
        return {"ok": "yes"}

    with lepton_env(tmp_path / "home"), serve_app(slow) as url:
        monkeypatch.setenv("LEPTON_EXAMPLE_URL", url)
        client = AppClient("example", timeout=0.2)
        assert client.remote
        with pytest.raises(ServiceError) as caught:
            client.get("/v1/slow")
        assert caught.value.status == 504
        assert str(caught.value).startswith("the example service did not answer GET /v1/slow within 0.2 s")
        assert client.get("/v1/slow", timeout=30) == {"ok": "yes"}
