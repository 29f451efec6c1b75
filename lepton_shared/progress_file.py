"""How far a long training is, written to a file its supervisor names in ``LEPTON_PROGRESS_FILE``.

``make demo`` trains in background processes whose progress bars go to a terminal nobody may be watching;
the home card reads this file instead of parsing those bars. A training reports the step it is in and, where
it knows them, the units done of the total (PPO steps, epochs). Reporting never fails a training: without the
variable it does nothing, and a write that fails is skipped.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

ENV = "LEPTON_PROGRESS_FILE"
MIN_INTERVAL_S = 1.0  #: writes of the same step are at most this often (a PPO callback runs every few steps)

_last: dict[str, float] = {}


@dataclass(frozen=True)
class Progress:
    """One report: the step, and ``done`` of ``total`` units when the step counts them (``total`` 0: unknown)."""

    step: str
    done: int = 0
    total: int = 0
    at: float = 0.0  #: wall-clock time of the report (epoch seconds)

    @property
    def percent(self) -> int | None:
        return min(100, round(100 * self.done / self.total)) if self.total > 0 else None

    def describe(self) -> str:
        """``PPO agent 60 % (90,000 of 150,000)``, or the step alone when it has no count."""
        if self.percent is None:
            return self.step
        return f"{self.step} {self.percent} % ({self.done:,} of {self.total:,})"


def report(step: str, done: int = 0, total: int = 0) -> None:
    """Record that the training is at ``step`` (``done`` of ``total``); a no-op unless ``LEPTON_PROGRESS_FILE``
    is set. Repeated reports of one step are thinned to one a second, except the last (``done >= total``)."""
    target = os.environ.get(ENV)
    if not target:
        return
    now = time.time()
    finished = total > 0 and done >= total
    if not finished and now - _last.get(step, 0.0) < MIN_INTERVAL_S:
        return
    _last[step] = now
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"step": step, "done": int(done), "total": int(total), "at": now}))
        os.replace(tmp, path)  # a reader sees the old report or the new one, never half of one
    except OSError:
        pass


def read(path: Path) -> Progress | None:
    """The last report in ``path``; None when there is none or it cannot be read (never raises)."""
    try:
        payload = json.loads(path.read_text())
        return Progress(str(payload["step"]), int(payload["done"]), int(payload["total"]), float(payload["at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
