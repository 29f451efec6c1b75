import os
from pathlib import Path

import pytest

from lepton_shared.settings import Settings, env_overrides, get_settings
from lepton_shared.testing.env import lepton_env


def test_defaults_put_sqlite_under_home(tmp_path: Path) -> None:
    with lepton_env(tmp_path / "h"):
        s = get_settings()
        assert s.home_dir == (tmp_path / "h").resolve()
        assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'h').resolve() / 'lepton.db'}"
        assert s.api_token is None


def test_environment_overrides(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LEPTON_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("LEPTON_API_TOKEN", "secret")
    monkeypatch.setenv("LEPTON_MAX_REQUEST_BYTES", "1234")
    s = Settings(home=tmp_path)
    assert s.resolved_database_url == "postgresql+psycopg://u@h/db"
    assert s.api_token == "secret" and s.max_request_bytes == 1234


def test_env_overrides_sets_removes_and_restores_even_after_an_error(monkeypatch) -> None:
    monkeypatch.setenv("LEPTON_TEST_KEPT", "before")
    monkeypatch.setenv("LEPTON_TEST_REMOVED", "present")
    monkeypatch.delenv("LEPTON_TEST_NEW", raising=False)
    with pytest.raises(RuntimeError), env_overrides({"LEPTON_TEST_KEPT": "inside", "LEPTON_TEST_REMOVED": None,
                                                      "LEPTON_TEST_NEW": "new"}):
        assert os.environ["LEPTON_TEST_KEPT"] == "inside"
        assert "LEPTON_TEST_REMOVED" not in os.environ
        assert os.environ["LEPTON_TEST_NEW"] == "new"
        raise RuntimeError("the block failed")
    assert os.environ["LEPTON_TEST_KEPT"] == "before"
    assert os.environ["LEPTON_TEST_REMOVED"] == "present"
    assert "LEPTON_TEST_NEW" not in os.environ
