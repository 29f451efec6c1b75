"""Private by default: binding without a token, the production salt, pseudonymised ids in logs."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from lepton_shared.errors import UserError
from lepton_shared.serving import create_app
from lepton_shared.serving.logs import JsonFormatter
from lepton_shared.serving.prediction_log import log_row
from lepton_shared.serving.security import check_bind, is_loopback, pseudonym
from lepton_shared.settings import Settings
from lepton_shared.testing.env import lepton_env


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                                ("[::1]", True), ("127.0.0.2", True), ("0.0.0.0", False),
                                                ("::", False), ("10.0.0.5", False), ("example.com", False)])
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_no_token_refuses_a_public_address_unless_allowed() -> None:
    open_settings = Settings(api_token=None, allow_public=False)
    with pytest.raises(UserError, match=r"refusing to listen on 0\.0\.0\.0"):
        check_bind("0.0.0.0", settings=open_settings)
    assert "authentication is OFF" in str(check_bind("0.0.0.0", allow_public=True, settings=open_settings))
    assert "authentication is OFF" in str(check_bind("0.0.0.0", settings=Settings(allow_public=True)))
    assert "not set" in str(check_bind("127.0.0.1", settings=open_settings))
    assert check_bind("0.0.0.0", settings=Settings(api_token="t0ken")) is None


def test_production_refuses_the_default_salt() -> None:
    with pytest.raises(UserError, match="LEPTON_ID_SALT"):
        check_bind("127.0.0.1", settings=Settings(env="production", api_token="t"))
    assert check_bind("0.0.0.0", settings=Settings(env="production", api_token="t", id_salt="s" * 32)) is None


def _lepton(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("LEPTON_")}, "LEPTON_HOME": str(home), **env}
    return subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", *args], capture_output=True, text=True,
                          env=full, timeout=120)


def test_serve_refuses_before_listening(tmp_path: Path) -> None:
    proc = _lepton("fraud", "serve", "--host", "0.0.0.0", home=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("error: refusing to listen on 0.0.0.0")
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = _lepton("fraud", "serve", home=tmp_path, LEPTON_ENV="production", LEPTON_API_TOKEN="t")
    assert proc.returncode == 2 and "LEPTON_ID_SALT" in proc.stderr and "Traceback" not in proc.stderr


def test_asgi_entry_refuses_production_with_the_default_salt(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEPTON_")}, "LEPTON_HOME": str(tmp_path),
           "LEPTON_APP": "fraud", "LEPTON_ENV": "production"}
    proc = subprocess.run([sys.executable, "-c", "import services.asgi"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 1 and "LEPTON_ID_SALT" in proc.stderr and "Traceback" not in proc.stderr


def test_prediction_log_keeps_personal_ids_as_keyed_pseudonyms(tmp_path: Path) -> None:
    output = {"user_id": "42", "items": [{"item": "7", "because": {"customer_id": 9}}], "model_version": "v1",
              "study_uid": "1.2.840.99"}
    inputs = {"user_id": "42", "k": 10}
    with lepton_env(tmp_path, id_salt="first"):
        row = log_row("recommender", "r1", "/v1/users/{user_id}/recommendations", output, inputs, 1.0)
        again = log_row("recommender", "r2", "/x", output, inputs, 1.0)
    with lepton_env(tmp_path, id_salt="second"):
        other = log_row("recommender", "r3", "/x", output, inputs, 1.0)
    text = json.dumps(row["output"])
    assert '"42"' not in text and row["output"]["user_id"].startswith("p:")
    assert row["output"]["items"][0]["because"]["customer_id"].startswith("p:")
    assert row["output"]["study_uid"].startswith("p:")
    assert row["output"]["items"][0]["item"] == "7" and output["user_id"] == "42"  # the answer itself unchanged
    assert row["output"] == again["output"] and row["output"]["user_id"] != other["output"]["user_id"]
    plain = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    assert row["input_hash"] != plain and row["input_hash"] != other["input_hash"]


def test_request_log_has_the_route_template_and_pseudonyms(tmp_path: Path) -> None:
    router = APIRouter(prefix="/v1")

    @router.get("/users/{user_id}/machines/{machine_id}")
    def both(user_id: str, machine_id: str) -> dict[str, str]:
        return {"ok": "yes"}

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    with lepton_env(tmp_path, api_token="tok", id_salt="pepper"):
        app = create_app("sectest", routers=[router])
        logging.getLogger("lepton.sectest").addHandler(handler)
        try:
            with TestClient(app) as client:
                headers = {"Authorization": "Bearer tok"}
                assert client.get("/v1/users/alice-1977/machines/m7", headers=headers).status_code == 200
                assert client.get("/wp-admin/alice-1977", headers=headers).status_code == 404
        finally:
            logging.getLogger("lepton.sectest").removeHandler(handler)
        expected = pseudonym("alice-1977")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if '"request"' in line]
    assert "alice-1977" not in stream.getvalue()
    assert lines[0]["path"] == "/v1/users/{user_id}/machines/{machine_id}"
    assert lines[0]["params"] == {"user_id": expected, "machine_id": "m7"}
    assert lines[1]["path"] == "<unmatched>" and lines[1]["status"] == 404
