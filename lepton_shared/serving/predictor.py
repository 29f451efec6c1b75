"""The one interface between an app's model and everything that serves it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel


class Predictor(ABC):
    """A loaded model version that answers requests.

    ``InputModel`` validates one request item; ``predict_batch`` answers many at
    once (so the service can micro-batch concurrent requests); every answer is
    a JSON-able dict that contains ``model_version``.
    """

    app_name: ClassVar[str]
    InputModel: ClassVar[type[BaseModel]]

    def __init__(self, version: str) -> None:
        self.version = version

    @abstractmethod
    def predict_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        """Answer validated ``InputModel`` instances, one dict each, in order."""

    def predict(self, item: Any) -> dict[str, Any]:
        return self.predict_batch([item])[0]

    @classmethod
    @abstractmethod
    def example_input(cls) -> dict[str, Any]:
        """A valid request body for one item (used in the docs and the contract tests)."""
