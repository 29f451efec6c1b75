"""Performance harnesses: the shared ``Trainer`` against a plain torch loop (:mod:`.trainer`) and an app's
HTTP service under concurrent clients (:mod:`.serve`). ``lepton perf …`` and ``make bench-perf`` run them."""

from __future__ import annotations

import os
import resource
import sys


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory in MiB of process ``pid`` (this process when None), from ``/proc`` where it exists."""
    if pid is not None:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (``os.getloadavg``), rounded."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux/macOS
        return []


def progress(message: str) -> None:
    """A progress line on stderr (stdout is kept for ``--json``)."""
    print(message, file=sys.stderr, flush=True)
