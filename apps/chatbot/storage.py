"""The chatbot's tables and every query on them.

Tables: conversations, their messages, feedback and the handoff queue. Names are prefixed
``chatbot_``; the schema is created by ``migrations/chatbot_0001_initial.py`` (SQLite and PostgreSQL).

Queries: one ``chat`` turn, sessions, feedback, the handoff queue, analytics and the export of
feedback as new training rows. Every write of a turn (user message, bot reply, session state,
handoff) happens in one ``session_scope`` transaction, so a failure never leaves half a turn.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from apps.chatbot.data import OOS_LABEL
from apps.chatbot.dialogue import decide
from lepton_shared.errors import NotFoundError, UserError
from lepton_shared.storage import Base, session_scope
from lepton_shared.storage.models import as_utc, utcnow

if TYPE_CHECKING:
    from apps.chatbot.predictor import ChatbotPredictor

HANDOFF_STATUSES = ("waiting", "taken", "closed")


# -- tables ----------------------------------------------------------------------
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


# -- queries ---------------------------------------------------------------------
def _message_dict(m: ChatMessage) -> dict[str, Any]:
    return {"id": m.id, "role": m.role, "text": m.text, "intent": m.intent, "confidence": m.confidence,
            "source": m.source, "created_at": m.created_at.isoformat() if m.created_at else None}


def chat(predictor: ChatbotPredictor, message: str, session_id: str | None = None,
         analysis: tuple[dict[str, Any], np.ndarray] | None = None) -> dict[str, Any]:
    """Answer one message in a session (a new one when ``session_id`` is None) and store the turn.

    ``analysis``: the message's answer and embedding from ``predictor.analyse`` when the caller computed them
    already (the service does, in micro-batches with other messages); None analyses the message here."""
    text = message.strip()
    if not text:
        raise UserError("the message is empty")
    started = time.perf_counter()
    if analysis is None:
        (result,), embeddings = predictor.analyse([text])
        analysis = result, embeddings[0]
    result, embedding = analysis
    faq = predictor.faq.answer(embedding)
    with session_scope() as db:
        if session_id is None:
            session = ChatSession(id=uuid.uuid4().hex, model_version=predictor.version)
            db.add(session)
            db.flush()
        else:
            found = db.get(ChatSession, session_id)
            if found is None:
                raise NotFoundError(f"unknown session {session_id!r}: omit session_id to start a new one")
            session = found
        decision = decide(text, result["intent"], bool(result["out_of_scope"]), faq,
                          session.low_confidence_streak, predictor.policies.get(result["intent"]),
                          already_handed_off=session.status == "handoff")
        db.add(ChatMessage(session_id=session.id, role="user", text=text))
        reply = ChatMessage(session_id=session.id, role="bot", text=decision.reply, intent=result["intent"],
                            confidence=result["confidence"], source=decision.source)
        db.add(reply)
        session.low_confidence_streak = decision.low_confidence_streak
        session.updated_at = utcnow()
        session.model_version = predictor.version
        db.flush()
        if decision.handoff_reason is not None:
            session.status = "handoff"
            transcript = [_message_dict(m) for m in db.scalars(
                select(ChatMessage).where(ChatMessage.session_id == session.id).order_by(ChatMessage.id))]
            db.add(Handoff(session_id=session.id, reason=decision.handoff_reason, transcript=transcript))
        return {
            "session_id": session.id, "message_id": reply.id, "reply": decision.reply, "intent": result["intent"],
            "confidence": result["confidence"], "out_of_scope": result["out_of_scope"], "source": decision.source,
            "handoff": session.status == "handoff", "handoff_reason": decision.handoff_reason,
            "faq_question": decision.faq_question, "model_version": predictor.version,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }


def get_session(session_id: str) -> dict[str, Any]:
    with session_scope() as db:
        session = db.get(ChatSession, session_id)
        if session is None:
            raise NotFoundError(f"unknown session {session_id!r}")
        messages = db.scalars(select(ChatMessage).where(ChatMessage.session_id == session_id)
                              .order_by(ChatMessage.id)).all()
        return {"session_id": session.id, "status": session.status, "model_version": session.model_version,
                "created_at": session.created_at.isoformat(), "messages": [_message_dict(m) for m in messages]}


def add_feedback(message_id: int, helpful: bool | None, correct_intent: str | None,
                 known_intents: list[str] | None = None) -> dict[str, Any]:
    """Store feedback on a bot reply; ``correct_intent`` must be an intent of the model (or ``oos``)."""
    if helpful is None and not correct_intent:
        raise UserError("give 'helpful' (true/false) and/or 'correct_intent'")
    if correct_intent and known_intents is not None and correct_intent not in (*known_intents, OOS_LABEL):
        raise UserError(f"unknown intent {correct_intent!r}: use one of the model's intents or 'oos'")
    with session_scope() as db:
        message = db.get(ChatMessage, message_id)
        if message is None or message.role != "bot":
            raise NotFoundError(f"no bot reply with id {message_id}")
        row = ChatFeedback(message_id=message_id, helpful=helpful, correct_intent=correct_intent or None)
        db.add(row)
        db.flush()
        return {"id": row.id, "message_id": message_id, "helpful": helpful, "correct_intent": row.correct_intent}


def list_handoffs(status: str | None = "waiting", limit: int = 100) -> list[dict[str, Any]]:
    if status is not None and status not in HANDOFF_STATUSES:
        raise UserError(f"unknown handoff status {status!r}: use one of {', '.join(HANDOFF_STATUSES)}")
    with session_scope() as db:
        query = select(Handoff).order_by(Handoff.created_at, Handoff.id).limit(limit)
        if status is not None:
            query = query.where(Handoff.status == status)
        return [{"id": h.id, "session_id": h.session_id, "reason": h.reason, "status": h.status,
                 "created_at": h.created_at.isoformat(), "transcript": h.transcript} for h in db.scalars(query)]


def update_handoff(handoff_id: int, status: str) -> dict[str, Any]:
    if status not in HANDOFF_STATUSES:
        raise UserError(f"unknown handoff status {status!r}: use one of {', '.join(HANDOFF_STATUSES)}")
    with session_scope() as db:
        handoff = db.get(Handoff, handoff_id)
        if handoff is None:
            raise NotFoundError(f"no handoff with id {handoff_id}")
        handoff.status = status
        if status == "closed":
            session = db.get(ChatSession, handoff.session_id)
            if session is not None:
                session.status, session.low_confidence_streak = "open", 0
        return {"id": handoff.id, "status": handoff.status}


def analytics() -> dict[str, Any]:
    """Intent mix, fallback/handoff rates and feedback per day, for the analytics view."""
    with session_scope() as db:
        replies = db.execute(select(ChatMessage.intent, ChatMessage.source)
                             .where(ChatMessage.role == "bot")).all()
        sessions = db.scalar(select(func.count()).select_from(ChatSession)) or 0
        handed = db.scalar(select(func.count(func.distinct(Handoff.session_id)))) or 0
        feedback = db.execute(select(ChatFeedback.created_at, ChatFeedback.helpful)).all()
    sources = Counter(source for _, source in replies)
    n = len(replies)
    per_day: dict[str, dict[str, int]] = {}
    for created, helpful in feedback:
        day = as_utc(created).date().isoformat()
        entry = per_day.setdefault(day, {"helpful": 0, "not_helpful": 0})
        if helpful is not None:
            entry["helpful" if helpful else "not_helpful"] += 1
    return {
        "replies": n, "sessions": int(sessions),
        "intent_mix": dict(Counter(intent for intent, source in replies if source != "fallback").most_common()),
        "sources": dict(sources),
        "fallback_rate": sources.get("fallback", 0) / n if n else 0.0,
        "handoff_rate": handed / sessions if sessions else 0.0,
        "feedback_per_day": [{"day": d, **v} for d, v in sorted(per_day.items())],
    }


def export_feedback() -> pd.DataFrame:
    """Feedback as new ``text,label`` training rows.

    A corrected intent labels the user message the reply answered; a reply marked
    helpful confirms the predicted intent (fallback and handoff replies confirm nothing).
    """
    rows: list[tuple[str, str]] = []
    with session_scope() as db:
        for fb, reply in db.execute(select(ChatFeedback, ChatMessage)
                                    .join(ChatMessage, ChatFeedback.message_id == ChatMessage.id)
                                    .order_by(ChatFeedback.id)).all():
            question = db.scalar(select(ChatMessage).where(ChatMessage.session_id == reply.session_id,
                                                           ChatMessage.role == "user",
                                                           ChatMessage.id < reply.id)
                                 .order_by(ChatMessage.id.desc()).limit(1))
            if question is None:
                continue
            if fb.correct_intent:
                rows.append((question.text, fb.correct_intent))
            elif fb.helpful and reply.intent and reply.source in ("intent", "faq"):
                rows.append((question.text, reply.intent))
    return pd.DataFrame(rows, columns=["text", "label"]).drop_duplicates().reset_index(drop=True)
