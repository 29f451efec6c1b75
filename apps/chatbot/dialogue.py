"""The reply rules, kept pure (no database, no model) so each rule is easy to test.

Order of precedence for one message:

1. the user asks for a person -> handoff;
2. the model is not confident (out of scope): an FAQ answer when a question is close enough,
   otherwise the fallback answer, and a handoff when that happens twice in a row;
3. an intent marked as needing an agent -> handoff;
4. the intent's canned answer, else a close FAQ answer, else an acknowledgement of the intent.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from apps.chatbot.faq import FaqMatch

LOW_CONFIDENCE_TURNS_BEFORE_HANDOFF = 2
HUMAN_REQUEST = re.compile(
    r"\b(a human|real person|live agent|an agent|a person|representative|operator|someone real|"
    r"(speak|talk|chat) (to|with) (someone|somebody|a person|staff|an? (human|agent)))\b",
    re.IGNORECASE,
)
FALLBACK_REPLY = ("Sorry, I'm not sure I understood. I can help with cards, payments, transfers, your account "
                  "and loans: could you rephrase?")
HANDOFF_REPLY = "I'm passing you to one of our agents; they will see this conversation and reply here shortly."
WAITING_REPLY = "An agent has your conversation and will reply here shortly."


@dataclass(frozen=True)
class Decision:
    reply: str
    source: str  # intent | faq | fallback | handoff
    handoff_reason: str | None  # asked_for_human | low_confidence | needs_agent
    low_confidence_streak: int
    faq_question: str | None = None
    faq_score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def asks_for_human(text: str) -> bool:
    return HUMAN_REQUEST.search(text) is not None


def humanise(intent: str) -> str:
    return intent.replace("_", " ").strip()


def decide(text: str, intent: str, out_of_scope: bool, faq: FaqMatch | None, streak: int,
           policy: dict[str, Any] | None, already_handed_off: bool = False) -> Decision:
    """What the bot answers to ``text`` given the model's verdict and the session's low-confidence streak."""
    policy = policy or {}
    if already_handed_off:
        return Decision(WAITING_REPLY, "handoff", None, streak)
    if asks_for_human(text):
        return Decision(HANDOFF_REPLY, "handoff", "asked_for_human", 0)
    if out_of_scope:
        if faq is not None:
            return Decision(faq.answer, "faq", None, 0, faq.question, round(faq.score, 4))
        streak += 1
        if streak >= LOW_CONFIDENCE_TURNS_BEFORE_HANDOFF:
            return Decision(HANDOFF_REPLY, "handoff", "low_confidence", streak)
        return Decision(FALLBACK_REPLY, "fallback", None, streak)
    if policy.get("needs_agent"):
        return Decision(HANDOFF_REPLY, "handoff", "needs_agent", 0)
    if policy.get("answer"):
        return Decision(str(policy["answer"]), "intent", None, 0)
    if faq is not None:
        return Decision(faq.answer, "faq", None, 0, faq.question, round(faq.score, 4))
    return Decision(f"I understand this is about {humanise(intent)}. Let me help you with that: could you give "
                    "me a few more details?", "intent", None, 0)
