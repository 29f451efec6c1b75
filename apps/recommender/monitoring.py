"""What recommender monitoring watches: how many items are asked for and in which category, whether the user
was known to the model (a wave of new users turns answers into cold-start popularity lists), and the score of
the top recommendation. No user or item id is kept in the features."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lepton_shared.monitoring import AppMonitor

ANY_CATEGORY = "(any)"


class RecommenderMonitor(AppMonitor):
    endpoints = ("/v1/predict", "/v1/users/")

    def features(self, inputs: Any, output: Mapping[str, Any]) -> dict[str, Any] | None:
        if not isinstance(inputs, Mapping) or "strategy" not in output:
            return None
        return {"k": inputs.get("k", 10), "category": inputs.get("category") or ANY_CATEGORY,
                "strategy": output["strategy"]}

    def prediction(self, output: Mapping[str, Any]) -> Any:
        items = output.get("items") or []
        return items[0].get("score") if items else None


MONITOR_CLASS = RecommenderMonitor
