"""The monitoring gauges on a service's /metrics: the report's figures, refreshed at most once per period."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from lepton_shared.monitoring.metrics import MonitorCollector
from lepton_shared.testing.monitoring import log_fraud_requests as log
from lepton_shared.testing.monitoring import register_fraud_reference


def scrape(collector: MonitorCollector) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(collector)
    lines = generate_latest(registry).decode().splitlines()
    return {name: float(value) for name, value in (line.rsplit(" ", 1) for line in lines if not line.startswith("#"))}


def test_gauges_show_the_report_and_refresh_after_the_period(lepton_home: Path) -> None:
    register_fraud_reference([float(a) for a in range(1, 201)])
    log([{"amount": 3.0 * a, "latency": 2.0} for a in range(1, 101)] + [{"status": 500, "latency": 1.0}] * 25)
    collector = MonitorCollector("fraud", refresh_s=3600)
    figures = scrape(collector)
    assert figures['lepton_monitor_requests{app="fraud"}'] == 125
    assert figures['lepton_monitor_error_rate{app="fraud"}'] == 0.2
    assert figures['lepton_monitor_latency_ms{app="fraud",quantile="0.5"}'] == 2.0
    assert figures['lepton_monitor_drift_alert{app="fraud",feature="tx_amount"}'] == 1.0
    assert figures['lepton_monitor_drift_alert{app="fraud",feature="tx_hour"}'] == 0.0
    # amounts 3..300 against 1..200: the CDFs are furthest apart at 200 (1.0 against 66/100)
    assert figures['lepton_monitor_drift_score{app="fraud",feature="tx_amount"}'] == 0.34
    assert figures['lepton_monitor_alerts{app="fraud"}'] == 2  # tx_amount and the error rate

    log([{"status": 500, "latency": 1.0}] * 10)
    assert scrape(collector)['lepton_monitor_requests{app="fraud"}'] == 125  # within the period: cached
    collector.refresh_s = 0
    assert scrape(collector)['lepton_monitor_requests{app="fraud"}'] == 135


def test_an_app_without_a_monitor_has_no_gauges(lepton_home: Path) -> None:
    assert scrape(MonitorCollector("demo")) == {}


def test_live_quality_is_a_gauge_per_figure(lepton_home: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from apps.recommender.schemas import EventIn
    from apps.recommender.storage import store_events
    from lepton_shared.serving.prediction_log import insert_rows, log_row
    from lepton_shared.storage import init_db

    init_db()
    answered = datetime.now(UTC) - timedelta(minutes=10)
    output = {"user_id": "ann", "known_user": True, "strategy": "model", "items": [{"item_id": "i1", "score": 1.0}]}
    insert_rows([log_row("recommender", "r1", "/v1/predict", output, {"user_id": "ann"}, 1.0, created_at=answered)])
    store_events([EventIn(user_id="ann", item_id="i1")])
    figures = scrape(MonitorCollector("recommender"))
    assert figures['lepton_monitor_live_quality{app="recommender",metric="hit_rate"}'] == 1.0
    assert figures['lepton_monitor_live_quality{app="recommender",metric="returned"}'] == 1.0
