"""``create_app``: the same service shell for every app.

FastAPI with OpenAPI docs, ``/healthz`` and ``/readyz``, Prometheus ``/metrics``,
bearer-token auth on everything but the health probes (constant-time
comparison), a request-size limit, readable 4xx errors, request ids, JSON logs,
prediction logging, optional micro-batching of ``POST /v1/predict``, and a
background poll that swaps in a newly promoted model (``LEPTON_RELOAD_POLL_S``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import Counter, Histogram
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lepton_shared.errors import NotReadyError, UserError
from lepton_shared.serving.batching import MicroBatcher
from lepton_shared.serving.follow import RegistryFollower
from lepton_shared.serving.logs import json_logger, request_id_var
from lepton_shared.serving.metrics import service_metrics
from lepton_shared.serving.openapi import install as install_openapi
from lepton_shared.serving.prediction_log import PredictionLogWriter, failure_row, log_row
from lepton_shared.serving.predictor import Predictor
from lepton_shared.serving.schemas import NEEDS_MODEL, Health, ModelVersion, NotReady, Ready, errors
from lepton_shared.serving.security import check_production, pseudonymise
from lepton_shared.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: the path label and log value of a request no route matched
UNMATCHED = "<unmatched>"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc"})


#: what an ``X-Request-ID`` may hold to be kept: it must fit ``prediction_log.request_id`` (64 characters) and be
#: safe to copy into log lines and headers
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,64}")


class _BodyTooLarge(Exception):
    pass


def request_id(given: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is 1-64 letters, digits or ``._:/+=-``, else a new random one.

    Replaced rather than refused, as load balancers do (Heroku's router, for one): a request must not fail over
    a correlation id, and an id that is too long or holds spaces, quotes or control characters would be cut in
    the database or forge log fields. The response's ``X-Request-ID`` always names the id actually used."""
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class ObserveMiddleware:
    """Prometheus counters, latency histogram and one JSON log line per request.

    Pure ASGI rather than ``@app.middleware("http")``: the latter wraps every response in extra tasks and
    streams, which costs a noticeable share of a millisecond-scale scoring request."""

    def __init__(self, app: ASGIApp, app_name: str, requests_total: Counter, latency: Histogram,
                 logger: logging.Logger, on_failure: Callable[[Scope, int, float], None] | None = None) -> None:
        self.app = app
        self.app_name = app_name
        self.requests_total = requests_total
        self.latency = latency
        self.logger = logger
        self.on_failure = on_failure  #: called with (scope, status, latency in ms) for every 4xx or 5xx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # the route's template, not the raw path: ids stay out of labels and logs, and a scanner's
            # /wp-admin/... adds no series
            path = getattr(scope.get("route"), "path", UNMATCHED)
            elapsed = time.perf_counter() - start
            self.requests_total.labels(self.app_name, path, str(status)).inc()
            self.latency.labels(self.app_name, path).observe(elapsed)
            if path not in ("/healthz", "/readyz", "/metrics"):
                self.logger.info("request", extra={"path": path, "method": scope["method"], "status": status,
                                                   "params": pseudonymise(scope.get("path_params") or {}),
                                                   "latency_ms": round(elapsed * 1000, 2)})
            if status >= 400 and self.on_failure is not None:
                self.on_failure(scope, status, elapsed * 1000)


