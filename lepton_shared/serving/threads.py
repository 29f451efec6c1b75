"""CPU thread limits for answering requests.

A request's numpy work in a service (small matrix products, e.g. a batch of
embeddings against stored ones) is too small to split over BLAS threads. Worse,
right after a torch forward pass torch's OpenMP threads are still spinning, and
OpenBLAS threads that wait for a core behind them turn a 0.1 ms product into tens
of milliseconds (measured: 44 ms for 8 x 384 by 384 x 196 on a busy 2-core
machine, 0.1 ms with one thread). :func:`blas_threads` caps BLAS for a block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController  # a scikit-learn dependency

    return ThreadpoolController()  # finds the loaded BLAS libraries once (tens of ms); limiting is then ~0.1 ms


@contextmanager
def blas_threads(limit: int) -> Iterator[None]:
    """At most ``limit`` BLAS (OpenBLAS/MKL) threads in the block; the previous limits afterwards."""
    with _controller().limit(limits=limit, user_api="blas"):
        yield


def serving_threads(app: str, default: int = 1) -> int:
    """Torch CPU threads per request (or micro-batch) of ``app``: ``LEPTON_<APP>_THREADS``, else ``default``.

    Concurrent requests and micro-batches already run in parallel, each in a thread of the service's
    pool; splitting each one over OpenMP threads as well oversubscribes the cores, and on a machine
    busy with other work the threads then spin against each other (measured for imaging on the
    shared 2-core machine: one 28 px image 1.7 s with torch's default 2 threads from the main
    thread, 87 ms with 1; in the service, a micro-batch cost 172 ms of CPU per image with 2).
    """
    import os

    try:
        return max(1, int(os.environ.get(f"LEPTON_{app.upper()}_THREADS", str(default))))
    except ValueError:
        return default
