"""An app's HTTP service under concurrent clients, against its predictor called in-process.

The service runs as it does in production: ``lepton <app> serve --port <free port>``
in a subprocess, with the production model of the current ``LEPTON_HOME`` (and its
database, so every answer is logged as in production). Clients are threads, each
with one keep-alive HTTP/1.1 connection (the standard library's ``http.client``,
lighter than httpx, so the clients take less of the CPU the service is measured
on), sending ``POST /v1/predict`` back to back on loopback (127.0.0.1) only.

Measured:

- ``inprocess_p50_ms``: ``predictor.predict(item)`` in this process, one call at a time;
- ``overhead_p50_ms``: the service's p50 with one client minus ``inprocess_p50_ms``, the same inputs in the
  same order (for the app's default batching, and per batching mode in ``overhead_p50_ms_by_batching``);
  ``overhead_cpu_ms_by_batching``: the service's CPU time per request minus the predictor's per call;
- ``http_floor_p50_ms``: the same client and payloads against a bare FastAPI app under uvicorn
  (:mod:`lepton_shared.perf.floor_app`), what any Python HTTP service costs on this machine now, and
  ``overhead_over_floor_p50_ms``: the service's overhead above it (the part the Lepton service itself adds);
- for every client count: ``req_per_s``, ``p50_ms``, ``p99_ms``, errors and the mean micro-batch size (from
  the service's ``lepton_batch_size`` metric), with batching ``off`` and, for apps that batch, ``on`` (the
  service is restarted with ``LEPTON_MICRO_BATCH`` changed);
- the service's peak resident memory (``VmHWM``) per mode, and the machine's load average.

Every level is bounded by a request count and a time limit.
"""

from __future__ import annotations

import gc
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lepton_shared.errors import UserError
from lepton_shared.perf import load_average, peak_rss_mb, progress
from lepton_shared.spawn import stop

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServeBench:
    """``requests`` per client count (at most; and at most ``seconds``), ``inputs`` distinct request bodies,
    ``warmup`` unmeasured requests after each start, ``overhead_requests`` for the one-client comparison."""

    app: str
    clients: tuple[int, ...] = (1, 4, 16, 64)
    requests: int = 400
    seconds: float = 30.0
    inputs: int = 64
    warmup: int = 20
    overhead_requests: int = 200
    batching: tuple[str, ...] | None = None  # None: off, plus on for apps that batch by default
    start_timeout: float = 300.0
    extra_env: dict[str, str] = field(default_factory=dict)


# -- request bodies -------------------------------------------------------------------------------------
def distinct_inputs(app: str, n: int, example: dict[str, Any]) -> list[dict[str, Any]]:
    """``n`` request bodies: different messages / images for the chatbot and imaging, else the example."""
    if app == "chatbot":
        from apps.chatbot.data import builtin_intents

        texts = sorted(set(builtin_intents(8)["text"]))
        rng = np.random.default_rng(0)
        return [{"text": texts[int(i)]} for i in rng.permutation(len(texts))[:n]] or [example]
    if app == "imaging":
        import base64
        import io

        from PIL import Image

        from apps.imaging.data import synth_image

        bodies = []
        for i in range(n):
            pixels = synth_image(i % 2, np.random.default_rng(1000 + i), 64)
            buf = io.BytesIO()
            Image.fromarray((pixels * 255).round().astype(np.uint8), mode="L").save(buf, format="PNG")
            bodies.append({"image_base64": base64.b64encode(buf.getvalue()).decode(), "filename": f"p{i}.png"})
        return bodies
    return [example]


