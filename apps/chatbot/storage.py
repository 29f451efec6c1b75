"""The chatbot's tables: conversations, their messages, feedback and the handoff queue.

Names are prefixed ``chatbot_``; the schema is created by
``migrations/chatbot_0001_initial.py`` (SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lepton_shared.storage import Base
from lepton_shared.storage.models import utcnow


class ChatSession(Base):
    """One conversation; ``low_confidence_streak`` drives the "twice in a row" handoff rule."""

    __tablename__ = "chatbot_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | handoff
    low_confidence_streak: Mapped[int] = mapped_column(Integer, default=0)
    model_version: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChatMessage(Base):
    """A user message or a bot reply; bot replies carry the intent, confidence and answer source."""

    __tablename__ = "chatbot_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chatbot_sessions.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(8))  # user | bot
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(128), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str | None] = mapped_column(String(16), nullable=True)  # intent | faq | fallback | handoff
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class ChatFeedback(Base):
    """Helpful / not helpful on a bot reply, optionally with the intent the user meant."""

    __tablename__ = "chatbot_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("chatbot_messages.id", ondelete="CASCADE"), index=True)
    helpful: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    correct_intent: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Handoff(Base):
    """A conversation waiting for a human agent, with the transcript at handoff time."""

    __tablename__ = "chatbot_handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chatbot_sessions.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # asked_for_human | low_confidence | needs_agent
    status: Mapped[str] = mapped_column(String(16), default="waiting", index=True)  # waiting | taken | closed
    transcript: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
