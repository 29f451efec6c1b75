"""The chatbot's storage: turns, handoff queue with transcript, feedback, export, analytics.

A stand-in predictor with scripted answers keeps these tests about the
conversation rules and storage (the real model is covered by the service tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from apps.chatbot import storage
from apps.chatbot.faq import FaqIndex
from lepton_shared.errors import NotFoundError, UserError

SCRIPT = {
    "when does my card come": ("card_arrival", 0.95),
    "open on sunday?": ("opening_hours", 0.2),
    "what is the weather": ("exchange_rate", 0.1),
    "tell me a joke": ("greeting", 0.15),
    "someone used my card": ("report_fraud", 0.9),
}


class ScriptedPredictor:
    version = "v7"
    threshold = 0.5
    labels = ["card_arrival", "opening_hours", "exchange_rate", "greeting", "report_fraud"]
    policies = {"card_arrival": {"answer": "Within 5 days."}, "report_fraud": {"needs_agent": True}}

    def __init__(self) -> None:
        self.script = dict(SCRIPT)  # this predictor's own answers: a test may add some without touching SCRIPT
        # the FAQ question "open on sunday?" sits on axis 0; every other message on axis 1
        self.faq = FaqIndex(["Are you open on Sunday?"], ["No, Monday to Friday."], np.array([[1.0, 0.0]]), 0.8)

    def analyse(self, texts: list[str]) -> tuple[list[dict[str, Any]], np.ndarray]:
        intent, conf = self.script[texts[0]]
        emb = np.array([[1.0, 0.0]]) if texts[0] == "open on sunday?" else np.array([[0.0, 1.0]])
        return [{"intent": intent, "confidence": conf, "out_of_scope": conf < self.threshold,
                 "model_version": self.version}], emb


@pytest.fixture()
def bot(lepton_db_home: Path) -> Any:
    return ScriptedPredictor()


def test_turns_are_stored_in_order(bot: Any) -> None:
    first = storage.chat(bot, "when does my card come")
    assert first["source"] == "intent" and first["reply"] == "Within 5 days." and not first["handoff"]
    second = storage.chat(bot, "open on sunday?", first["session_id"])
    assert second["source"] == "faq" and second["faq_question"] == "Are you open on Sunday?"
    session = storage.get_session(first["session_id"])
    assert [m["role"] for m in session["messages"]] == ["user", "bot", "user", "bot"]
    assert session["messages"][1]["intent"] == "card_arrival" and session["messages"][1]["confidence"] == 0.95
    assert session["status"] == "open" and session["model_version"] == "v7"


def test_two_low_confidence_turns_go_to_the_queue_with_transcript(bot: Any) -> None:
    first = storage.chat(bot, "what is the weather")
    assert first["source"] == "fallback"
    second = storage.chat(bot, "tell me a joke", first["session_id"])
    assert second["source"] == "handoff" and second["handoff_reason"] == "low_confidence" and second["handoff"]
    queue = storage.list_handoffs("waiting")
    assert len(queue) == 1 and queue[0]["session_id"] == first["session_id"]
    assert [m["text"] for m in queue[0]["transcript"] if m["role"] == "user"] == ["what is the weather",
                                                                                 "tell me a joke"]
    third = storage.chat(bot, "when does my card come", first["session_id"])
    assert third["source"] == "handoff" and third["handoff_reason"] is None  # no second queue entry
    assert len(storage.list_handoffs("waiting")) == 1
    storage.update_handoff(queue[0]["id"], "closed")
    assert storage.list_handoffs("waiting") == []
    assert storage.chat(bot, "when does my card come", first["session_id"])["source"] == "intent"


def test_asking_for_a_person_and_needs_agent_intents(bot: Any) -> None:
    bot.script["can I talk to a human"] = ("greeting", 0.9)
    assert storage.chat(bot, "can I talk to a human")["handoff_reason"] == "asked_for_human"
    assert storage.chat(bot, "someone used my card")["handoff_reason"] == "needs_agent"
    assert {h["reason"] for h in storage.list_handoffs("waiting")} == {"asked_for_human", "needs_agent"}


def test_unknown_session_and_bad_inputs(bot: Any) -> None:
    with pytest.raises(NotFoundError):
        storage.chat(bot, "when does my card come", "no-such-session")
    with pytest.raises(UserError):
        storage.chat(bot, "   ")
    with pytest.raises(NotFoundError):
        storage.get_session("nope")
    with pytest.raises(UserError, match="status"):
        storage.list_handoffs("lost")


def test_feedback_export_as_training_rows(bot: Any) -> None:
    a = storage.chat(bot, "when does my card come")
    b = storage.chat(bot, "what is the weather")
    storage.add_feedback(a["message_id"], True, None, bot.labels)
    storage.add_feedback(b["message_id"], False, "opening_hours", bot.labels)
    with pytest.raises(UserError, match="unknown intent"):
        storage.add_feedback(b["message_id"], False, "made_up", bot.labels)
    with pytest.raises(NotFoundError):
        storage.add_feedback(10_000, True, None, bot.labels)
    rows = storage.export_feedback()
    assert rows.to_dict("records") == [{"text": "when does my card come", "label": "card_arrival"},
                                       {"text": "what is the weather", "label": "opening_hours"}]


def test_analytics_rates(bot: Any) -> None:
    s1 = storage.chat(bot, "when does my card come")["session_id"]
    storage.chat(bot, "what is the weather", s1)
    storage.chat(bot, "tell me a joke", s1)  # handoff
    m = storage.chat(bot, "when does my card come")
    storage.add_feedback(m["message_id"], True, None)
    stats = storage.analytics()
    assert stats["replies"] == 4 and stats["sessions"] == 2
    assert stats["fallback_rate"] == 0.25 and stats["handoff_rate"] == 0.5
    assert stats["intent_mix"]["card_arrival"] == 2
    assert stats["feedback_per_day"][0]["helpful"] == 1


def test_migration_creates_the_chatbot_tables(lepton_db_home: Path) -> None:
    from sqlalchemy import inspect

    from lepton_shared.storage import get_engine, init_db

    init_db()
    tables = set(inspect(get_engine()).get_table_names())
    assert {"chatbot_sessions", "chatbot_messages", "chatbot_feedback", "chatbot_handoffs"} <= tables
    columns = {c["name"] for c in inspect(get_engine()).get_columns("chatbot_handoffs")}
    assert {"session_id", "reason", "status", "transcript", "created_at"} <= columns