class GuardMiddleware:
    """Auth, size limit and request id in one pure-ASGI layer (it sees every route)."""

    def __init__(self, app: ASGIApp, token: str | None, max_bytes: int, metrics_token: str | None = None,
                 metrics_public: bool = False) -> None:
        self.app = app
        self.token = token
        self.max_bytes = max_bytes
        self.metrics_token = metrics_token
        self.metrics_public = metrics_public

    def _allowed(self, path: str, given: str | None) -> bool:
        """Whether a request with bearer token ``given`` may reach ``path`` (auth on)."""
        if path in OPEN_PATHS or (path == "/metrics" and self.metrics_public):
            return True
        if given is None:
            return False
        if path == "/metrics" and self.metrics_token and hmac.compare_digest(given.encode(),
                                                                            self.metrics_token.encode()):
            return True
        return hmac.compare_digest(given.encode(), self.token.encode()) if self.token else False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rid = request_id(headers.get("x-request-id"))
        request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        if self.token:
            scheme, _, given = headers.get("authorization", "").partition(" ")
            if not self._allowed(scope["path"], given.strip() if scheme.lower() == "bearer" else None):
                await _plain(send_with_id, 401, "missing or invalid bearer token",
                             [(b"www-authenticate", b"Bearer")])
                return
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _plain(send_with_id, 413, f"request body too large: {int(length)} bytes, limit {self.max_bytes}")
            return
        received, too_large, started = 0, False, False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge()
            return message

        async def send_unless_too_large(message: Message) -> None:
            # FastAPI answers a failed body read with its own 400; a body without Content-Length that runs
            # over the limit must get the same 413 as one that declares its size.
            nonlocal started
            if too_large:
                return
            started = started or message["type"] == "http.response.start"
            await send_with_id(message)

        try:
            await self.app(scope, limited_receive, send_unless_too_large)
        except _BodyTooLarge:
            pass
        if too_large and not started:
            await _plain(send_with_id, 413, f"request body too large: limit {self.max_bytes} bytes")


