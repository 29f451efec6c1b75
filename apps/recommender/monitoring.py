"""What recommender monitoring watches: how many items are asked for and in which category, whether the user
was known to the model (a wave of new users turns answers into cold-start popularity lists), and the score of
the top recommendation. No user or item id is kept in the features.

Live quality: the items a user took after an answer (interactions posted to ``/v1/events``) are that answer's
label, joined by the user's pseudonym. ``hit_rate`` is the share of answers of which the user later took at
least one recommended item, ``precision`` the share of recommended items taken; an answer counts once its user
has come back with any interaction, so users who have not yet returned are not misses.

A shadow replay compares the top item of each answer, and scores both versions' answers to the users who came
back (``metric_deltas``). The log keeps a user's id as its keyed pseudonym only, so the replay finds the user
among the version's known users by their pseudonyms under the same ``LEPTON_ID_SALT``; a user that version does
not know gets its cold-start answer, as the service would give."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lepton_shared.monitoring import AppMonitor, ReplaySkipped

if TYPE_CHECKING:
    from lepton_shared.serving.predictor import Predictor

ANY_CATEGORY = "(any)"
USER_ENDPOINTS = ("/v1/predict", "/v1/users/")
"""Where a user's answers come from (a session's answers have no user to come back)."""


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

    def replay_labels(self, outputs: Sequence[Mapping[str, Any]], database_url: str | None = None,
                      answered_at: Sequence[datetime] | None = None) -> list[Any]:
        """The items each answer's user interacted with after it, sorted (None: a session's answer, no time
        given, or a user with no interaction since)."""
        users = [o.get("user_id") for o in outputs]
        if answered_at is None or not any(users):
            return [None] * len(outputs)
        taken = interactions_since(min(answered_at), database_url)
        labels: list[Any] = []
        for user, at in zip(users, answered_at, strict=True):
            later = {item for when, item in taken.get(user, ()) if when >= at} if user else set()
            labels.append(sorted(later) if later else None)
        return labels

    def replay_metrics(self, outputs: Sequence[Mapping[str, Any]], labels: Sequence[Any]) -> dict[str, float]:
        """``hit_rate`` and ``precision`` of the recommended items against the items taken later."""
        if not labels:
            return {}
        shown = [{str(i["item_id"]) for i in o.get("items") or []} for o in outputs]
        hits = [len(items & {str(i) for i in taken}) for items, taken in zip(shown, labels, strict=True)]
        n_shown = sum(len(items) for items in shown)
        return {"hit_rate": sum(h > 0 for h in hits) / len(hits), "precision": sum(hits) / n_shown if n_shown else 0.0}

    def live_quality(self, since: datetime, database_url: str | None = None) -> dict[str, Any] | None:
        """The answers given to users since ``since`` whose users came back, scored by :meth:`replay_metrics`."""
        from lepton_shared.monitoring.answers import LIVE_QUALITY_ANSWERS, logged_answers
        from lepton_shared.storage.models import as_utc

        rows = logged_answers("recommender", USER_ENDPOINTS, since, LIVE_QUALITY_ANSWERS, database_url)
        outputs = [r.output for r in rows]
        labels = self.replay_labels(outputs, database_url, [as_utc(r.created_at) for r in rows])
        kept = [(o, y) for o, y in zip(outputs, labels, strict=True) if y is not None]
        if not kept:
            return None
        scores = self.replay_metrics([o for o, _ in kept], [y for _, y in kept])
        return {"answers": len(rows), "returned": len(kept), **{k: round(v, 4) for k, v in scores.items()}}

    def _user(self, predictor: Any, logged_id: str) -> str:
        """The known user behind a logged pseudonym (the pseudonym itself, unknown, when none)."""
        from lepton_shared.serving.security import pseudonym

        if self._users is None or self._users[0] != id(predictor):
            self._users = id(predictor), {pseudonym(u): u for u in predictor.engine.user_index}
        return self._users[1].get(logged_id, logged_id)


def interactions_since(since: datetime, database_url: str | None = None) -> dict[str, list[tuple[datetime, str]]]:
    """Each user's interactions at or after ``since`` as ``(when, item_id)``, keyed by the user's pseudonym (the
    id an answer is logged under)."""
    from sqlalchemy import select

    from apps.recommender.storage import RecommenderEvent
    from lepton_shared.serving.security import pseudonym
    from lepton_shared.storage import session_scope
    from lepton_shared.storage.models import as_utc

    event = RecommenderEvent
    with session_scope(database_url) as session:
        rows = session.execute(select(event.user_id, event.item_id, event.occurred_at)
                               .where(event.occurred_at >= since)).all()
    taken: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for user, item, when in rows:
        taken[pseudonym(user)].append((as_utc(when), str(item)))
    return dict(taken)


MONITOR_CLASS = RecommenderMonitor
