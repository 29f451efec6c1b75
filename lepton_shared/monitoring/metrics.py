"""The ``lepton monitor`` figures as Prometheus gauges on each service's ``/metrics``.

Computed on scrape from the shared prediction log, at most once per :data:`REFRESH_S` (a report over thousands
of rows takes a fraction of a second; scrapers come every few seconds). The figures are app-wide, not the
replica's own: every replica of an app shows the same values, so aggregate them with ``max by (app)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

WINDOW = "1h"
REFRESH_S = 60.0


class MonitorCollector(Collector):
    """``lepton_monitor_*`` gauges of one app over the last :data:`WINDOW`."""

    def __init__(self, app_name: str, window: str = WINDOW, refresh_s: float = REFRESH_S) -> None:
        self.app_name = app_name
        self.window = window
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._report: dict[str, Any] | None = None
        self._at = 0.0

    def report(self) -> dict[str, Any] | None:
        """The cached report, recomputed when older than ``refresh_s``; None when it cannot be computed."""
        with self._lock:
            if self._report is None or time.monotonic() - self._at >= self.refresh_s:
                from lepton_shared.monitoring.report import monitor_report

                try:
                    self._report = monitor_report(self.app_name, self.window)
                except Exception:  # a scrape must answer even when the database does not
                    from lepton_shared.serving.logs import json_logger

                    json_logger("lepton.monitoring").exception(f"{self.app_name}: monitoring gauges not computed")
                    return None
                self._at = time.monotonic()
            return self._report

    def collect(self) -> Iterator[Metric]:
        from lepton_shared.monitoring.appmonitor import app_monitor

        if app_monitor(self.app_name) is None:  # an app without a monitor (a test's ad-hoc service)
            return
        report = self.report()
        if report is None:
            return
        app = self.app_name
        help_window = f"over the last {self.window} (lepton monitor)"
        requests = GaugeMetricFamily("lepton_monitor_requests", f"Requests to the model endpoints {help_window}",
                                     labels=["app"])
        requests.add_metric([app], report["requests"])
        yield requests
        for key, text in (("error_rate", "Share of them failed (5xx)"),
                          ("rejected_rate", "Share of them refused as bad input (4xx)")):
            if report[key] is not None:
                gauge = GaugeMetricFamily(f"lepton_monitor_{key}", f"{text} {help_window}", labels=["app"])
                gauge.add_metric([app], report[key])
                yield gauge
        latency = GaugeMetricFamily("lepton_monitor_latency_ms", f"Answer latency quantiles {help_window}",
                                    labels=["app", "quantile"])
        for name, quantile in (("p50", "0.5"), ("p99", "0.99")):
            if report["latency_ms"][name] is not None:
                latency.add_metric([app, quantile], report["latency_ms"][name])
        yield latency
        score = GaugeMetricFamily("lepton_monitor_drift_score", f"Drift score against the reference {help_window}",
                                  labels=["app", "feature"])
        alert = GaugeMetricFamily("lepton_monitor_drift_alert", f"1 when the drift crosses its threshold {help_window}",
                                  labels=["app", "feature"])
        drift = report["drift"]
        for name, d in [*drift["features"].items(), ("prediction", drift["prediction"])]:
            if d is not None and d["score"] is not None:
                score.add_metric([app, name], d["score"])
                alert.add_metric([app, name], 1.0 if d["alert"] else 0.0)
        yield score
        yield alert
        quality = GaugeMetricFamily("lepton_monitor_live_quality",
                                    f"Live quality against the labels that came back {help_window}",
                                    labels=["app", "metric"])
        for name, value in (report["live_quality"] or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                quality.add_metric([app, name], float(value))
        yield quality
        alerts = GaugeMetricFamily("lepton_monitor_alerts", f"Alerts raised {help_window}", labels=["app"])
        alerts.add_metric([app], len(report["alerts"]))
        yield alerts
