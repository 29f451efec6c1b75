"""The reply rules: human request, low confidence twice, needs-agent intents, FAQ and canned answers."""

from __future__ import annotations

import pytest

from apps.chatbot.dialogue import FALLBACK_REPLY, WAITING_REPLY, asks_for_human, decide
from apps.chatbot.faq import FaqMatch

FAQ = FaqMatch("Are you open on Sunday?", "No, Monday to Friday.", 0.91)


@pytest.mark.parametrize("text", ["Can I speak to a human?", "I want a real person", "talk to someone please",
                                  "get me a representative", "Let me talk to an agent"])
def test_human_requests(text: str) -> None:
    assert asks_for_human(text)
    d = decide(text, "card_arrival", False, None, 0, {"answer": "soon"})
    assert d.source == "handoff" and d.handoff_reason == "asked_for_human"


@pytest.mark.parametrize("text", ["my card has not arrived", "what are human rights"])
def test_ordinary_messages_are_not_human_requests(text: str) -> None:
    assert not asks_for_human(text)


def test_low_confidence_twice_in_a_row_hands_off() -> None:
    first = decide("blah", "card_arrival", True, None, 0, {"answer": "soon"})
    assert first.source == "fallback" and first.reply == FALLBACK_REPLY and first.low_confidence_streak == 1
    second = decide("blah blah", "card_arrival", True, None, first.low_confidence_streak, {})
    assert second.source == "handoff" and second.handoff_reason == "low_confidence"


def test_confident_answer_resets_the_streak() -> None:
    d = decide("when does my card come", "card_arrival", False, None, 1, {"answer": "In 5 days."})
    assert d.source == "intent" and d.reply == "In 5 days." and d.low_confidence_streak == 0


def test_faq_answers_an_out_of_scope_message() -> None:
    d = decide("open sundays?", "opening_hours", True, FAQ, 1, {})
    assert d.source == "faq" and d.reply == FAQ.answer and d.low_confidence_streak == 0


def test_needs_agent_intent_hands_off() -> None:
    d = decide("someone used my card", "report_fraud", False, FAQ, 0, {"needs_agent": True})
    assert d.source == "handoff" and d.handoff_reason == "needs_agent"


def test_intent_without_canned_answer_uses_faq_then_acknowledges() -> None:
    assert decide("x", "card_linking", False, FAQ, 0, {}).source == "faq"
    d = decide("x", "card_linking", False, None, 0, {})
    assert d.source == "intent" and "card linking" in d.reply


def test_after_handoff_the_bot_only_says_an_agent_will_reply() -> None:
    d = decide("hello?", "greeting", False, None, 0, {"answer": "Hello!"}, already_handed_off=True)
    assert d.reply == WAITING_REPLY and d.handoff_reason is None
