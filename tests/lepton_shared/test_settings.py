from pathlib import Path

from lepton_shared.settings import Settings, get_settings
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
