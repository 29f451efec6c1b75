"""``lepton <app> tune`` and ``train --params best`` as a user types them: options, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lepton_shared.cli.main import build_parser


def lepton(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEPTON_HOME": str(home)}
    env.pop("LEPTON_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_tune_takes_the_train_options_and_its_own() -> None:
    args = build_parser("recommender").parse_args(["recommender", "tune", "--tiny", "--epochs", "2", "--trials", "4",
                                                   "--timeout", "60", "--workers", "2", "--study", "s", "--json"])
    assert (args.tiny, args.epochs, args.trials, args.timeout, args.workers, args.study, args.json) == (
        True, 2, 4, 60.0, 2, "s", True)
    args = build_parser("fraud").parse_args(["fraud", "train", "--tiny", "--params", "best", "--study", "s"])
    assert (args.params, args.study) == ("best", "s")


def test_a_bad_budget_is_a_one_line_error(tmp_path: Path) -> None:
    """(An app without a tuner is the runner's test: every app has one now.)"""
    proc = lepton("chatbot", "tune", "--trials", "0", home=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --trials must be at least 1"


def test_train_params_best_without_a_study_is_a_one_line_error(tmp_path: Path) -> None:
    proc = lepton("recommender", "train", "--tiny", "--params", "best", "--study", "nope", home=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no study named 'nope'" in proc.stderr
    proc = lepton("recommender", "train", "--tiny", "--study", "nope", home=tmp_path)
    assert proc.returncode == 2 and "--study is used with --params best" in proc.stderr
