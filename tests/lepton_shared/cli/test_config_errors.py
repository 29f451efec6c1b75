"""A bad ``LEPTON_*`` value or an unreachable database: one readable line and a non-zero exit, whatever the command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

UNREACHABLE = "postgresql+psycopg://nobody:secret@127.0.0.1:1/x"


def lepton(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEPTON_")}
    environ.update({"LEPTON_HOME": str(home), **env})
    return subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", *args], capture_output=True, text=True,
                          env=environ, timeout=300)


@pytest.mark.parametrize(("env", "args", "says"), [
    ({"LEPTON_MAX_BATCH": "0"}, ("apps",), "LEPTON_MAX_BATCH='0'"),
    ({"LEPTON_DEVICE": "tpu"}, ("fraud", "train", "--epochs", "1"), "LEPTON_DEVICE='tpu'"),
    ({"LEPTON_LOG_PREDICTIONS": "maybe"}, ("models", "list"), "LEPTON_LOG_PREDICTIONS='maybe'"),
    ({"LEPTON_DATABASE_URL": UNREACHABLE}, ("fraud", "train", "--epochs", "1"), "cannot connect to the database"),
    ({"LEPTON_DATABASE_URL": UNREACHABLE}, ("db", "upgrade"), "127.0.0.1:1"),
    ({"LEPTON_DATABASE_URL": "nodb://x"}, ("models", "list"), "not a usable database URL"),
])
def test_configuration_errors_are_one_line(tmp_path: Path, env: dict[str, str], args: tuple[str, ...],
                                           says: str) -> None:
    proc = lepton(*args, home=tmp_path / "home", **env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and says in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""
    assert "secret" not in proc.stderr  # the password of a database URL is not shown
