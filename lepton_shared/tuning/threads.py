"""The CPU thread budget of ``tune --workers N``: each worker gets ``max(1, cores // N)`` threads.

numpy's BLAS, OpenMP (implicit, LightGBM) and torch each start one thread per core by default. N workers that
all do so run N x cores threads on ``cores`` cores, and the threads of a BLAS product or a torch kernel then
wait for each other's time slices: on the shared 2-core machine two such workers took longer for a study than
one (docs/benchmarks/tuning.md). A single worker keeps every core.

Libraries read ``OMP_NUM_THREADS`` and friends when they load, and a ``spawn`` child imports numpy while it
unpickles its target, before any of its code runs; so the parent puts the budget into the environment the
children inherit (:func:`child_env`), and every worker applies it again at run time (:func:`limited_threads`)
to whatever is already loaded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: The variables that size the thread pools of OpenMP, OpenBLAS and MKL when they load.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: The trial user attribute holding the threads its process had (``{"blas": n, "openmp": n, "torch": n}``).
THREADS_ATTR = "lepton_threads"


def available_cores() -> int:
    """The cores this process may run on (its affinity mask, so a container's or ``taskset``'s limit counts)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity masks (macOS, Windows)
        return os.cpu_count() or 1


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """``max(1, cores // workers)``: the workers together use each core once, and none gets zero."""
    return max(1, (cores or available_cores()) // max(1, workers))


@contextmanager
def child_env(threads: int) -> Iterator[None]:
    """The thread variables set to ``threads`` while the block starts children (they copy the environment), and
    as they were afterwards, so the parent's own libraries and later commands are unaffected."""
    from lepton_shared.settings import env_overrides

    with env_overrides({name: str(threads) for name in THREAD_ENV_VARS}):
        yield


@contextmanager
def limited_threads(threads: int) -> Iterator[None]:
    """At most ``threads`` threads in this process's BLAS and OpenMP pools and in torch (if loaded) in the block;
    the previous limits afterwards (a caller such as a test or a page keeps its own)."""
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    torch = sys.modules.get("torch")
    torch_before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=threads):
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None and torch_before is not None:
                torch.set_num_threads(torch_before)


def threads_in_use() -> dict[str, Any]:
    """The largest pool of each kind loaded in this process (``blas``, ``openmp``) and torch's intra-op threads."""
    from threadpoolctl import threadpool_info

    found: dict[str, Any] = {}
    for pool in threadpool_info():
        api = str(pool.get("user_api"))
        found[api] = max(int(pool.get("num_threads") or 0), int(found.get(api, 0)))
    if "torch" in sys.modules:
        found["torch"] = int(sys.modules["torch"].get_num_threads())
    return found
