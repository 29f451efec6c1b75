"""The fraud service's routes: ``/v1/score`` (records), ``/v1/score/batch``, ``/v1/labels``, ``/v1/review-queue``,
``/v1/dashboard``, ``/v1/model``; ``/v1/predict`` (scores without recording) comes from ``create_app``.

A route that reads or writes the database does it in one transaction (``session_scope``); the queries are in
``storage.py``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request

from apps.fraud import storage
from apps.fraud.manifest import MANIFEST
from apps.fraud.predictor import FraudPredictor, TransactionIn
from apps.fraud.schemas import BatchIn, Dashboard, Labels, LabelsIn, ModelInfo, ReviewQueue, Score, ScoreBatch
from lepton_shared.serving import Predictor, create_app, get_predictor, log_prediction
from lepton_shared.serving.schemas import NEEDS_MODEL, errors
from lepton_shared.storage import session_scope

router = APIRouter(prefix="/v1", tags=["fraud"])


def _fraud(predictor: Predictor) -> FraudPredictor:
    assert isinstance(predictor, FraudPredictor)
    return predictor


@router.post("/score", response_model=Score, responses=errors(409, 503))
def score(request: Request, item: TransactionIn, predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """Score one transaction, decide, explain, and add it to the customer's and terminal's history."""
    start = time.perf_counter()
    with session_scope() as session:
        answers, inputs = _fraud(predictor).score_record_inputs(session, [item])
        log_prediction(request, answers[0], item.model_dump(mode="json"), (time.perf_counter() - start) * 1000,
                       session=session, model_input=inputs[0])
    return answers[0]


@router.post("/score/batch", response_model=ScoreBatch, responses=errors(400, 409, 503))
def score_batch(request: Request, body: BatchIn, predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """Score up to 1000 transactions in time order; all are recorded, or none on error."""
    start = time.perf_counter()
    with session_scope() as session:
        answers = _fraud(predictor).score_and_record(session, body.transactions)
        log_prediction(request, {"model_version": predictor.version, "n": len(answers)},
                       [t.model_dump(mode="json") for t in body.transactions], (time.perf_counter() - start) * 1000,
                       session=session)
    return {"results": answers, "model_version": predictor.version}


@router.post("/labels", response_model=Labels, responses=errors(400, 404))
def labels(body: LabelsIn) -> dict[str, Any]:
    """Analyst decisions or chargebacks; they feed the delayed risk features and the next retrain."""
    with session_scope() as session:
        stored = [storage.apply_label(session, x.transaction_id, x.label, x.source) for x in body.labels]
    return {"stored": stored}


@router.get("/review-queue", response_model=ReviewQueue)
def review_queue(limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
    """Unlabelled alerts, riskiest first, with their reason codes."""
    with session_scope() as session:
        return {"items": storage.review_queue(session, limit)}


@router.get("/dashboard", response_model=Dashboard)
def dashboard() -> dict[str, Any]:
    """Daily transactions, alerts, fraud rate, precision of labelled alerts and mean score (drift)."""
    with session_scope() as session:
        return {"days": storage.dashboard(session)}


@router.get("/model", response_model=ModelInfo, responses=NEEDS_MODEL)
def model(predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """The serving model: version, kind, features and the cost policy its decisions follow."""
    fraud = _fraud(predictor)
    return {"model_version": fraud.version, "kind": fraud.model.kind, "features": fraud.model.features,
            "policy": fraud.policy.as_dict()}


def create_service() -> FastAPI:
    from apps.fraud.app import APP

    return create_app(MANIFEST.name, predictor_loader=lambda: APP.load_predictor(), routers=[router],
                      input_model=FraudPredictor.InputModel,
                      micro_batch=MANIFEST.micro_batch, title=f"Lepton {MANIFEST.title.lower()}",
                      description=f"{MANIFEST.title}: {MANIFEST.summary}.")
