"""Recommender shadow replay: a user logged only as a pseudonym is found again among the version's known users,
so replaying production through itself gives the same top item; an unknown user replays as cold start."""

from __future__ import annotations

from pathlib import Path


def test_a_pseudonymised_user_replays_as_that_user(trained_home: Path) -> None:
    from apps.recommender.app import APP
    from apps.recommender.monitoring import RecommenderMonitor
    from lepton_shared.monitoring.shadow import shadow_report
    from lepton_shared.serving.prediction_log import insert_rows, log_row
    from lepton_shared.storage import init_db

    predictor = APP.load_predictor()
    users = list(predictor.engine.user_index)[:5]
    bodies = [{"user_id": u, "k": 5, "category": None} for u in users] + [{"user_id": "nobody-known", "k": 5}]
    rows = [log_row("recommender", f"r{i}", "/v1/predict",
                    predictor.predict(predictor.InputModel.model_validate(b)), b, 1.0) for i, b in enumerate(bodies)]
    assert all(r["model_input"]["input"]["user_id"].startswith("p:") for r in rows)  # no id in the clear
    init_db()
    insert_rows(rows)
    report = shadow_report("recommender", predictor.version, "1h")
    assert report["replayed"] == len(bodies) and report["agreement"] == 1.0
    monitor = RecommenderMonitor()
    assert [monitor.replay_input(predictor, r["model_input"]["input"])["known_user"] for r in rows] == [True] * 5 + [
        False]
