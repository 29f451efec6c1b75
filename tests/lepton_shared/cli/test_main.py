"""The ``lepton`` CLI as a user runs it: subprocesses, exit codes, one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lepton_shared.cli.main import build_parser
from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.example import register_example


def lepton(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEPTON_HOME": str(home)}
    env.pop("LEPTON_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_help_explains_every_app_and_command(tmp_path: Path) -> None:
    out = lepton("--help", home=tmp_path).stdout
    for word in ("chatbot", "imaging", "recommender", "fraud", "maintenance", "models", "db"):
        assert word in out
    assert lepton("--help", home=tmp_path).returncode == 0


def test_common_options_follow_the_contract() -> None:
    args = build_parser().parse_args(["fraud", "evaluate", "--data", "x.csv", "--model", "v2", "--json"])
    assert (str(args.data), args.model, args.json, args.device) == ("x.csv", "v2", True, "auto")
    args = build_parser().parse_args(["maintenance", "serve", "--host", "0.0.0.0", "--port", "9000",
                                      "--workers", "3"])
    assert (args.host, args.port, args.workers) == ("0.0.0.0", 9000, 3)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["chatbot", "train", "--device", "tpu"])


def test_db_upgrade_and_models_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert lepton("db", "upgrade", home=home).returncode == 0
    with lepton_env(home):
        register_example(epochs=1)
        register_example(epochs=1)
    listed = lepton("models", "list", "--json", home=home)
    assert listed.returncode == 0
    assert [m["version"] for m in json.loads(listed.stdout)] == ["v1", "v2"]
    assert lepton("models", "promote", "chatbot", "v1", home=home).returncode == 2  # no chatbot versions
    assert "v2" in lepton("models", "list", home=home).stdout


def test_user_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    proc = lepton("models", "rollback", "fraud", home=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = lepton("models", "show", "imaging", "v4", home=tmp_path)
    assert proc.returncode == 2 and "v4" in proc.stderr and "Traceback" not in proc.stderr


def test_train_points_to_the_evaluation_report(tmp_path: Path) -> None:
    proc = lepton("recommender", "train", "--tiny", "--epochs", "1", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stderr.splitlines() if line.startswith("evaluation report"))
    report = Path(line.rsplit(": ", 1)[1])
    assert report.name == "report.html" and report.is_file() and tmp_path in report.parents


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    from importlib.metadata import version

    proc = lepton("--version", home=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"lepton {version('lepton-suite')}"
