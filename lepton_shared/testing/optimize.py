"""Test support for ``optimize``: a tiny model needs no long measurement."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from lepton_shared.optimize.base import AppOptimizer


@contextlib.contextmanager
def quick_measurement(optimizer_cls: type[AppOptimizer], batch_size: int = 4) -> Iterator[None]:
    """Within: the runner times a handful of calls instead of seconds of them, at a small serving batch."""
    from lepton_shared.optimize import runner

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "LATENCY_REPEATS", 2)
        mp.setattr(runner, "LATENCY_WARMUP", 1)
        mp.setattr(runner, "THROUGHPUT_SECONDS", 0.01)
        mp.setattr(runner, "MEASURE_ROUNDS", 2)
        mp.setattr(optimizer_cls, "batch_size", batch_size)
        yield
