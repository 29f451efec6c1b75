"""Which apps ``make demo`` is still training, shared with the home page through one small JSON file.

The demo trains in the background while the suite is already open, so the home card of an app without a
model must tell "being trained right now" from "nobody trained it". The demo writes
``<LEPTON_HOME>/demo-status.json``; the card reads it. Only what is known is recorded (state and start
time), no guessed percentages, and the demo's process id, so a file left behind by a killed demo is ignored.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "demo-status.json"
PENDING = ("queued", "training")


def status_path(home: Path) -> Path:
    return home / FILE_NAME


@dataclass(frozen=True)
class AppTraining:
    """One app's place in the demo's background training."""

    state: str  # "queued", "training", "ready" or "failed"
    since: float  # wall-clock time (epoch seconds) the state began

    def describe(self, now: float | None = None) -> str:
        """What the home card says, e.g. ``training in progress (started 40 s ago)``."""
        elapsed = max(0, round((now if now is not None else time.time()) - self.since))
        if self.state == "training":
            return f"training in progress (started {elapsed} s ago); its service starts when the model is ready"
        if self.state == "queued":
            return "queued for training: the demo trains faster apps first; its service starts when trained"
        return self.state


class StatusFile:
    """Written by the demo (one writer) and replaced atomically, so a reader never sees half a file."""

    def __init__(self, home: Path) -> None:
        self.path = status_path(home)
        self.apps: dict[str, AppTraining] = {}

    def set(self, app: str, state: str) -> None:
        self.apps[app] = AppTraining(state, time.time())
        payload = {"pid": os.getpid(), "apps": {name: vars(entry) for name, entry in self.apps.items()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=1))
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pending_training(home: Path) -> dict[str, AppTraining]:
    """Apps a running demo is training or about to train; empty when no demo runs (never raises)."""
    try:
        payload = json.loads(status_path(home).read_text())
        if not _alive(payload.get("pid")):
            return {}
        entries = {name: AppTraining(str(e["state"]), float(e["since"])) for name, e in payload["apps"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    return {name: entry for name, entry in entries.items() if entry.state in PENDING}
