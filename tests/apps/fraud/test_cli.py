"""CLI mistakes are one readable line (exit 2), caught before any training."""

import subprocess
import sys
from pathlib import Path

import pytest


def _run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "LEPTON_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "fraud", *args], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.mark.parametrize(("args", "message"), [
    (["train", "--tiny", "--rule", "TX_AMOUNT > 5"], "rule"),
    (["train", "--tiny", "--models", "xgboost"], "--models"),
    (["train", "--tiny", "--train-start", "someday"], "not a date"),
    (["train", "--tiny", "--train-start", "2030-01-01"], "covers"),
])
def test_bad_options_are_one_line_errors(args: list[str], message: str, tmp_path: Path) -> None:
    proc = _run(*args, home=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and message in proc.stderr


def test_help_explains_the_protocol_options(tmp_path: Path) -> None:
    proc = _run("train", "--help", home=tmp_path)
    assert proc.returncode == 0
    for option in ("--train-start", "--delay-days", "--review-cost", "--rule", "--with-feedback"):
        assert option in proc.stdout
