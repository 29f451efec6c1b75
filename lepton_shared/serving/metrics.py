"""The service's Prometheus metrics, right with one worker or many.

With ``--workers N`` every worker is its own process with its own counters, and a scrape reaches one of
them: counts would jump between workers. ``lepton serve`` therefore sets ``PROMETHEUS_MULTIPROC_DIR``
when N > 1 (prometheus-client's multiprocess mode): each worker writes its values to files there and
``/metrics`` sums them. Process metrics (memory, CPU, open files) come from prometheus-client's
``ProcessCollector``; in multiprocess mode one set per live worker, labelled with its ``pid``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PID_FILE = re.compile(r"_(\d+)\.db$")


def multiprocess_dir() -> Path | None:
    """The multiprocess folder when this process runs in multiprocess mode."""
    value = os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())
    return Path(value) if value else None


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


class WorkerProcessCollector(Collector):
    """``process_*`` metrics of every worker that wrote to the multiprocess folder and is still alive."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def collect(self) -> Iterable[Metric]:
        pids = sorted({int(m.group(1)) for p in self.folder.glob("*.db") if (m := _PID_FILE.search(p.name))})
        merged: dict[str, Metric] = {}
        for pid in pids:
            if not Path(f"/proc/{pid}").exists():
                continue
            for metric in ProcessCollector(pid=_constant(pid), registry=None).collect():
                target = merged.setdefault(metric.name, Metric(metric.name, metric.documentation, metric.type))
                for sample in metric.samples:
                    target.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        return list(merged.values())


@dataclass
class ServiceMetrics:
    """The counters and histograms of one service, and how ``/metrics`` reads them."""

    registry: CollectorRegistry
    requests_total: Counter
    latency: Histogram
    batch_size: Histogram
    model_info: Gauge
    _served: str | None = None
    #: collectors computed at scrape time from shared state (the database), the same whichever worker answers
    shared: list[Collector] = field(default_factory=list)

    def add_shared(self, collector: Collector) -> None:
        """Export ``collector`` once per scrape, also in multiprocess mode (where it must not be summed)."""
        self.registry.register(collector)
        self.shared.append(collector)

    def serving(self, app_name: str, version: str) -> None:
        """Mark ``version`` as the model this process answers with (and the one before as no longer)."""
        if self._served is not None and self._served != version:
            self.model_info.labels(app_name, self._served).set(0)
        self.model_info.labels(app_name, version).set(1)
        self._served = version

    def worker_stopped(self) -> None:
        """Drop this worker's live gauges from the multiprocess sums (a graceful stop)."""
        if multiprocess_dir() is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), path=str(multiprocess_dir()))

    def latest(self) -> tuple[bytes, str]:
        """The scrape body and its content type (summed over workers in multiprocess mode)."""
        folder = multiprocess_dir()
        if folder is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(folder))
        registry.register(WorkerProcessCollector(folder))
        for collector in self.shared:
            registry.register(collector)
        return generate_latest(registry), CONTENT_TYPE_LATEST


def service_metrics() -> ServiceMetrics:
    registry = CollectorRegistry()
    if multiprocess_dir() is None:
        ProcessCollector(registry=registry)
    requests_total = Counter("lepton_requests_total", "HTTP requests", ["app", "path", "status"], registry=registry)
    latency = Histogram("lepton_request_seconds", "Request latency", ["app", "path"], registry=registry,
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
    batch_size = Histogram("lepton_batch_size", "Requests answered per micro-batch (_count: batches, _sum: requests)",
                           ["app", "route"], registry=registry, buckets=(1, 2, 4, 8, 16, 32, 64, 128))
    # "livemax": with several workers, 1 for a version while any live worker serves it (a reload is per worker)
    model_info = Gauge("lepton_model_info", "1 for the model version the service answers with", ["app", "version"],
                       registry=registry, multiprocess_mode="livemax")
    return ServiceMetrics(registry, requests_total, latency, batch_size, model_info)
