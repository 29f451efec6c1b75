"""The chatbot's HTTP service: ``/v1/chat``, sessions, feedback, the handoff queue
and analytics, on the suite's shared shell (auth, size limit, metrics, logs)."""

from __future__ import annotations

import io
import time
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from apps.chatbot import storage
from apps.chatbot.predictor import ChatbotPredictor
from apps.chatbot.schemas import (
    Analytics,
    ChatIn,
    ChatReply,
    Feedback,
    FeedbackIn,
    Handoff,
    HandoffStatus,
    HandoffUpdate,
    Intents,
    Session,
)
from lepton_shared.serving import DbId, Predictor, create_app, get_predictor, log_prediction
from lepton_shared.serving.app import ServiceState
from lepton_shared.serving.schemas import NEEDS_MODEL, CsvResponse, errors

router = APIRouter(prefix="/v1", tags=["chatbot"])


def _chatbot(predictor: Predictor) -> ChatbotPredictor:
    assert isinstance(predictor, ChatbotPredictor)
    return predictor


def _analyse_batch(predictor: Predictor, texts: list[str]) -> list[tuple[dict[str, Any], Any]]:
    results, embeddings = _chatbot(predictor).analyse(texts)
    return list(zip(results, embeddings, strict=True))


@router.post("/chat", response_model=ChatReply, responses=errors(400, 404, 503))
async def chat(body: ChatIn, request: Request, predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """Answer one message: reply, intent, confidence and source (intent | faq | fallback | handoff)."""
    start = time.perf_counter()
    analysis = None
    state: ServiceState = request.app.state.lepton
    batcher = state.batcher_for("/v1/chat", _analyse_batch)  # None when micro-batching is off
    if batcher is not None and body.message.strip():  # the model part in a batch, the turn's writes alone
        analysis = await batcher.submit(body.message.strip())
    out = await run_in_threadpool(storage.chat, _chatbot(predictor), body.message, body.session_id, analysis)
    await run_in_threadpool(log_prediction, request, out, body.model_dump(), (time.perf_counter() - start) * 1000)
    return out


@router.get("/sessions/{session_id}", response_model=Session, responses=errors(404))
def get_session(session_id: str) -> dict[str, Any]:
    """A conversation with all its messages."""
    return storage.get_session(session_id)


@router.post("/feedback", response_model=Feedback, responses=errors(400, 404, 503))
def feedback(body: FeedbackIn, predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """Helpful / not helpful on a bot reply, optionally with the intent the user meant."""
    return storage.add_feedback(body.message_id, body.helpful, body.correct_intent,
                                     _chatbot(predictor).labels)


@router.get("/feedback/export", response_class=CsvResponse)
def feedback_export() -> Response:
    """Feedback as ``text,label`` CSV rows, ready to add to the training data."""
    buf = io.StringIO()
    storage.export_feedback().to_csv(buf, index=False)
    return Response(buf.getvalue(), media_type="text/csv",
                    headers={"content-disposition": "attachment; filename=chatbot_feedback.csv"})


@router.get("/handoffs", response_model=list[Handoff], responses=errors(400))
def handoffs(status: str | None = Query("waiting", description="waiting | taken | closed"),
             limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    """The handoff queue (oldest first) with each conversation's transcript."""
    return storage.list_handoffs(status, limit)


@router.post("/handoffs/{handoff_id}", response_model=HandoffStatus, responses=errors(400, 404))
def update_handoff(handoff_id: DbId, body: HandoffUpdate) -> dict[str, Any]:
    """An agent takes or closes a handoff (closing reopens the conversation to the bot)."""
    return storage.update_handoff(handoff_id, body.status)


@router.get("/analytics", response_model=Analytics)
def analytics() -> dict[str, Any]:
    """Intent mix, fallback and handoff rates, feedback per day."""
    return storage.analytics()


@router.get("/intents", response_model=Intents, responses=NEEDS_MODEL)
def intents(predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """The model's intents and thresholds (for the UI's feedback form)."""
    p = _chatbot(predictor)
    return {"intents": p.labels, "oos_threshold": p.threshold, "faq_threshold": p.faq.threshold,
            "model_version": p.version}


def create_service() -> FastAPI:
    from apps.chatbot.app import APP
    from apps.chatbot.manifest import MANIFEST

    # micro-batching of /v1/predict and /v1/chat on by default (LEPTON_MICRO_BATCH overrides)
    return create_app("chatbot", predictor_loader=APP.load_predictor, routers=[router],
                      input_model=ChatbotPredictor.InputModel,
                      micro_batch=MANIFEST.micro_batch, title="Lepton chatbot",
                      description="Customer-service assistant: intents, FAQ answers, out-of-scope fallback and "
                                  "human handoff.")