async def _plain(send: Callable[[Message], Awaitable[None]], status: int, detail: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


def _jsonable(value: Any) -> Any:
    """``value`` with what JSON cannot hold (NaN, infinities, exceptions in an error's context) as text, so a 422
    can show the offending input instead of failing to encode it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


class AnswerResponse(JSONResponse):
    """A model's answer, encoded once by ``json.dumps``.

    A route that returns a dict gets it validated against its annotation and copied by ``jsonable_encoder``
    before the encoding: 40-170 µs per answer (chatbot, imaging), for answers that are plain JSON values
    already. What ``json`` cannot encode (a datetime…) still goes through ``jsonable_encoder``."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                          default=jsonable_encoder).encode("utf-8")


@dataclass(frozen=True)
class BatchOptions:
    """Micro-batching of a service: on or off, largest batch, wait for more requests, batches at a time."""

    enabled: bool = False
    max_batch: int = 32
    max_wait_ms: float = 2.0
    workers: int = 1


def batch_options(app_default: bool = False, max_batch: int | None = None, max_wait_ms: float | None = None,
                  workers: int | None = None) -> BatchOptions:
    """The app's micro-batching defaults (None: the suite's, :class:`BatchOptions`) overridden by the settings
    that are set: ``LEPTON_MICRO_BATCH``, ``LEPTON_MAX_BATCH``, ``LEPTON_MAX_WAIT_MS``, ``LEPTON_BATCH_WORKERS``."""
    settings, base = get_settings(), BatchOptions()

    def pick(setting: Any, app_value: Any, default: Any) -> Any:
        return setting if setting is not None else (app_value if app_value is not None else default)

    return BatchOptions(
        enabled=bool(pick(settings.micro_batch, app_default, False)),
        max_batch=int(pick(settings.max_batch, max_batch, base.max_batch)),
        max_wait_ms=float(pick(settings.max_wait_ms, max_wait_ms, base.max_wait_ms)),
        workers=int(pick(settings.batch_workers, workers, base.workers)),
    )


class ServiceState:
    """Holds the predictor, loaded lazily so a service starts before a model exists."""

    def __init__(self, app_name: str, loader: Callable[[], Predictor] | None,
                 batching: BatchOptions | None = None) -> None:
        self.app_name = app_name
        self.loader = loader
        self.predictor: Predictor | None = None
        self.error: str | None = None
        self.lock = threading.Lock()
        self.batching = batching or BatchOptions()
        #: the batcher of ``POST /v1/predict`` (None until its first batched request)
        self.batcher: MicroBatcher | None = None
        #: further batchers of an app's own routes, by name (see :meth:`batcher_for`)
        self.batchers: dict[str, MicroBatcher] = {}
        #: called with (route, batch size) for every micro-batch (the service's Prometheus histogram)
        self.observe_batch: Callable[[str, int], None] | None = None
        #: called with the version of every model loaded (the service's ``lepton_model_info``)
        self.on_model: Callable[[str], None] | None = None
        self.log_writer = PredictionLogWriter(get_settings().resolved_database_url)

    def new_batcher(self, route: str, fn: Callable[[list[Any]], list[Any]]) -> MicroBatcher:
        opts, observe = self.batching, self.observe_batch
        return MicroBatcher(fn, opts.max_batch, opts.max_wait_ms, opts.workers,
                            on_batch=None if observe is None else lambda size: observe(route, size))

    def batcher_for(self, name: str, fn: Callable[[Predictor, list[Any]], list[Any]]) -> MicroBatcher | None:
        """A batcher for one of the app's own routes (``fn(predictor, items)`` answers a batch of them), or None
        when batching is off. Call it inside the event loop; the service closes it on shutdown."""
        if not self.batching.enabled:
            return None
        if name not in self.batchers:
            self.batchers[name] = self.new_batcher(name, lambda items: fn(self.load(), items))
        return self.batchers[name]

    def load(self) -> Predictor:
        with self.lock:
            if self.predictor is None:
                if self.loader is None:
                    raise NotReadyError(f"{self.app_name} service has no model loader")
                try:
                    self.predictor = self.loader()
                    self.error = None
                    if self.on_model is not None:
                        self.on_model(self.predictor.version)
                except UserError as exc:
                    self.error = str(exc)
                    raise NotReadyError(str(exc)) from None
            return self.predictor

    def swap(self, predictor: Predictor) -> None:
        """Serve ``predictor`` from now on: requests already holding the old one finish with it, batches and
        requests that start later get the new one (both read :attr:`predictor` through :meth:`load`)."""
        with self.lock:
            self.predictor = predictor
            self.error = None
        if self.on_model is not None:
            self.on_model(predictor.version)

    def reload(self) -> Predictor:
        with self.lock:
            self.predictor = None
        return self.load()


def get_predictor(request: Request) -> Predictor:
    """FastAPI dependency: the loaded predictor, or 503 with the reason."""
    state: ServiceState = request.app.state.lepton
    return state.load()


def log_prediction(request: Request, output: dict[str, Any], inputs: Any, latency_ms: float = 0.0,
                   session: Session | None = None, model_input: Any = None) -> None:
    """Log one answer in ``prediction_log``: the request as a hash, and the model's input to replay
    (``model_input``, default the request body ``inputs``; see :func:`kept_input`).

    Pass the request's own ``session`` to write the log in the same transaction as the answer's other rows
    (one commit, and the log is kept exactly when the answer's rows are); without one the row goes to the
    service's :class:`PredictionLogWriter`, committed just after the answer is sent."""
    if not get_settings().log_predictions:
        return
    state: ServiceState = request.app.state.lepton
    rid, path, now = getattr(request.state, "request_id", "-"), request.url.path, datetime.now(UTC)
    if session is None:  # the row is built on the writer's thread, after the answer has gone
        state.log_writer.add_later(
            lambda: [log_row(state.app_name, rid, path, output, inputs, latency_ms, model_input, created_at=now)])
        return
    row = log_row(state.app_name, rid, path, output, inputs, latency_ms, model_input, created_at=now)
    from sqlalchemy import insert

    from lepton_shared.storage import PredictionLog

    session.execute(insert(PredictionLog), [row])


def _log_failure(state: ServiceState, scope: Scope, status: int, latency_ms: float) -> None:
    """Queue a failed request to one of the app's model endpoints (its monitor's) for the error rate."""
    from lepton_shared.monitoring import app_monitor

    monitor = app_monitor(state.app_name)
    if not get_settings().log_predictions or monitor is None or not monitor.monitors(scope["path"]):
        return
    version = state.predictor.version if state.predictor is not None else ""
    rid = scope.get("state", {}).get("request_id", "-")
    state.log_writer.add([failure_row(state.app_name, version, rid, scope["path"], status, latency_ms)])


@dataclass(frozen=True)
class _Pending:
    """One request of a micro-batch: the validated item and what its ``prediction_log`` row needs."""

    item: Any
    request_id: str
    endpoint: str
    inputs: Any
    start: float


def _answer_batch(state: ServiceState, batch: list[_Pending]) -> list[dict[str, Any]]:
    """Answer a micro-batch with one ``predict_batch`` call; its log rows go to the writer together."""
    outputs = state.load().predict_batch([p.item for p in batch])
    if get_settings().log_predictions:
        now, at = time.perf_counter(), datetime.now(UTC)
        state.log_writer.add_later(lambda: [log_row(state.app_name, p.request_id, p.endpoint, out, p.inputs,
                                                    (now - p.start) * 1000, created_at=at)
                                            for p, out in zip(batch, outputs, strict=True)])
    return outputs


def create_app(
    app_name: str,
    predictor_loader: Callable[[], Predictor] | None = None,
    routers: Sequence[APIRouter] = (),
    title: str | None = None,
    description: str = "",
    micro_batch: bool = False,
    max_batch: int | None = None,
    max_wait_ms: float | None = None,
    batch_workers: int | None = None,
    token: str | None = None,
    max_request_bytes: int | None = None,
    on_startup: Callable[[], None] | None = None,
    input_model: type[BaseModel] | None = None,
) -> FastAPI:
    """Build an app's service; ``routers`` hold its domain endpoints under ``/v1``.

    ``micro_batch``, ``max_batch``, ``max_wait_ms`` and ``batch_workers`` are the app's defaults for
    micro-batching ``POST /v1/predict``; the ``LEPTON_MICRO_BATCH`` … settings override them when set
    (see :func:`batch_options`). ``input_model`` is the predictor's ``InputModel``, for ``/docs`` (the predictor
    itself is loaded after the service starts)."""
    settings = get_settings()
    check_production(settings)
    state = ServiceState(app_name, predictor_loader,
                         batch_options(micro_batch, max_batch, max_wait_ms, batch_workers))
    logger = json_logger(f"lepton.{app_name}")
    metrics = service_metrics()
    state.observe_batch = lambda route, size: metrics.batch_size.labels(app_name, route).observe(size)
    state.on_model = lambda version: metrics.serving(app_name, version)
    from lepton_shared.monitoring.metrics import MonitorCollector

    metrics.add_shared(MonitorCollector(app_name))

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        from lepton_shared.storage import init_db

        if not (token if token is not None else settings.api_token):
            logger.warning("AUTHENTICATION IS OFF: LEPTON_API_TOKEN is not set, so anyone who can reach this "
                           "service can call every route")
        await run_in_threadpool(init_db)
        if on_startup is not None:
            await run_in_threadpool(on_startup)
        try:
            await run_in_threadpool(state.load)
        except UserError as exc:
            logger.warning(f"started without a model: {exc}")
        follower = None
        if predictor_loader is not None and settings.reload_poll_s > 0:
            follower = asyncio.create_task(RegistryFollower(state, logger).run(settings.reload_poll_s))
        yield
        if follower is not None:
            follower.cancel()
            with suppress(asyncio.CancelledError):
                await follower
        for batcher in [state.batcher, *state.batchers.values()]:
            if batcher is not None:
                await batcher.close()
        await run_in_threadpool(state.log_writer.close)
        metrics.worker_stopped()

    app = FastAPI(title=title or f"Lepton {app_name}", description=description, version="1",
                  lifespan=lifespan)
    app.state.lepton = state

    app.add_middleware(ObserveMiddleware, app_name=app_name, requests_total=metrics.requests_total,
                       latency=metrics.latency, logger=logger,
                       on_failure=lambda scope, status, ms: _log_failure(state, scope, status, ms))
    app.add_middleware(GuardMiddleware, token=token if token is not None else settings.api_token,
                       max_bytes=max_request_bytes or settings.max_request_bytes,
                       metrics_token=settings.metrics_token, metrics_public=settings.metrics_public)

    @app.exception_handler(UserError)
    async def user_error(_: Request, exc: UserError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _jsonable(exc.errors())
        return JSONResponse({"detail": _describe_validation(exc), "errors": errors}, status_code=422)

    @app.get("/healthz", tags=["ops"], response_model=Health)
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=Ready,
             responses={503: {"model": NotReady, "description": "No model loaded, or the database is unreachable"}})
    def readyz() -> JSONResponse:
        """Readiness: a model is loaded and the database answers."""
        from sqlalchemy import text

        from lepton_shared.storage import get_engine

        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "reason": f"database: {exc}"}, status_code=503)
        try:
            predictor = state.load()
        except UserError as exc:
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        device = getattr(predictor, "device", None)  # torch apps: where the model answers
        return JSONResponse({"status": "ready", "app": app_name, "model_version": predictor.version,
                             **({"device": str(device)} if device is not None else {}),
                             "micro_batch": asdict(state.batching)})

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def prometheus_metrics() -> Response:
        """Prometheus text format, summed over the workers (bearer token, LEPTON_METRICS_TOKEN, or none with
        LEPTON_METRICS_PUBLIC=1)."""
        body, content_type = metrics.latest()
        return Response(body, media_type=content_type)

    @app.get("/v1/model/report", tags=["model"], response_class=HTMLResponse, responses=errors(404))
    def model_report() -> HTMLResponse:
        """The served version's evaluation report (metrics against baselines, plots), written at train time:
        pages show it whether they run the model in-process or call this service."""
        from lepton_shared.registry import Registry

        served = state.predictor.version if state.predictor is not None else None
        info = Registry().get(app_name, served)
        report = info.path / "report.html"
        if not report.is_file():
            raise HTTPException(status_code=404, detail=f"{app_name} {info.version} has no evaluation report")
        return HTMLResponse(report.read_text(encoding="utf-8"), headers={"X-Model-Version": info.version})

    @app.post("/v1/admin/reload", tags=["ops"], response_model=ModelVersion, responses=NEEDS_MODEL)
    def reload() -> dict[str, str]:
        """Load the current production model (after `lepton models promote`)."""
        return {"model_version": state.reload().version}

    if predictor_loader is not None:
        _add_predict_route(app, state)

    for router in routers:
        app.include_router(router)
    metrics_open = settings.metrics_public
    install_openapi(app, lambda path: path not in OPEN_PATHS and not (path == "/metrics" and metrics_open),
                    input_model)
    return app


