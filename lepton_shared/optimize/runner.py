"""``optimize``: make an optimised version of a registered model, measure it against its source, gate it.

The flow is the same for every app:

1. the source version (production by default) is loaded through the app's own predictor; its
   artifact size and key metric are measured;
2. the app's :class:`~lepton_shared.optimize.base.AppOptimizer` writes the optimised artifact,
   which is registered as a new (candidate) version with ``optimised_from`` and ``method`` params;
3. the new version is loaded through the same ``load_predictor`` (proving the predictor serves
   it transparently); both predictors are then measured the same way, in the same process, with
   the same threads, in alternating rounds (so that a shared machine's changing load does not
   favour either): single-item latency (p50/p99 of ``predict_batch([item])``) and throughput of
   ``predict_batch(items)`` at the app's serving batch size; then the new version's size and key metric;
4. the gate (:func:`lepton_shared.promotion.gate`, shared with ``train``): when the key metric got worse
   by more than the tolerance the version stays a candidate and the reason says why;
   ``promote="always"``/``"never"`` override the gate.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lepton_shared.errors import UserError
from lepton_shared.optimize.base import METHODS, AppOptimizer
from lepton_shared.optimize.measure import latency_ms, latency_samples, model_bytes, percentiles, throughput_per_s
from lepton_shared.promotion import check_promote, check_tolerance, gate

LATENCY_REPEATS = 40
LATENCY_WARMUP = 3
THROUGHPUT_SECONDS = 4.0
#: Alternating rounds of measurement (before, after, after, before): load drift hits both alike.
MEASURE_ROUNDS = 4


def _progress(message: str) -> None:
    print(f"[optimize] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _serving_device(device: str) -> Iterator[None]:
    """Load predictors on ``device`` (through the ``LEPTON_DEVICE`` setting) for the duration."""
    from lepton_shared.settings import get_settings

    old = os.environ.get("LEPTON_DEVICE")
    os.environ["LEPTON_DEVICE"] = device
    get_settings.cache_clear()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("LEPTON_DEVICE", None)
        else:
            os.environ["LEPTON_DEVICE"] = old
        get_settings.cache_clear()


def measure_predictor(predictor: Any, items: list[Any], batch_size: int, repeats: int | None = None,
                      warmup: int | None = None, seconds: float | None = None) -> dict[str, float]:
    """p50/p99 of one-item calls and items/s of ``batch_size`` calls of ``predictor.predict_batch``.

    Defaults: the module's ``LATENCY_REPEATS``, ``LATENCY_WARMUP`` and ``THROUGHPUT_SECONDS``.
    """
    repeats = LATENCY_REPEATS if repeats is None else repeats
    warmup = LATENCY_WARMUP if warmup is None else warmup
    seconds = THROUGHPUT_SECONDS if seconds is None else seconds
    one = [items[0]]
    batch = (items * (batch_size // max(len(items), 1) + 1))[:batch_size]
    p50, p99 = latency_ms(lambda: predictor.predict_batch(one), repeats=repeats, warmup=warmup)
    rate = throughput_per_s(lambda: predictor.predict_batch(batch), batch_size, min_seconds=seconds)
    return {"p50_ms": p50, "p99_ms": p99, "throughput_per_s": rate}


def measure_pair(before: Any, after: Any, items: list[Any], batch_size: int,
                 rounds: int | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """Latency and throughput of two predictors measured in alternating rounds (before, after, after,
    before, …), so that a change in the machine's load during the measurement hits both alike.

    p50/p99 pool the single-item samples of all rounds; throughput is the median of the rounds'.
    Totals per predictor: ``LATENCY_REPEATS`` single-item calls and ``THROUGHPUT_SECONDS`` of batches.
    """
    rounds = max(1, MEASURE_ROUNDS if rounds is None else rounds)
    one = [items[0]]
    batch = (items * (batch_size // max(len(items), 1) + 1))[:batch_size]
    predictors = {"before": before, "after": after}
    for predictor in predictors.values():  # warm-up: lazy initialisation, caches, thread pools
        for _ in range(LATENCY_WARMUP):
            predictor.predict_batch(one)
        predictor.predict_batch(batch)
    samples: dict[str, list[float]] = {name: [] for name in predictors}
    rates: dict[str, list[float]] = {name: [] for name in predictors}
    repeats = max(1, math.ceil(LATENCY_REPEATS / rounds))
    for r in range(rounds):
        for name in ("before", "after") if r % 2 == 0 else ("after", "before"):
            predictor = predictors[name]
            samples[name] += latency_samples(functools.partial(predictor.predict_batch, one), repeats)
            rates[name].append(throughput_per_s(functools.partial(predictor.predict_batch, batch), batch_size,
                                                min_seconds=THROUGHPUT_SECONDS / rounds, warmup=0))
    out = []
    for name in ("before", "after"):
        p50, p99 = percentiles(samples[name])
        out.append({"p50_ms": p50, "p99_ms": p99, "throughput_per_s": float(statistics.median(rates[name]))})
    return out[0], out[1]


def _round(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def optimize(app_name: str, optimizer_cls: type[AppOptimizer], method: str, version: str | None = None,
             data: Path | None = None, tolerance: float | None = None, promote: str = "gate",
             device: str = "cpu") -> dict[str, Any]:
    """Optimise ``version`` (production when None) of ``app_name`` with ``method``; the JSON-able result.

    Everything printed meanwhile (progress bars, library chatter) goes to stderr, so a CLI's stdout
    carries only the JSON it prints from the returned dict.
    """
    with contextlib.redirect_stdout(sys.stderr):
        return _optimize(app_name, optimizer_cls, method, version, data, tolerance, promote, device)


def _optimize(app_name: str, optimizer_cls: type[AppOptimizer], method: str, version: str | None,
              data: Path | None, tolerance: float | None, promote: str, device: str) -> dict[str, Any]:
    import torch

    from lepton_shared.app import get_app
    from lepton_shared.registry import Registry
    from lepton_shared.training.trainer import resolve_device

    if method not in METHODS:
        raise UserError(f"unknown optimisation method {method!r}; choose one of: {', '.join(METHODS)}")
    if method not in optimizer_cls.methods:
        raise UserError(f"the {app_name} app does not support --method {method}; "
                        f"it supports: {', '.join(optimizer_cls.methods) or 'none'}")
    check_promote(promote)
    check_tolerance(tolerance)
    if data is not None and not Path(data).exists():
        raise UserError(f"--data {data}: no such file or folder")
    device = resolve_device(device).type
    if method == "fp16" and device != "cuda":
        raise UserError("fp16 needs a CUDA GPU (--device cuda) and none is in use; use bf16, int8 or onnx-int8 "
                        "on CPU")

    app = get_app(app_name)
    tol = check_tolerance(tolerance, default=app.tolerance)
    registry = Registry()
    source = registry.get(app_name, version)
    if "optimised_from" in source.params:
        _progress(f"note: {source.version} is itself an optimised version (from {source.params['optimised_from']})")
    metric_name = app.key_metric
    better_high = app.higher_is_better
    optimizer = optimizer_cls(source, data, device)
    threads = torch.get_num_threads()

    with _serving_device(device):
        _progress(f"measuring {app_name} {source.version} ({source.params.get('method', 'fp32')}) with {threads} "
                  f"threads on {device}")
        items = optimizer.sample_items(max(optimizer.batch_size, 1))
        if not items:
            raise UserError(f"the {app_name} app produced no sample inputs to measure with")
        before_predictor = app.load_predictor(source.version)
        before_predictor.predict_batch(items[:1])  # it loads and answers; it is measured beside the new one
        before: dict[str, float] = {"size_bytes": model_bytes(source.path)}
        _progress(f"scoring {metric_name} of {source.version}")
        before["metric"] = float(optimizer.metric(source.version))

        _progress(f"writing the {method} version of {source.version}")
        params = {**source.params, "optimised_from": source.version, "method": method}
        metrics = dict(source.metrics)
        info = registry.register(app_name, write=lambda folder: optimizer.write(method, folder), metrics=metrics,
                                 params=params, data_fingerprint=source.data_fingerprint, promote=False)
        try:
            _progress(f"measuring {info.version} ({method}) against {source.version}, alternating, "
                      f"{MEASURE_ROUNDS} rounds")
            after_predictor = app.load_predictor(info.version)
            speed_before, after = measure_pair(before_predictor, after_predictor, items, optimizer.batch_size)
            del after_predictor, before_predictor
            before.update(speed_before)
            after["size_bytes"] = model_bytes(info.path)
            _progress(f"scoring {metric_name} of {info.version}")
            after["metric"] = float(optimizer.metric(info.version))
        except Exception:
            _progress(f"{info.version} was registered but could not be measured; it stays a candidate")
            raise
    _record_metrics(info.app, info.version, {**metrics, metric_name: after["metric"],
                                             "optimisation": {"method": method, "from_version": source.version,
                                                              "before": before, "after": after}})

    promoted, reason = gate(before["metric"], after["metric"], tol, better_high, promote, metric_name)
    if promoted:
        registry.promote(app_name, info.version, reason=f"optimize --method {method} of {source.version}: {reason}")
    _progress(reason)
    return {
        "method": method,
        "from_version": source.version,
        "version": info.version,
        "promoted": promoted,
        "reason": reason,
        "size_bytes": {"before": int(before["size_bytes"]), "after": int(after["size_bytes"])},
        "p50_ms": {"before": _round(before["p50_ms"], 3), "after": _round(after["p50_ms"], 3)},
        "p99_ms": {"before": _round(before["p99_ms"], 3), "after": _round(after["p99_ms"], 3)},
        "throughput_per_s": {"before": _round(before["throughput_per_s"], 1),
                             "after": _round(after["throughput_per_s"], 1)},
        "metric": metric_name,
        "metric_value": {"before": _round(before["metric"], 6), "after": _round(after["metric"], 6)},
        "threads": threads,
        "device": device,
    }


def _record_metrics(app: str, version: str, metrics: dict[str, Any]) -> None:
    """Store the measured metrics of an optimised version (database row and its lepton_meta.json)."""
    import json

    from sqlalchemy import select

    from lepton_shared.registry import Registry
    from lepton_shared.storage import ModelVersion, session_scope

    registry = Registry()
    with session_scope(registry.database_url) as session:
        row = session.scalar(select(ModelVersion).where(ModelVersion.app == app, ModelVersion.version == version))
        if row is not None:
            row.metrics = metrics
    meta_path = registry.get(app, version).path / "lepton_meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        meta["metrics"] = metrics
        meta_path.write_text(json.dumps(meta, indent=2, default=str))
