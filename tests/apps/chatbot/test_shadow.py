"""Shadow replay end to end: chat messages answered by the served tiny model, some rated, then a second tiny
version trained as a candidate and replayed with ``lepton models shadow`` (and production through itself)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.server import serve_app

from .conftest import TOKEN

MESSAGES = ("My new card has not arrived yet", "How do I reset my PIN?", "I want to close my account",
            "hello there", "why was I charged twice", "what is the exchange rate for euros",
            "how do I water a tomato plant", "thanks, bye")


def shadow(version: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    from lepton_shared.cli.main import main

    with pytest.raises(SystemExit) as done:
        main(["models", "shadow", "chatbot", version, "--json"])
    assert done.value.code == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def forget_traffic() -> None:
    """The copied home keeps what earlier tests sent to the session's shared model; this test counts its own."""
    from sqlalchemy import delete

    from apps.chatbot.storage import ChatFeedback, ChatMessage, ChatSession, Handoff
    from lepton_shared.storage import PredictionLog, session_scope

    with session_scope() as session:
        for table in (ChatFeedback, Handoff, ChatMessage, ChatSession, PredictionLog):
            session.execute(delete(table))


def test_shadow_replays_chat_messages_through_a_candidate(trained_home: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from apps.chatbot.app import APP
    from apps.chatbot.config import ChatbotTrainConfig

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    with lepton_env(home, api_token=TOKEN):
        forget_traffic()
        with serve_app(APP.create_service()) as base, httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
            replies = [client.post("/v1/chat", json={"message": m}).json() for m in MESSAGES]
            intents = client.get("/v1/intents").json()["intents"]
            for reply in replies[:2]:  # helpful: the reply's intent is the label
                assert client.post("/v1/feedback", json={"message_id": reply["message_id"],
                                                         "helpful": True}).status_code == 200
            for reply in replies[2:4]:  # corrected to another intent
                other = next(i for i in intents if i != reply["intent"])
                assert client.post("/v1/feedback", json={"message_id": reply["message_id"], "helpful": False,
                                                         "correct_intent": other}).status_code == 200
        candidate = APP.train(ChatbotTrainConfig(tiny=True, epochs=1, seed=7, promote="never"))
        assert candidate.stage == "candidate"
        capsys.readouterr()  # training's progress lines

        report = shadow(candidate.version, capsys)
        assert report["production_version"] == "v1" and report["version"] == candidate.version
        assert report["replayed"] == len(MESSAGES) and report["skipped"] == {}
        assert 0.0 <= report["agreement"] <= 1.0
        assert sum(report["answers"]["candidate"]["counts"].values()) == len(MESSAGES)
        assert report["metric_deltas"]["accuracy"]["labelled"] == 4
        assert report["metric_deltas"]["accuracy"]["production"] == 0.5  # right on the 2 helpful, wrong on 2

        same = shadow("v1", capsys)
        assert same["agreement"] == 1.0 and same["metric_deltas"]["accuracy"]["delta"] == 0.0
