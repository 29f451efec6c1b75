"""What recommender monitoring watches: how many items are asked for and in which category, whether the user
was known to the model (a wave of new users turns answers into cold-start popularity lists), and the score of
the top recommendation. No user or item id is kept in the features.

A shadow replay compares the top item of each answer. The log keeps a user's id as its keyed pseudonym only, so
the replay finds the user among the version's known users by their pseudonyms under the same
``LEPTON_ID_SALT``; a user that version does not know gets its cold-start answer, as the service would give.
No metric deltas: which recommended item a user took later is not joined to the request yet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lepton_shared.monitoring import AppMonitor, ReplaySkipped

if TYPE_CHECKING:
    from lepton_shared.serving.predictor import Predictor

ANY_CATEGORY = "(any)"


class RecommenderMonitor(AppMonitor):
    endpoints = ("/v1/predict", "/v1/users/")

    def features(self, inputs: Any, output: Mapping[str, Any]) -> dict[str, Any] | None:
        if not isinstance(inputs, Mapping) or "strategy" not in output:
            return None
        return {"k": inputs.get("k", 10), "category": inputs.get("category") or ANY_CATEGORY,
                "strategy": output["strategy"]}

    def __init__(self) -> None:
        self._users: tuple[int, dict[str, str]] | None = None  #: (id of the predictor, pseudonym -> user id)

    def prediction(self, output: Mapping[str, Any]) -> Any:
        items = output.get("items") or []
        return items[0].get("score") if items else None

    def answer(self, output: Mapping[str, Any]) -> Any:
        items = output.get("items") or []
        return items[0].get("item_id") if items else None

    def replay_input(self, predictor: Predictor, logged: Any) -> dict[str, Any]:
        """A user's (``/v1/predict``, ``/v1/users/…``) or a session's request, answered by ``predictor``."""
        from apps.recommender.predictor import RecommenderPredictor

        assert isinstance(predictor, RecommenderPredictor)
        if not isinstance(logged, Mapping) or not ("user_id" in logged or "items" in logged):
            raise ReplaySkipped("neither a user nor a session request")
        k, category = int(logged.get("k") or 10), logged.get("category")
        if "items" in logged:
            return predictor.engine.for_session([str(i) for i in logged["items"]], k, category)
        return predictor.engine.for_user(self._user(predictor, str(logged["user_id"])), k, category)

    def _user(self, predictor: Any, logged_id: str) -> str:
        """The known user behind a logged pseudonym (the pseudonym itself, unknown, when none)."""
        from lepton_shared.serving.security import pseudonym

        if self._users is None or self._users[0] != id(predictor):
            self._users = id(predictor), {pseudonym(u): u for u in predictor.engine.user_index}
        return self._users[1].get(logged_id, logged_id)


MONITOR_CLASS = RecommenderMonitor
