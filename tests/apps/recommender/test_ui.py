"""The Streamlit page (headless, with AppTest) through its service at LEPTON_RECOMMENDER_URL and in-process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from lepton_shared.testing.server import serve_app
from lepton_shared.ui import reset_local


@pytest.fixture(autouse=True)
def fresh_in_process_service() -> Iterator[None]:
    """Each test starts the page's in-process service in its own LEPTON_HOME (it lives as long as the process)."""
    reset_local("recommender")
    yield
    reset_local("recommender")


@pytest.mark.parametrize("mode", ["service", "in-process"])
def test_page_recommends_for_a_user(mode: str, trained_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from apps.recommender.app import APP

    with ExitStack() as stack:
        if mode == "service":
            monkeypatch.setenv("LEPTON_RECOMMENDER_URL", stack.enter_context(serve_app(APP.create_service())))
        else:
            monkeypatch.delenv("LEPTON_RECOMMENDER_URL", raising=False)
        page = AppTest.from_file(str(APP.ui_script), default_timeout=60).run()
        assert not page.exception
        where = "via the service" if mode == "service" else "in-process"
        assert any("Model **v1**" in m.value and where in m.value for m in page.markdown)
        page.text_input(key="user_text").set_value("visitor-42")
        page.button(key="user_go").click().run()
        assert not page.exception
        headers = [h.value for h in page.subheader]  # the customer's history (none here) beside their list
        assert "Recommendations for visitor-42 (cold start: trending items)" in headers
        assert "History (0 items)" in headers
        page.text_input(key="user_text").set_value("")
        page.button(key="user_go").click().run()
        assert any(h.value.endswith("(personalised)") for h in page.subheader)
        page.button(key="session_go").click().run()
        assert not page.exception and not page.error


def test_page_without_a_model_offers_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from apps.recommender.app import APP
    from lepton_shared.testing.env import lepton_env

    monkeypatch.delenv("LEPTON_RECOMMENDER_URL", raising=False)
    with lepton_env(tmp_path / "empty"):
        page = AppTest.from_file(str(APP.ui_script), default_timeout=60).run()
        assert not page.exception
        assert any("No recommender model is available yet" in w.value for w in page.warning)
        assert page.button[0].label.startswith("Train a small model")
