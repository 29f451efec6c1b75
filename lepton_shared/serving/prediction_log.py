"""The ``prediction_log`` rows of ``POST /v1/predict``, written by one thread per service, many per commit.

An answer's log row is monitoring data, not the answer: the client should not wait for its commit, and
one transaction per request (an ORM flush, a connection, a commit) cost a one-client chatbot service
several milliseconds per answer on 2 cores, more than the HTTP round trip itself. Rows go to a queue;
a writer thread wakes at the first row, lets the group fill for ``interval_s``, and inserts it with
one Core ``INSERT`` per ``max_rows``. The rows of an answer are built on that thread too (:meth:`add_later`):
hashing the input and copying the output cost an imaging answer a quarter of a millisecond on the way to the
client. A service that stops flushes the queue; a process killed
outright loses at most the last ``interval_s`` of log rows, never an answer. Routes whose answer writes
rows of its own (a fraud decision) keep logging in that transaction with ``log_prediction(session=...)``.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lepton_shared.serving.logs import json_logger
from lepton_shared.serving.security import keyed_hash, pseudonymise

INTERVAL_S = 0.05
MAX_ROWS = 512


def hash_input(value: Any) -> str:
    """The request body's keyed SHA-256 (the log keeps no input in the clear, and a body holding a low-entropy
    id cannot be found again by hashing candidates without ``LEPTON_ID_SALT``)."""
    return keyed_hash(value)


def kept_input(app_name: str, endpoint: str, model_input: Any, encoded: str | None = None) -> dict[str, Any] | None:
    """The ``prediction_log.model_input`` of one answer: ``{"input": ...}`` with personal ids as pseudonyms, for
    ``lepton models shadow`` to replay, or ``{"skipped": reason}`` when it is too large to keep (an image upload);
    None when input logging is off (``LEPTON_LOG_INPUTS``) or the endpoint is not one of the model's.
    ``encoded``: ``model_input`` as JSON already (the request body, encoded once for its hash too)."""
    from lepton_shared.monitoring import app_monitor
    from lepton_shared.settings import get_settings

    settings = get_settings()
    monitor = app_monitor(app_name)
    if not settings.log_inputs or model_input is None or monitor is None or not monitor.monitors(endpoint):
        return None
    limit = settings.log_input_max_kb * 1024
    if isinstance(model_input, bytes | bytearray | memoryview):
        return {"skipped": "raw bytes, not a JSON input"}
    # measured before any other work: an upload may be megabytes
    raw = json.dumps(model_input, default=str) if encoded is None else encoded
    if len(raw) > limit:
        return {"skipped": f"input over LEPTON_LOG_INPUT_MAX_KB ({settings.log_input_max_kb} KiB)"}
    return {"input": pseudonymise(json.loads(raw))}


def log_row(app_name: str, request_id: str, endpoint: str, output: dict[str, Any], inputs: Any,
            latency_ms: float, model_input: Any = None, created_at: datetime | None = None) -> dict[str, Any]:
    """One ``prediction_log`` row as the columns' values, with the app monitor's features of the request;
    personal ids in the answer only as pseudonyms. ``model_input`` is what the model was given when it is not
    the request body ``inputs`` itself (features the service read from the database); ``created_at``: when the
    answer was given (default now)."""
    from lepton_shared.monitoring import logged_features

    body = None if isinstance(inputs, bytes) else json.dumps(inputs, sort_keys=True, default=str)
    kept = (kept_input(app_name, endpoint, inputs, body) if model_input is None
            else kept_input(app_name, endpoint, model_input))
    return {"app": app_name, "model_version": str(output.get("model_version", "")), "request_id": request_id,
            "endpoint": endpoint, "input_hash": hash_input(inputs if body is None else body.encode()),
            "output": pseudonymise(json.loads(json.dumps(output, default=str))), "latency_ms": latency_ms,
            "created_at": created_at or datetime.now(UTC), "status": 200,
            "features": logged_features(app_name, endpoint, inputs, output),
            "model_input": kept}


def failure_row(app_name: str, model_version: str, request_id: str, endpoint: str, status: int,
                latency_ms: float) -> dict[str, Any]:
    """The ``prediction_log`` row of a request to a model endpoint that got no answer (4xx or 5xx): what
    ``lepton monitor`` counts its error rate from. Nothing of the request is kept."""
    return {"app": app_name, "model_version": model_version, "request_id": request_id, "endpoint": endpoint,
            "input_hash": "", "output": {}, "latency_ms": latency_ms, "created_at": datetime.now(UTC),
            "status": status, "features": None, "model_input": None}


def insert_rows(rows: list[dict[str, Any]], url: str | None = None) -> None:
    """One Core ``INSERT`` for the rows, in its own transaction."""
    from sqlalchemy import insert

    from lepton_shared.storage import PredictionLog, get_engine

    with get_engine(url).begin() as connection:
        connection.execute(insert(PredictionLog), rows)


class PredictionLogWriter:
    """A queue of rows and the thread that commits them in groups (started by the first row)."""

    def __init__(self, url: str, interval_s: float = INTERVAL_S, max_rows: int = MAX_ROWS) -> None:
        self.url = url  # fixed when the service starts: rows never follow a later change of settings
        self.interval_s = interval_s
        self.max_rows = max_rows
        self._queue: queue.SimpleQueue[Callable[[], list[dict[str, Any]]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Queue rows built already."""
        self.add_later(lambda: rows)

    def add_later(self, build: Callable[[], list[dict[str, Any]]]) -> None:
        """Queue the rows ``build()`` returns, called on the writer thread. It must only read what it was given:
        the answer and the input it holds are the client's too (capture the time of the answer before)."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
                    self._thread.start()
        self._queue.put(build)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()  # the only wait that a new row ends: one wake-up per group, not per row
            if first is None:
                return
            time.sleep(self.interval_s)
            builds, stop = [first], False
            while True:
                try:
                    build = self._queue.get_nowait()
                except queue.Empty:
                    break
                if build is None:
                    stop = True
                    break
                builds.append(build)
            rows = self._build(builds)
            for start in range(0, len(rows), self.max_rows):
                self._write(rows[start:start + self.max_rows])
            if stop:
                return

    def _build(self, builds: list[Callable[[], list[dict[str, Any]]]]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for build in builds:
            try:
                rows += build()
            except Exception:  # one unloggable answer must not cost the others their rows
                json_logger("lepton.serving").exception("could not build a prediction log row")
        return rows

    def _write(self, rows: list[dict[str, Any]]) -> None:
        try:
            insert_rows(rows, self.url)
        except Exception:
            json_logger("lepton.serving").exception(f"could not log {len(rows)} predictions")
