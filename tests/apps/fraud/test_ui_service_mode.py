"""The Streamlit page (headless, with AppTest) through its service at LEPTON_FRAUD_URL and in-process."""

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
    reset_local("fraud")
    yield
    reset_local("fraud")


@pytest.mark.parametrize("mode", ["service", "in-process"])
def test_page_scores_a_payment(mode: str, trained_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from apps.fraud.app import APP
    from apps.fraud.storage import review_queue
    from lepton_shared.storage import session_scope

    with ExitStack() as stack:
        if mode == "service":
            monkeypatch.setenv("LEPTON_FRAUD_URL", stack.enter_context(serve_app(APP.create_service())))
            expected = "Using the service at"
        else:
            monkeypatch.delenv("LEPTON_FRAUD_URL", raising=False)
            expected = "Running in-process"
        page = AppTest.from_file(str(APP.ui_script), default_timeout=60).run()
        assert not page.exception
        assert any(expected in c.value for c in page.caption)
        assert any("Model version" in c.value and "review 5" in c.value for c in page.caption)
        next(n for n in page.number_input if n.label == "Amount").set_value(4000.0)
        next(t for t in page.text_input if t.label.startswith("Transaction id")).set_value("page-1")
        next(b for b in page.button if b.label == "Score").click().run()
        assert not page.exception
        assert any(m.label == "Decision" and m.value in ("REVIEW", "DECLINE") for m in page.metric)
    with session_scope() as session:
        assert [i["transaction_id"] for i in review_queue(session)] == ["page-1"]


def test_page_without_a_model_offers_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from apps.fraud.app import APP
    from lepton_shared.testing.env import lepton_env

    monkeypatch.delenv("LEPTON_FRAUD_URL", raising=False)
    with lepton_env(tmp_path / "empty"):
        page = AppTest.from_file(str(APP.ui_script), default_timeout=60).run()
        assert not page.exception
        assert any("No fraud model is ready yet" in i.value for i in page.info)
        assert page.button[0].label.startswith("Train a small model")
        page = page.button[0].click().run(timeout=300)
        assert not page.exception
        assert any("Model version" in c.value for c in page.caption)
