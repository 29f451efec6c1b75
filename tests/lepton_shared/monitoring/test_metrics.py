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
