"""Size, latency and throughput measurements shared by every app's ``optimize``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

#: Files of a version's folder that describe the model rather than make it up (the registry's record and the
#: training report): an optimised version has no report of its own, so counting them would flatter its size.
NOT_MODEL_FILES = ("lepton_meta.json", "report.html")


def folder_bytes(path: Path | str, exclude: tuple[str, ...] = ()) -> int:
    """Total size in bytes of the files under ``path`` (a file's own size when it is a file), leaving out files
    named in ``exclude`` at the top of the folder."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = Path(root) / name
            if not file.is_symlink() and not (file.parent == path and name in exclude):
                total += file.stat().st_size
    return total


def model_bytes(path: Path | str) -> int:
    """What a registered version's model takes on disk: its folder without ``NOT_MODEL_FILES``."""
    return folder_bytes(path, NOT_MODEL_FILES)


def latency_samples(predict_one: Callable[[], Any], repeats: int, warmup: int = 0) -> list[float]:
    """Wall-clock milliseconds of ``repeats`` calls of ``predict_one()`` after ``warmup`` untimed calls."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(max(warmup, 0)):
        predict_one()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict_one()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    """(p50, p99) of latency samples."""
    values = np.asarray(samples_ms, dtype=float)
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


def latency_ms(predict_one: Callable[[], Any], repeats: int = 50, warmup: int = 5) -> tuple[float, float]:
    """(p50, p99) wall-clock milliseconds of ``predict_one()`` over ``repeats`` calls after ``warmup`` calls."""
    return percentiles(latency_samples(predict_one, repeats, warmup))


def throughput_per_s(predict_batch: Callable[[], Any], batch_size: int, min_seconds: float = 2.0,
                     warmup: int = 1) -> float:
    """Items per second of repeated ``predict_batch()`` calls (each ``batch_size`` items) over >= ``min_seconds``.

    ``warmup`` calls are not counted; at least one timed call is always made.
    """
    for _ in range(max(warmup, 0)):
        predict_batch()
    calls = 0
    start = time.perf_counter()
    while True:
        predict_batch()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            break
    return calls * batch_size / elapsed
