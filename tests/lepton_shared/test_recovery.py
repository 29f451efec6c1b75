"""What a killed process leaves behind is cleared at the next start (``kill -9`` runs no ``finally``)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from lepton_shared import durable
from lepton_shared.recovery import STALE_AFTER
from lepton_shared.registry import Registry
from lepton_shared.storage import TrainingRun, session_scope
from lepton_shared.testing.example import train_example

KILLED_TRAINING = """
import os, signal
from torch import nn
from lepton_shared.training import Trainer, TrainerConfig
trainer = Trainer(nn.Linear(2, 2), TrainerConfig(app="example", show_progress=False), loss_fn=lambda m, b: m(b).sum())
assert trainer._start_run() is not None
os.kill(os.getpid(), signal.SIGKILL)
"""

KILLED_REGISTER = """
import os, signal
from lepton_shared.registry import Registry
def write(folder):
    (folder / "half.bin").write_bytes(b"partial")
    os.kill(os.getpid(), signal.SIGKILL)
Registry().register("example", write)
"""


def _killed(script: str) -> None:
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr


def _statuses() -> dict[str, str]:
    with session_scope() as session:
        return {str(run.params.get("label", run.id)): run.status for run in session.scalars(select(TrainingRun))}


def test_a_killed_training_is_marked_failed_at_the_next_start(lepton_home: Path) -> None:
    _killed(KILLED_TRAINING)
    assert list(_statuses().values()) == ["running"]  # what kill -9 leaves
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    now, old = time.time(), time.time() - STALE_AFTER.total_seconds() - 60
    owners = {"alive here": {"pid": sleeper.pid, "host": socket.gethostname(), "heartbeat": now},
              "pid alive here, but silent (reused)": {"pid": sleeper.pid, "host": socket.gethostname(),
                                                      "heartbeat": old},
              "elsewhere, recent": {"pid": 1, "host": "another-host", "heartbeat": now},
              "elsewhere, silent": {"pid": 1, "host": "another-host", "heartbeat": old}}
    try:
        with session_scope() as session:
            for label, owner in owners.items():
                session.add(TrainingRun(app="example", params={"label": label}, timings={"owner": owner}))
        train_example(epochs=1)
        statuses = _statuses()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert sorted(statuses.values()).count("finished") == 1
    assert {label: statuses[label] for label in owners} == {
        "alive here": "running", "pid alive here, but silent (reused)": "failed", "elsewhere, recent": "running",
        "elsewhere, silent": "failed"}
    assert [s for label, s in statuses.items() if label not in owners and s != "finished"] == ["failed"]


def test_kill_during_register_leaves_no_version_and_the_folder_is_cleaned(lepton_home: Path) -> None:
    _killed(KILLED_REGISTER)
    reg = Registry()
    app_dir = reg.root / "example"
    assert [p.name.startswith(".incomplete-") for p in app_dir.iterdir()] == [True]
    assert reg.list("example") == []
    info = reg.register("example", lambda folder: (folder / "model.txt").write_text("ok"))
    assert info.version == "v1" and sorted(p.name for p in app_dir.iterdir()) == ["v1"]


def test_a_running_registration_keeps_its_folder(lepton_home: Path) -> None:
    reg = Registry()
    app_dir = reg.root / "example"
    app_dir.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        busy = app_dir / f".incomplete-{sleeper.pid}@{socket.gethostname()}.abc123"
        busy.mkdir()
        reg.register("example", lambda folder: (folder / "model.txt").write_text("ok"))
        assert busy.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("what", ["register", "checkpoint"])
def test_renames_are_made_durable(lepton_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  what: str) -> None:
    synced: list[Path] = []
    real = durable.fsync_path
    monkeypatch.setattr(durable, "fsync_path", lambda path: (synced.append(Path(path)), real(path)))
    if what == "register":
        final = Registry().register("example", lambda folder: (folder / "model.txt").write_text("ok")).path
    else:
        train_example(epochs=1, checkpoint_dir=tmp_path / "ckpt")
        final = tmp_path / "ckpt" / "last.pt"
    assert final.exists() and os.path.samefile(synced[-1], final.parent)  # the new name reached the disk last,
    assert len(synced) >= 2  # after the content
