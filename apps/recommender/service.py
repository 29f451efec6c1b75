"""The recommender service's routes (``/v1/...``) on the shared service shell: recommendations for a
user or an anonymous session, similar items, a user's history, the serving model, and interactions in
(``POST /v1/events``, stored by ``storage.py`` for the next retrain)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Query, Request

from apps.recommender.engine import Engine
from apps.recommender.manifest import MANIFEST
from apps.recommender.predictor import MAX_K, RecommenderPredictor, SessionRequest
from apps.recommender.schemas import (
    EventsIn,
    History,
    ModelSummary,
    SessionRecommendations,
    SimilarItems,
    Stored,
    UserRecommendations,
)
from apps.recommender.storage import store_events
from lepton_shared.serving import Predictor, create_app, get_predictor, log_prediction
from lepton_shared.serving.schemas import NEEDS_MODEL, errors

router = APIRouter(prefix="/v1", tags=["recommender"])


def _recommender(predictor: Predictor) -> RecommenderPredictor:
    assert isinstance(predictor, RecommenderPredictor)
    return predictor


def _engine(predictor: Predictor) -> Engine:
    return _recommender(predictor).engine


async def loaded_predictor(request: Request) -> Predictor:
    """``get_predictor`` without a thread hop: once loaded it is a dictionary look-up, and the
    recommendation itself takes ~0.1 ms of NumPy, so the hot routes answer on the event loop."""
    return get_predictor(request)


@router.get("/users/{user_id}/recommendations", response_model=UserRecommendations, responses=NEEDS_MODEL)
async def user_recommendations(request: Request, background: BackgroundTasks, user_id: str,
                               k: int = Query(10, ge=1, le=MAX_K),
                               category: str | None = Query(None, max_length=128),
                               predictor: Predictor = Depends(loaded_predictor)) -> dict[str, Any]:
    """Top-k for a user, seen items removed, each with "because you liked X"; trending for unknown users."""
    start = time.perf_counter()
    out = _engine(predictor).for_user(user_id, k, category)
    # the prediction log is written after the answer has been sent (it is a database commit)
    background.add_task(log_prediction, request, out, {"user_id": user_id, "k": k, "category": category},
                        (time.perf_counter() - start) * 1000)
    return out


@router.post("/recommendations", response_model=SessionRecommendations, responses=NEEDS_MODEL)
async def session_recommendations(request: Request, background: BackgroundTasks, body: SessionRequest,
                                  predictor: Predictor = Depends(loaded_predictor)) -> dict[str, Any]:
    """Top-k for an anonymous session from the items it touched; unknown item ids are listed, not fatal."""
    start = time.perf_counter()
    out = _engine(predictor).for_session(body.items, body.k, body.category)
    background.add_task(log_prediction, request, out, body.model_dump(), (time.perf_counter() - start) * 1000)
    return out


@router.get("/items/{item_id}/similar", response_model=SimilarItems, responses=errors(404, 503))
def similar_items(item_id: str, k: int = Query(10, ge=1, le=MAX_K),
                  category: str | None = Query(None, max_length=128),
                  predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """Items most often wanted together with ``item_id`` (404 for an unknown item)."""
    return _engine(predictor).similar(item_id, k, category)


@router.post("/events", status_code=201, response_model=Stored)
def post_events(body: EventsIn) -> dict[str, Any]:
    """Store interactions (all or none); the next `lepton recommender train` uses them."""
    return {"stored": store_events(body.events)}


@router.get("/users/{user_id}/history", response_model=History, responses=NEEDS_MODEL)
def user_history(user_id: str, predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """The items the model knows this user interacted with."""
    engine = _engine(predictor)
    return {"user_id": user_id, "known_user": user_id in engine.user_index, "items": engine.history_of(user_id),
            "model_version": engine.version}


@router.get("/model", response_model=ModelSummary, responses=NEEDS_MODEL)
def model_summary(predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """The serving model: metrics against the baselines, categories, a few example users and items."""
    engine = _engine(predictor)
    info = _recommender(predictor).info
    return {"model_version": engine.version, "family": engine.artifact.info["family"],
            "metrics": info.metrics, "params": {k: v for k, v in info.params.items() if k != "validation"},
            "categories": engine.category_names, "n_users": len(engine.user_index),
            "n_items": len(engine.item_ids), "sample_users": list(engine.artifact.user_ids[:50]),
            "sample_items": [engine.item(i) for i in range(min(200, len(engine.item_ids)))]}


def create_service() -> FastAPI:
    from apps.recommender.app import APP

    return create_app(MANIFEST.name, predictor_loader=lambda: APP.load_predictor(), routers=[router],
                      input_model=RecommenderPredictor.InputModel,
                      micro_batch=MANIFEST.micro_batch, title=f"Lepton {MANIFEST.title.lower()}",
                      description="Product recommendations from implicit feedback: per user, per anonymous "
                                  "session, similar items, with explanations; interactions in via /v1/events.")