# -- in-process reference ---------------------------------------------------------------------------------
def inprocess_latency(predictor: Any, bodies: Sequence[dict[str, Any]], count: int, warmup: int,
                      seconds: float) -> dict[str, Any]:
    """p50/p99 of ``predictor.predict`` on the bodies (cycled), one call at a time, in this process (fewer than
    ``count`` calls when ``seconds`` pass first)."""
    items = [predictor.InputModel.model_validate(b) for b in bodies]
    for i in range(warmup):
        predictor.predict(items[i % len(items)])
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    cpu = time.process_time()
    for i in range(count):
        if time.perf_counter() > deadline:
            break
        start = time.perf_counter()
        predictor.predict(items[i % len(items)])
        times.append((time.perf_counter() - start) * 1000)
    cpu_ms = (time.process_time() - cpu) * 1000 / max(1, len(times))
    return {"inprocess_p50_ms": _pct(times, 50), "inprocess_p99_ms": _pct(times, 99),
            "inprocess_cpu_ms_per_call": round(cpu_ms, 3),
            "model_version": predictor.version, "device": str(getattr(predictor, "device", "cpu"))}


def _pct(values: Sequence[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values), q)), 3) if values else float("nan")


# -- the service --------------------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    headers: dict[str, str]

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            conn.request("GET", path, headers=self.headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


@contextmanager
def running_service(app: str, env: dict[str, str], timeout: float) -> Iterator[Service]:
    """``lepton <app> serve`` on a free loopback port until /readyz says the model is loaded."""
    from lepton_shared.settings import get_settings

    port = free_port()
    token = env.get("LEPTON_API_TOKEN") or get_settings().api_token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    cmd = [sys.executable, "-m", "lepton_shared.cli.main", app, "serve", "--host", HOST, "--port", str(port)]
    with _running(f"the {app} service", cmd, port, headers, env, timeout) as service:
        yield service


@contextmanager
def running_floor(env: dict[str, str], timeout: float) -> Iterator[Service]:
    """The bare FastAPI app of :mod:`lepton_shared.perf.floor_app` under uvicorn: the HTTP floor."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "lepton_shared.perf.floor_app:app", "--host", HOST, "--port", str(port),
           "--log-level", "warning"]
    with _running("the bare FastAPI app", cmd, port, {}, env, timeout) as service:
        yield service


@contextmanager
def _running(name: str, cmd: list[str], port: int, headers: dict[str, str], env: dict[str, str],
             timeout: float) -> Iterator[Service]:
    with tempfile.TemporaryDirectory(prefix="lepton-perf-") as tmp:
        log = Path(tmp) / "service.log"
        with open(log, "wb") as sink:  # a file, not a pipe: the service logs a line per request
            proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        service = Service(proc, port, log, headers)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise UserError(f"{name} exited with {proc.returncode}: {_tail(log)}")
                try:
                    status, body = service.get("/readyz")
                except OSError:  # not listening yet
                    status, body = 0, b""
                if status == 200:
                    break
                if status:  # the service answers after loading the model: not ready now means it will not be
                    raise UserError(f"{name} is not ready: {body.decode(errors='replace')}")
                if time.monotonic() > deadline:
                    raise UserError(f"{name} did not become ready in {timeout:.0f} s: {_tail(log)}")
                time.sleep(0.3)
            yield service
        finally:
            stop(proc, timeout=20)


def _tail(log: Path, chars: int = 1500) -> str:
    try:
        return log.read_text(errors="replace")[-chars:].strip()
    except OSError:
        return "(no log)"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far (Linux ``/proc``; NaN elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def batch_counts(service: Service) -> tuple[float, float]:
    """(batches, requests in them) of ``POST /v1/predict`` so far, from the service's metrics."""
    status, body = service.get("/metrics")
    if status != 200:
        return 0.0, 0.0
    count = total = 0.0
    for line in body.decode().splitlines():
        if line.startswith("lepton_batch_size_count{") and 'route="/v1/predict"' in line:
            count = float(line.rsplit(" ", 1)[1])
        elif line.startswith("lepton_batch_size_sum{") and 'route="/v1/predict"' in line:
            total = float(line.rsplit(" ", 1)[1])
    return count, total


# -- clients ------------------------------------------------------------------------------------------------
def load_level(service: Service, payloads: Sequence[bytes], clients: int, requests: int,
               seconds: float) -> dict[str, Any]:
    """``clients`` threads send ``requests`` requests in all (fewer when ``seconds`` pass first)."""
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    errors: list[str] = []
    headers = {**service.headers, "Content-Type": "application/json"}
    before = batch_counts(service)
    cpu_before = cpu_seconds(service.proc.pid)
    start_gate = threading.Barrier(clients + 1)
    deadline = 0.0

    def client() -> None:
        nonlocal issued
        conn = http.client.HTTPConnection(HOST, service.port, timeout=60)
        own: list[float] = []
        start_gate.wait()
        try:
            while True:
                with lock:
                    if issued >= requests or time.perf_counter() > deadline:
                        break
                    index = issued
                    issued += 1
                body = payloads[index % len(payloads)]
                t0 = time.perf_counter()
                try:
                    conn.request("POST", "/v1/predict", body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    if resp.status != 200:
                        with lock:
                            errors.append(f"{resp.status}: {data[:200].decode(errors='replace')}")
                        continue
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        errors.append(repr(exc))
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, service.port, timeout=60)
                    continue
                own.append((time.perf_counter() - t0) * 1000)
        finally:
            conn.close()
            with lock:
                latencies.extend(own)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    deadline = began + seconds
    start_gate.wait()
    for t in threads:
        t.join(timeout=seconds + 120)
    wall = time.perf_counter() - began
    cpu = cpu_seconds(service.proc.pid) - cpu_before
    after = batch_counts(service)
    batches, items = after[0] - before[0], after[1] - before[1]
    return {
        "clients": clients, "requests": len(latencies), "errors": len(errors), "seconds": round(wall, 3),
        "req_per_s": round(len(latencies) / wall, 2) if wall > 0 else 0.0,
        "p50_ms": _pct(latencies, 50), "p99_ms": _pct(latencies, 99),
        "mean_ms": round(statistics.fmean(latencies), 3) if latencies else float("nan"),
        "batches": int(batches), "mean_batch": round(items / batches, 2) if batches else None,
        "service_cpu_ms_per_request": round(cpu * 1000 / len(latencies), 2) if latencies else None,
        **({"first_error": errors[0]} if errors else {}),
    }


def _sequential(service: Service, payloads: Sequence[bytes], count: int, seconds: float) -> list[float]:
    """One client, ``count`` requests over the payloads in order (the in-process reference's order), fewer when
    ``seconds`` pass first."""
    headers = {**service.headers, "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(HOST, service.port, timeout=60)
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    try:
        for i in range(count):
            if time.perf_counter() > deadline:
                break
            t0 = time.perf_counter()
            conn.request("POST", "/v1/predict", body=payloads[i % len(payloads)], headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise UserError(f"POST /v1/predict answered {resp.status}")
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        conn.close()
    return times


# -- the whole measurement -------------------------------------------------------------------------------------
def measure(bench: ServeBench, quiet: bool = False) -> dict[str, Any]:
    """The figures described in the module docstring, as one JSON-able dict."""
    from lepton_shared.app import get_app
    from lepton_shared.manifest import get_manifest
    from lepton_shared.registry import Registry
    from lepton_shared.settings import get_settings

    say = (lambda _msg: None) if quiet else progress
    manifest = get_manifest(bench.app)
    app = get_app(bench.app)
    Registry().get(bench.app)  # a clear error when no model is trained yet
    if any(c < 1 for c in bench.clients) or bench.requests < 1 or bench.seconds <= 0:
        raise UserError("client counts and --requests must be at least 1, and the time limit positive")
    modes = list(bench.batching or (("off", "on") if manifest.micro_batch else ("off",)))
    if any(m not in ("off", "on") for m in modes):
        raise UserError("batching modes are off and on")
    default_mode = "on" if (get_settings().micro_batch if get_settings().micro_batch is not None
                            else manifest.micro_batch) else "off"

    load_before = load_average()
    predictor = app.load_predictor()
    bodies = distinct_inputs(bench.app, bench.inputs, type(predictor).example_input())
    payloads = [json.dumps(b).encode() for b in bodies]
    say(f"perf serve {bench.app}: in-process predictor, {bench.overhead_requests} calls")
    reference = inprocess_latency(predictor, bodies, bench.overhead_requests, bench.warmup, bench.seconds)
    del predictor
    gc.collect()
    say(f"perf serve {bench.app}: the HTTP floor (a bare FastAPI app), {bench.overhead_requests} requests")
    with running_floor({**os.environ, **bench.extra_env}, bench.start_timeout) as floor:
        _sequential(floor, payloads, bench.warmup, bench.seconds)
        floor_p50 = _pct(_sequential(floor, payloads, bench.overhead_requests, bench.seconds), 50)
    result: dict[str, Any] = {
        "app": bench.app, **reference, "batching_default": default_mode,
        # one round trip to a bare FastAPI app under uvicorn (no model, no database), same client and payloads:
        # what any Python HTTP service costs here, so the least "overhead" can be
        "http_floor_p50_ms": floor_p50,
        "micro_batch": {},  # per mode: the service's options, from its /readyz
        "overhead_p50_ms_by_batching": {}, "service_p50_ms_by_batching": {},
        # the service's CPU time per request minus the predictor's per call, one client: the work the service
        # adds, a steadier figure than the p50 difference on a machine busy with other work
        "overhead_cpu_ms_by_batching": {},
        "clients": {str(c): {} for c in bench.clients}, "peak_rss_mb": {},
    }
    for mode in modes:
        env = {**os.environ, **bench.extra_env, "LEPTON_MICRO_BATCH": "true" if mode == "on" else "false"}
        say(f"perf serve {bench.app}: starting the service with batching {mode}")
        with running_service(bench.app, env, bench.start_timeout) as service:
            ready = json.loads(service.get("/readyz")[1])
            result["service_device"], result["micro_batch"][mode] = ready.get("device"), ready.get("micro_batch")
            _sequential(service, payloads, bench.warmup, bench.seconds)
            if bench.warmup and max(bench.clients) > 1:  # a concurrent burst: threads, batch shapes
                load_level(service, payloads, min(max(bench.clients), 16), bench.warmup * 2, bench.seconds)
            cpu_before = cpu_seconds(service.proc.pid)
            single = _sequential(service, payloads, bench.overhead_requests, bench.seconds)
            cpu_per_request = (cpu_seconds(service.proc.pid) - cpu_before) * 1000 / max(1, len(single))
            result["overhead_cpu_ms_by_batching"][mode] = round(
                cpu_per_request - reference["inprocess_cpu_ms_per_call"], 3)
            p50 = _pct(single, 50)
            result["service_p50_ms_by_batching"][mode] = p50
            result["overhead_p50_ms_by_batching"][mode] = round(p50 - reference["inprocess_p50_ms"], 3)
            for clients in bench.clients:
                level = load_level(service, payloads, clients, bench.requests, bench.seconds)
                result["clients"][str(clients)][mode] = level
                say(f"perf serve {bench.app}: batching {mode:3} {clients:3} clients: {level['req_per_s']:8.1f} req/s"
                    f"  p50 {level['p50_ms']:8.2f} ms  p99 {level['p99_ms']:8.2f} ms"
                    f"  mean batch {level['mean_batch']}  service CPU {level['service_cpu_ms_per_request']} ms/req"
                    f"  errors {level['errors']}")
            result["peak_rss_mb"][mode] = peak_rss_mb(service.proc.pid)
    chosen = default_mode if default_mode in result["overhead_p50_ms_by_batching"] else modes[0]
    result["overhead_p50_ms"] = result["overhead_p50_ms_by_batching"][chosen]
    result["service_p50_ms"] = result["service_p50_ms_by_batching"][chosen]
    result["overhead_over_floor_p50_ms"] = round(result["overhead_p50_ms"] - floor_p50, 3)
    if "on" in modes and "off" in modes:
        result["throughput_on_vs_off"] = {
            c: round(v["on"]["req_per_s"] / v["off"]["req_per_s"], 2) if v["off"]["req_per_s"] else None
            for c, v in result["clients"].items()}
    result["peak_rss_mb"]["harness"] = peak_rss_mb()
    result["load_average"] = {"before": load_before, "after": load_average()}
    result["bench"] = {k: v for k, v in asdict(bench).items() if k != "extra_env"}
    return result
