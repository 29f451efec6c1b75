"""The chatbot service over real HTTP on loopback with the tiny model: chat, sessions,
feedback, handoffs, analytics, and bad input answered with a 4xx and a message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lepton_shared.testing.server import serve_app

from .conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def base(trained_home: Path) -> Iterator[str]:
    from apps.chatbot.app import APP
    from lepton_shared.testing.env import lepton_env

    with lepton_env(trained_home, api_token=TOKEN), serve_app(APP.create_service()) as url:
        yield url


def post(base: str, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{base}{path}", json=body, headers=AUTH, timeout=60)


def test_chat_session_feedback_and_handoff_round_trip(base: str) -> None:
    first = post(base, "/v1/chat", {"message": "Hello"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["source"] in ("intent", "faq", "fallback", "handoff")
    assert 0.0 <= body["confidence"] <= 1.0 and body["model_version"] == "v1"
    sid = body["session_id"]
    second = post(base, "/v1/chat", {"message": "Can I speak to a real person please?", "session_id": sid}).json()
    assert second["source"] == "handoff" and second["handoff_reason"] == "asked_for_human"
    session = httpx.get(f"{base}/v1/sessions/{sid}", headers=AUTH).json()
    assert session["status"] == "handoff" and len(session["messages"]) == 4
    queue = httpx.get(f"{base}/v1/handoffs", headers=AUTH).json()
    assert any(h["session_id"] == sid and len(h["transcript"]) == 4 for h in queue)
    fb = post(base, "/v1/feedback", {"message_id": body["message_id"], "correct_intent": "greeting"})
    assert fb.status_code == 200, fb.text
    export = httpx.get(f"{base}/v1/feedback/export", headers=AUTH)
    assert export.text.splitlines() == ["text,label", "Hello,greeting"]
    stats = httpx.get(f"{base}/v1/analytics", headers=AUTH).json()
    assert stats["sessions"] >= 1 and stats["handoff_rate"] > 0
    handoff_id = next(h["id"] for h in queue if h["session_id"] == sid)
    assert post(base, f"/v1/handoffs/{handoff_id}", {"status": "closed"}).json()["status"] == "closed"


def test_predict_is_pure(base: str) -> None:
    out = post(base, "/v1/predict", {"text": "I lost my card"}).json()
    assert set(out) == {"intent", "confidence", "out_of_scope", "model_version"}
    stats = httpx.get(f"{base}/v1/analytics", headers=AUTH).json()
    assert post(base, "/v1/predict", {"text": "I lost my card"}).json() == out
    assert httpx.get(f"{base}/v1/analytics", headers=AUTH).json()["replies"] == stats["replies"]


@pytest.mark.parametrize(("path", "body", "status", "needle"), [
    ("/v1/chat", {"message": "x" * 1001}, 422, "at most 1000"),
    ("/v1/chat", {"message": ""}, 422, "message"),
    ("/v1/chat", {"text": "hi"}, 422, "message"),
    ("/v1/chat", {"message": "hi", "session_id": "nope"}, 404, "unknown session"),
    ("/v1/feedback", {"message_id": 999999, "helpful": True}, 404, "no bot reply"),
    ("/v1/feedback", {"message_id": 1}, 400, "helpful"),
    ("/v1/feedback", {"message_id": 1, "correct_intent": "made_up"}, 400, "unknown intent"),
    ("/v1/handoffs/1", {"status": "lost"}, 400, "status"),
    ("/v1/predict", {"text": "y" * 1001}, 422, "1000"),
])
def test_bad_input_is_a_4xx_with_a_message(base: str, path: str, body: object, status: int, needle: str) -> None:
    resp = post(base, path, body)
    assert resp.status_code == status, resp.text
    assert needle in resp.json()["detail"]


def test_unknown_session_and_missing_token(base: str) -> None:
    assert httpx.get(f"{base}/v1/sessions/nope", headers=AUTH).status_code == 404
    assert httpx.post(f"{base}/v1/chat", json={"message": "hi"}).status_code == 401
    assert httpx.get(f"{base}/v1/handoffs", params={"status": "odd"}, headers=AUTH).status_code == 400


def test_service_without_model_says_so(tmp_path: Path) -> None:
    from apps.chatbot.app import APP
    from lepton_shared.testing.env import lepton_env

    with lepton_env(tmp_path / "empty", api_token=TOKEN), serve_app(APP.create_service()) as url:
        resp = httpx.post(f"{url}/v1/chat", json={"message": "hi"}, headers=AUTH, timeout=60)
        assert resp.status_code == 503 and "lepton chatbot train" in resp.json()["detail"]


def test_ids_beyond_64_bits_are_422(tmp_path: Path) -> None:
    from apps.chatbot.app import APP
    from lepton_shared.testing.env import lepton_env

    with lepton_env(tmp_path / "home", api_token=TOKEN), serve_app(APP.create_service()) as url:
        for handoff in (2**63, 2**64, 10**30):
            resp = httpx.post(f"{url}/v1/handoffs/{handoff}", json={"status": "closed"}, headers=AUTH, timeout=30)
            assert resp.status_code == 422 and "handoff_id" in resp.json()["detail"], resp.text
        assert httpx.post(f"{url}/v1/handoffs/{2**63 - 1}", json={"status": "closed"}, headers=AUTH,
                          timeout=30).status_code == 404
