"""The promotion gate end to end through the CLI, on the fraud app (the quickest to train for real):
``train`` promotes a good model, refuses a worse one on the same data and says why in one line; forcing
it needs a reason; the history keeps both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEPTON_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    env.pop("LEPTON_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", *argv], capture_output=True, text=True,
                          env=env, timeout=600)


def _gate_line(stderr: str, version: str) -> str:
    """The gate's line about ``version`` (progress bars may share its terminal line)."""
    found = [line[line.index(f"fraud {version} "):] for line in stderr.splitlines() if f"fraud {version} " in line]
    lines = [line for line in found if not line.startswith(f"fraud {version} registered")]
    assert len(lines) == 1, found
    return lines[0]


@pytest.mark.slow
def test_train_gate_refuses_a_worse_model_and_history_keeps_the_forced_promotion(tmp_path: Path) -> None:
    home = tmp_path / "home"
    good = _cli(home, "fraud", "train", "--tiny", "--epochs", "1")
    assert good.returncode == 0, good.stderr[-3000:]
    assert _gate_line(good.stderr, "v1").startswith("fraud v1 promoted: ")

    # one epoch of the MLP alone, on the same data and seed: far worse than v1 and than the baseline
    worse = _cli(home, "fraud", "train", "--tiny", "--epochs", "1", "--models", "mlp")
    assert worse.returncode == 0, worse.stderr[-3000:]
    line = _gate_line(worse.stderr, "v2")
    assert line.startswith("fraud v2 left a candidate: ")
    assert "does not beat the baseline" in line and "against production v1 on the same data" in line
    assert "fraud v2 registered (candidate)" in worse.stderr

    listed = _cli(home, "models", "list", "fraud").stdout.splitlines()
    assert [row.split()[2] for row in listed] == ["production", "candidate"]
    assert all("average_precision=" in row for row in listed)

    refused = _cli(home, "models", "promote", "fraud", "v2")
    assert refused.returncode == 2 and "fails the promotion gate" in refused.stderr and "--force" in refused.stderr
    forced = _cli(home, "models", "promote", "fraud", "v2", "--force", "--reason", "checking the gate")
    assert forced.returncode == 0, forced.stderr
    assert _cli(home, "models", "rollback", "fraud", "--reason", "back to lightgbm").returncode == 0

    history = json.loads(_cli(home, "models", "history", "fraud", "--json").stdout)
    assert [(h["action"], h["version"], h["previous_version"]) for h in history] == [
        ("promote", "v1", None), ("promote", "v2", "v1"), ("rollback", "v1", "v2")]
    assert history[1]["reason"].startswith("forced: checking the gate (gate: ")
    assert history[1]["value"] < history[1]["previous_value"] and history[1]["metric"] == "average_precision"
    assert history[2]["reason"] == "back to lightgbm" and all(h["actor"] for h in history)
    text = _cli(home, "models", "history", "fraud").stdout
    assert "forced: checking the gate" in text and "replacing v1" in text