def _add_predict_route(app: FastAPI, state: ServiceState) -> None:
    opts = state.batching

    @app.post("/v1/predict", tags=["predict"], responses=NEEDS_MODEL, response_class=AnswerResponse)
    async def predict(request: Request, body: dict[str, Any] = Body(...)) -> AnswerResponse:
        """Answer one item in the app's ``InputModel`` schema (the uniform contract endpoint).

        Its ``prediction_log`` row is committed by the service's log writer just after the answer is sent."""
        loaded = state.predictor  # once loaded, no trip to a thread just to fetch it
        predictor: Predictor = loaded if loaded is not None else await run_in_threadpool(state.load)
        try:
            item = predictor.InputModel.model_validate(body)
        except Exception as exc:  # pydantic.ValidationError
            errors: list[dict[str, Any]] = getattr(exc, "errors", lambda: [])()
            detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors) or str(exc)
            raise HTTPException(status_code=422, detail=detail) from None
        start = time.perf_counter()
        if opts.enabled:  # answered with the requests around it: one forward pass
            if state.batcher is None:
                state.batcher = state.new_batcher("/v1/predict", lambda batch: _answer_batch(state, batch))
            result: dict[str, Any] = await state.batcher.submit(_Pending(
                item, getattr(request.state, "request_id", "-"), request.url.path, body, start))
            return AnswerResponse(result)

        def answer_and_log() -> dict[str, Any]:
            out = predictor.predict(item)
            log_prediction(request, out, body, (time.perf_counter() - start) * 1000)
            return out

        return AnswerResponse(await run_in_threadpool(answer_and_log))
