"""The Streamlit page talks to the service when LEPTON_FRAUD_URL is set (run headless with AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lepton_shared.testing.server import serve_app


def test_page_scores_through_the_service(fraud_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from apps.fraud.app import APP

    with serve_app(APP.create_service()) as base:
        monkeypatch.setenv("LEPTON_FRAUD_URL", base)
        page = AppTest.from_file(str(APP.ui_script), default_timeout=60).run()
        assert not page.exception
        assert any("Using the service at" in c.value for c in page.caption)
        page.number_input[2].set_value(4000.0)
        page.text_input[0].set_value("svc-1")
        page.button[0].click().run()
        assert not page.exception
        assert any(m.label == "Decision" and m.value in ("REVIEW", "DECLINE") for m in page.metric)
    from apps.fraud.online import review_queue
    from lepton_shared.storage import session_scope

    with session_scope() as session:
        assert [i["transaction_id"] for i in review_queue(session)] == ["svc-1"]


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
