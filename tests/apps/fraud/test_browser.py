"""The Streamlit page in headless Chromium: score a payment by hand, then label it from the queue."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lepton_shared.testing.browser import browser_page, streamlit_server, wait_for_streamlit
from lepton_shared.testing.env import lepton_env


@pytest.mark.browser
@pytest.mark.slow
def test_score_and_review_in_the_browser(tmp_path: Path, small_data: pd.DataFrame) -> None:
    from apps.fraud.app import APP

    from .conftest import register_quick_model

    home = tmp_path / "home"
    with lepton_env(home):
        register_quick_model(small_data)
    with streamlit_server(APP.ui_script, env={"LEPTON_HOME": str(home)}) as url, \
            browser_page("fraud-ui") as page:
        page.goto(url)
        wait_for_streamlit(page)
        page.get_by_text("Model version").first.wait_for()
        page.get_by_label("Amount").fill("4000")
        page.get_by_label("Amount").press("Tab")
        page.get_by_label("Transaction id (optional)").fill("ui-1")
        page.get_by_role("button", name="Score").click()
        wait_for_streamlit(page)
        page.get_by_test_id("fraud-decision").wait_for()
        decision = page.get_by_test_id("fraud-decision").inner_text()
        assert "review" in decision or "decline" in decision
        page.get_by_role("tab", name="Review queue").click()
        page.get_by_text("ui-1 · customer").first.click()
        page.get_by_role("button", name="Mark fraud").click()
        wait_for_streamlit(page)
        page.get_by_text("The review queue is empty").wait_for()
        page.get_by_role("tab", name="Dashboard").click()
        page.get_by_text("Precision of labelled alerts").wait_for()
