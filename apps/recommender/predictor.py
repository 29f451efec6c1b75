"""The recommender's ``Predictor``: a loaded model version answering users, sessions and item look-ups."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from apps.recommender.engine import Engine
from apps.recommender.model import Artifact
from lepton_shared.registry import ModelInfo
from lepton_shared.serving import Predictor, RequestModel

MAX_K = 100


class UserRequest(RequestModel):
    """Top-k items for one user; unknown users get what is trending (in ``category`` when given)."""

    user_id: str = Field(min_length=1, max_length=128, description="the user to recommend for")
    k: int = Field(default=10, ge=1, le=MAX_K, description="how many items (1-100)")
    category: str | None = Field(default=None, max_length=128, description="only items of this category")


class SessionRequest(RequestModel):
    """Top-k items for an anonymous session, from the items it touched (no retraining needed)."""

    items: list[str] = Field(max_length=1000, description="item ids the visitor viewed or bought")
    k: int = Field(default=10, ge=1, le=MAX_K)
    category: str | None = Field(default=None, max_length=128)


class RecommenderPredictor(Predictor):
    app_name: ClassVar[str] = "recommender"
    InputModel: ClassVar[type[BaseModel]] = UserRequest

    def __init__(self, info: ModelInfo) -> None:
        super().__init__(info.version)
        self.info = info
        self.engine = Engine(Artifact.load(info.path), info.version)

    def predict_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        return [self.engine.for_user(i.user_id, i.k, i.category) for i in items]

    @classmethod
    def example_input(cls) -> dict[str, Any]:
        return {"user_id": "u1", "k": 10}
