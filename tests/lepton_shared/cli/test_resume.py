"""``lepton <app> train --resume`` after a ``kill -9``: the training continues from its last epoch and ends
where an uninterrupted one ends."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from lepton_shared.cli.main import run
from lepton_shared.errors import UserError
from lepton_shared.storage import TrainingRun, session_scope
from lepton_shared.testing.env import lepton_env

TRAIN = ("imaging", "train", "--tiny", "--epochs", "2", "--device", "cpu", "--promote", "never")
#: What an interrupted training must reproduce (timings and throughput naturally differ).
COMPARED = ("roc_auc", "average_precision", "accuracy", "ece", "temperature", "threshold", "best_epoch")


def _env(home: Path) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LEPTON_")}, "LEPTON_HOME": str(home)}


def lepton(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", *args], capture_output=True, text=True,
                          env=_env(home), timeout=300)


def registered_metrics(home: Path) -> dict[str, float]:
    proc = lepton("models", "show", "imaging", "v1", home=home)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["metrics"]


@pytest.mark.slow
def test_a_killed_training_resumes_and_ends_like_an_uninterrupted_one(tmp_path: Path) -> None:
    home = tmp_path / "killed"
    training = subprocess.Popen([sys.executable, "-m", "lepton_shared.cli.main", *TRAIN], env=_env(home),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not list((home / "checkpoints" / "imaging").glob("*/trainer-*/last.pt")):
        assert training.poll() is None and time.monotonic() < deadline, "no checkpoint was written"
        time.sleep(0.05)
    training.send_signal(signal.SIGKILL)
    training.wait()

    other = lepton(*TRAIN[:4], "4", *TRAIN[5:], "--resume", home=home)
    assert other.returncode == 2 and other.stderr.startswith("error: cannot resume") and "epochs=4 (was 2)" in \
        other.stderr and len(other.stderr.strip().splitlines()) == 1

    resumed = lepton(*TRAIN, "--resume", home=home)
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "uninterrupted"
    assert lepton(*TRAIN, home=reference).returncode == 0
    metrics, expected = registered_metrics(home), registered_metrics(reference)
    for name in COMPARED:
        assert metrics[name] == pytest.approx(expected[name], abs=1e-4), name
    assert not (home / "checkpoints" / "imaging").exists()  # finished: nothing left to resume
    with lepton_env(home), session_scope() as session:
        statuses = sorted(r.status for r in session.scalars(select(TrainingRun)))
    assert statuses == ["failed", "finished"]  # the killed run, found dead when the resumed one started


def test_resume_with_nothing_to_resume_says_so(tmp_path: Path) -> None:
    with lepton_env(tmp_path / "home"), pytest.raises(UserError, match="nothing to resume"):
        run([*TRAIN, "--resume"])
