"""The recommender service's request and response bodies (``service.py`` holds the routes; the recommendation
request bodies are the predictor's, in ``predictor.py``).

Response models declare every key a route builds (``ResponseModel`` lets any other through, so none is lost)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from lepton_shared.serving import RequestModel
from lepton_shared.serving.schemas import ResponseModel


class EventIn(RequestModel):
    """One interaction: who touched what, how strongly and when (defaults: weight 1, now)."""

    user_id: str = Field(min_length=1, max_length=128, description="the user who interacted")
    item_id: str = Field(min_length=1, max_length=128, description="the item they interacted with")
    weight: float = Field(default=1.0, gt=0, le=1e6, description="strength of the signal (> 0)")
    event_type: str = Field(default="interaction", max_length=32, description="view, cart, purchase, ...")
    occurred_at: datetime | None = Field(default=None, description="when it happened (default: now)")


class EventsIn(RequestModel):
    events: list[EventIn] = Field(min_length=1, max_length=10_000, description="interactions to store")


class Item(ResponseModel):
    item_id: str
    title: str
    category: str


class Because(Item):
    """An item of the history that led to a recommendation, and how much."""

    weight: float


class Recommended(Item):
    score: float
    because: list[Because]
    reason: str = Field(examples=["because you liked “Dune”"])


class Recommendations(ResponseModel):
    """Top-k items, best first; ``cold_start`` when there is no history to go on (trending items)."""

    items: list[Recommended]
    strategy: str = Field(description="personalised | cold_start")
    category: str | None
    model_version: str


class UserRecommendations(Recommendations):
    user_id: str
    known_user: bool


class SessionRecommendations(Recommendations):
    unknown_items: list[str] = Field(description="item ids of the session the model does not know")


class Similar(Item):
    score: float


class SimilarItems(ResponseModel):
    item: Item
    similar: list[Similar]
    model_version: str


class Stored(ResponseModel):
    stored: int


class History(ResponseModel):
    user_id: str
    known_user: bool
    items: list[Item]
    model_version: str


class ModelSummary(ResponseModel):
    """The serving model: metrics against the baselines, categories, a few example users and items."""

    model_version: str
    family: str
    metrics: dict[str, Any]
    params: dict[str, Any]
    categories: list[str]
    n_users: int
    n_items: int
    sample_users: list[str]
    sample_items: list[Item]
