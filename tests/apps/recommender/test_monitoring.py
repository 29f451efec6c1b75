"""Recommender live quality and shadow deltas: the items a user took after an answer are its label, joined by
the user's pseudonym; users who have not come back are not misses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apps.recommender.monitoring import RecommenderMonitor

ANSWERED = datetime.now(UTC) - timedelta(minutes=30)


def answer(user: str, items: list[str]) -> dict[str, Any]:
    return {"user_id": user, "known_user": True, "strategy": "model",
            "items": [{"item_id": i, "score": 1.0 - n / 10} for n, i in enumerate(items)]}


def log_answers(answers: list[dict[str, Any]]) -> None:
    from lepton_shared.serving.prediction_log import insert_rows, log_row
    from lepton_shared.storage import init_db

    init_db()
    insert_rows([log_row("recommender", f"r{n}", "/v1/predict", a, {"user_id": a["user_id"], "k": 3}, 1.0,
                         created_at=ANSWERED) for n, a in enumerate(answers)])


def post_events(*events: tuple[str, str, datetime]) -> None:
    from apps.recommender.schemas import EventIn
    from apps.recommender.storage import store_events

    store_events([EventIn(user_id=u, item_id=i, occurred_at=when) for u, i, when in events])


def test_metrics_count_recommended_items_taken() -> None:
    outputs = [answer("a", ["i1", "i2"]), answer("b", ["i3", "i4"])]
    assert RecommenderMonitor().replay_metrics(outputs, [["i2", "i9"], ["i9"]]) == {"hit_rate": 0.5,
                                                                                   "precision": 0.25}
    assert RecommenderMonitor().replay_metrics([], []) == {}


def test_live_quality_joins_later_interactions_by_pseudonym(lepton_home: Path) -> None:
    monitor = RecommenderMonitor()
    assert monitor.live_quality(ANSWERED - timedelta(hours=1)) is None  # nothing logged yet
    log_answers([answer("alice", ["i1", "i2", "i3"]), answer("bob", ["i4", "i5", "i6"]),
                 answer("carol", ["i7", "i8", "i9"]), answer("dave", ["i1", "i4", "i7"])])
    later, before = ANSWERED + timedelta(minutes=5), ANSWERED - timedelta(minutes=5)
    post_events(("alice", "i2", later), ("alice", "i3", later), ("bob", "i9", later),
                ("carol", "i7", before))  # carol took i7 before she was answered: she has not come back
    quality = monitor.live_quality(ANSWERED - timedelta(hours=1))
    assert quality == {"answers": 4, "returned": 2, "hit_rate": 0.5, "precision": round(2 / 6, 4)}


def test_shadow_replay_reports_metric_deltas_on_returned_users(trained_home: Path) -> None:
    from apps.recommender.app import APP
    from lepton_shared.monitoring.shadow import shadow_report
    from lepton_shared.serving.prediction_log import insert_rows, log_row

    predictor = APP.load_predictor()
    users = list(predictor.engine.user_index)[:4]
    outputs = [predictor.predict(predictor.InputModel.model_validate({"user_id": u, "k": 5})) for u in users]
    insert_rows([log_row("recommender", f"s{n}", "/v1/predict", o, {"user_id": u, "k": 5}, 1.0)
                 for n, (u, o) in enumerate(zip(users, outputs, strict=True))])
    soon = datetime.now(UTC) + timedelta(minutes=1)
    post_events((users[0], outputs[0]["items"][0]["item_id"], soon), (users[1], "not-recommended", soon))
    deltas = shadow_report("recommender", predictor.version, "1h")["metric_deltas"]
    assert deltas["hit_rate"] == {"production": 0.5, "candidate": 0.5, "delta": 0.0, "labelled": 2}
    assert deltas["precision"]["production"] == round(1 / 10, 4) and deltas["precision"]["delta"] == 0.0
