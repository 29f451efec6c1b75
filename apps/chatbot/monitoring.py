"""What chatbot monitoring watches. A message's words stay out of the log, so a message is described by what
drifts when the traffic changes domain: its length in words, the intent the model chose and whether it found
the message out of scope; the prediction watched is the model's confidence. Users' helpful / not-helpful
feedback is the live quality.

A shadow replay compares the intent each version chose for a logged message; a user's corrected intent, or the
intent of a reply they found helpful, is the label its accuracy is measured on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lepton_shared.monitoring import AppMonitor, ReplaySkipped

if TYPE_CHECKING:
    from lepton_shared.serving.predictor import Predictor


class ChatbotMonitor(AppMonitor):
    endpoints = ("/v1/predict", "/v1/chat")

    def features(self, inputs: Any, output: Mapping[str, Any]) -> dict[str, Any] | None:
        text = inputs.get("text", inputs.get("message")) if isinstance(inputs, Mapping) else None
        if not isinstance(text, str) or "intent" not in output:
            return None
        return {"message_words": len(text.split()), "intent": output.get("intent"),
                "out_of_scope": bool(output.get("out_of_scope"))}

    def prediction(self, output: Mapping[str, Any]) -> Any:
        return output.get("confidence")

    def answer(self, output: Mapping[str, Any]) -> Any:
        return output.get("intent")

    def replay_input(self, predictor: Predictor, logged: Any) -> dict[str, Any]:
        """The model's analysis of the message of a ``/v1/predict`` or ``/v1/chat`` body (the conversation's
        FAQ and handoff rules are not replayed: they follow the intent)."""
        text = logged.get("text", logged.get("message")) if isinstance(logged, Mapping) else None
        if not isinstance(text, str) or not text.strip():
            raise ReplaySkipped("no message text logged")
        return predictor.predict(predictor.InputModel.model_validate({"text": text.strip()}))

    def replay_labels(self, outputs: Sequence[Mapping[str, Any]], database_url: str | None = None,
                      answered_at: Sequence[datetime] | None = None) -> list[Any]:
        """The intent a user gave back on a ``/v1/chat`` reply (``message_id``): the one they corrected it to,
        or the reply's own when they found it helpful and corrected nothing."""
        from sqlalchemy import select

        from apps.chatbot.storage import ChatFeedback, ChatMessage
        from lepton_shared.storage import session_scope

        ids = [o.get("message_id") for o in outputs]
        with session_scope(database_url) as session:
            rows = session.execute(select(ChatFeedback.message_id, ChatFeedback.helpful, ChatFeedback.correct_intent,
                                          ChatMessage.intent)
                                   .join(ChatMessage, ChatMessage.id == ChatFeedback.message_id)
                                   .where(ChatFeedback.message_id.in_([i for i in ids if isinstance(i, int)]))
                                   .order_by(ChatFeedback.id)).all()
        found = {r.message_id: r.correct_intent or (r.intent if r.helpful else None) for r in rows}
        return [found.get(i) if isinstance(i, int) else None for i in ids]

    def live_quality(self, since: datetime, database_url: str | None = None) -> dict[str, Any] | None:
        """Feedback received since ``since``: the share of rated replies found helpful, and of replies whose
        intent the user corrected."""
        from sqlalchemy import select

        from apps.chatbot.storage import ChatFeedback, ChatMessage
        from lepton_shared.storage import session_scope

        with session_scope(database_url) as session:
            rows = session.execute(select(ChatFeedback.helpful, ChatFeedback.correct_intent, ChatMessage.intent)
                                   .join(ChatMessage, ChatMessage.id == ChatFeedback.message_id)
                                   .where(ChatFeedback.created_at >= since)).all()
        if not rows:
            return None
        rated = [r.helpful for r in rows if r.helpful is not None]
        corrected = [r for r in rows if r.correct_intent]
        return {"feedback": len(rows), "helpful_rate": round(sum(rated) / len(rated), 4) if rated else None,
                "intent_corrected_rate": round(sum(r.correct_intent != r.intent for r in corrected) / len(rows), 4)}


MONITOR_CLASS = ChatbotMonitor
