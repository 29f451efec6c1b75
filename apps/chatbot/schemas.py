"""The chatbot service's request and response bodies (``service.py`` holds the routes).

Response models declare every key a route builds (``ResponseModel`` lets any other through, so none is lost)."""

from __future__ import annotations

from pydantic import Field

from apps.chatbot.predictor import MAX_MESSAGE_CHARS
from lepton_shared.serving import DbId, RequestModel
from lepton_shared.serving.schemas import ResponseModel


class ChatIn(RequestModel):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="the customer's message")
    session_id: str | None = Field(default=None, max_length=64,
                                   description="conversation to continue; omit to start a new one")


class FeedbackIn(RequestModel):
    message_id: DbId = Field(description="id of the bot reply (message_id in the /v1/chat answer)")
    helpful: bool | None = Field(default=None, description="was the reply helpful?")
    correct_intent: str | None = Field(default=None, max_length=128, description="the intent the user meant")


class HandoffUpdate(RequestModel):
    status: str = Field(description="waiting | taken | closed")


class ChatReply(ResponseModel):
    """The bot's answer to one message, and where it came from."""

    session_id: str
    message_id: int = Field(description="give it to /v1/feedback")
    reply: str
    intent: str
    confidence: float
    out_of_scope: bool
    source: str = Field(description="intent | faq | fallback | handoff")
    handoff: bool = Field(description="the conversation now waits for a human agent")
    handoff_reason: str | None
    faq_question: str | None
    model_version: str
    latency_ms: float


class Message(ResponseModel):
    id: int
    role: str = Field(description="user | bot")
    text: str
    intent: str | None
    confidence: float | None
    source: str | None
    created_at: str | None


class Session(ResponseModel):
    """A conversation with all its messages."""

    session_id: str
    status: str
    model_version: str | None
    created_at: str
    messages: list[Message]


class Feedback(ResponseModel):
    id: int
    message_id: int
    helpful: bool | None
    correct_intent: str | None


class Handoff(ResponseModel):
    """A conversation waiting for (or taken by) a human agent, with its transcript at handoff time."""

    id: int
    session_id: str
    reason: str | None
    status: str
    created_at: str
    transcript: list[Message]


class HandoffStatus(ResponseModel):
    id: int
    status: str


class FeedbackDay(ResponseModel):
    day: str
    helpful: int
    not_helpful: int


class Analytics(ResponseModel):
    replies: int
    sessions: int
    intent_mix: dict[str, int]
    sources: dict[str, int]
    fallback_rate: float
    handoff_rate: float
    feedback_per_day: list[FeedbackDay]


class Intents(ResponseModel):
    """The model's intents and thresholds (for the UI's feedback form)."""

    intents: list[str]
    oos_threshold: float
    faq_threshold: float
    model_version: str
