"""Scale-out of training: `make train-<app> NPROC=N` runs the CLI under torchrun, and a torch app trained by
two processes registers exactly one model version.

(The 2-process gloo test of the shared ``Trainer`` itself lives with the foundation tests.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Apps that train through lepton_shared.training.Trainer, with their tiny-data flags (``--promote always``: a
#: one-epoch model need not beat its baseline, and the version rank 0 registers is to become production).
TORCH_APPS = {"chatbot": ["--tiny", "--epochs", "1", "--promote", "always"],
              "imaging": ["--tiny", "--epochs", "1", "--promote", "always"]}


def _make_dry_run(*args: str) -> str:
    proc = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_nproc_launches_torchrun() -> None:
    assert "torchrun" not in _make_dry_run("train-imaging")
    two = _make_dry_run("train-imaging", "NPROC=2")
    assert "torchrun --nnodes 1 --nproc_per_node 2 -m lepton_shared.cli.main imaging train" in two
    assert "--nproc_per_node 4" in _make_dry_run("train-imaging", "NPROC=4", "NNODES=2")


@pytest.mark.slow
@pytest.mark.parametrize("app", sorted(TORCH_APPS))
def test_two_process_training_registers_one_version(app: str, tmp_path: Path) -> None:
    env = {**os.environ, "LEPTON_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    env.pop("LEPTON_DATABASE_URL", None)
    torchrun = Path(sys.executable).with_name("torchrun")
    proc = subprocess.run([str(torchrun), "--nproc_per_node", "2", "-m", "lepton_shared.cli.main", app, "train",
                           "--device", "cpu", *TORCH_APPS[app]], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    listed = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "models", "list", app, "--json"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    versions = json.loads(listed.stdout)
    assert [v["version"] for v in versions] == ["v1"], versions
    assert versions[0]["stage"] == "production"
