"""Which apps ``make demo`` is still training, shared with the home page through one small JSON file.

The demo trains in the background while the suite is already open, so the home card of an app without a
model must tell "being trained right now" from "nobody trained it". The demo writes
``<LEPTON_HOME>/demo-status.json``; the card reads it. Only what is known is recorded (state and start
time, and the step and count the training itself reports through ``lepton_shared.progress_file``), no
guessed percentages, and the demo's process id, so a file left behind by a killed demo is ignored.

An app whose full recipe takes minutes (its manifest's ``demo_quick_train_args``) first gets a quick model,
so its page is usable at once; ``demo-quick-models.json`` remembers which production versions are such quick
models, so the card says so until the full model replaces it, and a later demo resumes the full training.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from lepton_shared import progress_file

FILE_NAME = "demo-status.json"
QUICK_FILE = "demo-quick-models.json"
PROGRESS_DIR = "demo-progress"
PENDING = ("queued", "training")


def status_path(home: Path) -> Path:
    return home / FILE_NAME


def progress_path(home: Path, app: str) -> Path:
    """Where the demo's training process of ``app`` reports its progress (``LEPTON_PROGRESS_FILE``)."""
    return home / PROGRESS_DIR / f"{app}.json"


@dataclass(frozen=True)
class AppTraining:
    """One app's place in the demo's background training."""

    state: str  # "queued", "training", "ready" or "failed"
    since: float  # wall-clock time (epoch seconds) the state began
    quick: bool = False  # the state is that of the app's quick demo model, not its full recipe
    progress: str = ""  # what the training process last reported, e.g. "training the PPO agent 60 % (...)"

    def elapsed(self, now: float | None = None) -> int:
        return max(0, round((now if now is not None else time.time()) - self.since))

    def describe(self, now: float | None = None) -> str:
        """What the home card says, e.g. ``training in progress (started 40 s ago)``."""
        elapsed = self.elapsed(now)
        if self.state == "training" and self.quick:
            return (f"training a quick demo model first (started {elapsed} s ago), so the page is usable soon; "
                    "the full recipe follows in the background")
        if self.state == "training":
            step = f": {self.progress}" if self.progress else ""
            return (f"training in progress (started {elapsed} s ago{step}); its service starts when the model "
                    "is ready")
        if self.state == "queued":
            return "queued for training: the demo trains faster apps first; its service starts when trained"
        return self.state


class StatusFile:
    """Written by the demo (one writer) and replaced atomically, so a reader never sees half a file."""

    def __init__(self, home: Path) -> None:
        self.path = status_path(home)
        self.apps: dict[str, AppTraining] = {}

    @property
    def home(self) -> Path:
        return self.path.parent

    def set(self, app: str, state: str, quick: bool = False) -> None:
        self.apps[app] = AppTraining(state, time.time(), quick)
        payload = {"pid": os.getpid(), "apps": {name: {"state": e.state, "since": e.since, "quick": e.quick}
                                                for name, e in self.apps.items()}}
        _write_json(self.path, payload)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _write_json(path: Path, payload: object) -> None:
    """Replace ``path`` atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)


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
        entries = {name: AppTraining(str(e["state"]), float(e["since"]), bool(e.get("quick", False)))
                   for name, e in payload["apps"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    pending = {}
    for name, entry in entries.items():
        if entry.state not in PENDING:
            continue
        report = progress_file.read(progress_path(home, name))
        if report is not None and report.at >= entry.since:  # not a report of an earlier training
            entry = AppTraining(entry.state, entry.since, entry.quick, report.describe())
        pending[name] = entry
    return pending


def quick_models(home: Path) -> dict[str, str]:
    """``{app: version}`` of the production versions that are the demo's quick models (never raises)."""
    try:
        payload = json.loads((home / QUICK_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in payload.items()} if isinstance(payload, dict) else {}


def mark_quick(home: Path, app: str, version: str) -> None:
    _write_json(home / QUICK_FILE, {**quick_models(home), app: version})


def clear_quick(home: Path, app: str) -> None:
    models = quick_models(home)
    if models.pop(app, None) is not None:
        _write_json(home / QUICK_FILE, models)


def quick_note(home: Path, app: str, version: str | None) -> str | None:
    """What the home card says of a production ``version`` that is the demo's quick model; None otherwise."""
    if version is None or quick_models(home).get(app) != version:
        return None
    entry = pending_training(home).get(app)
    if entry is None:
        return ("quick demo model: its full training has not finished; the next `make demo` resumes it, or run "
                f"`make train-{app}`")
    if entry.state == "training":
        return f"quick demo model, full training in progress: {entry.progress or f'started {entry.elapsed()} s ago'}"
    return "quick demo model, full training queued"
