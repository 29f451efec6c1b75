"""The Streamlit page in headless Chromium, in-process and through the service: score a payment by hand,
then label it from the queue; replay the simulated stream, then mark one of its alerts in the queue."""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest

from lepton_shared.testing.browser import browser_page, click_widget, streamlit_server, wait_for_streamlit
from lepton_shared.testing.env import lepton_env


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["in-process", "service"])
def test_score_and_review_in_the_browser(mode: str, tmp_path: Path, small_data: pd.DataFrame) -> None:
    from playwright.sync_api import expect

    from apps.fraud.app import APP
    from lepton_shared.testing.server import serve_app

    from .conftest import register_quick_model

    home = tmp_path / "home"
    env = {"LEPTON_HOME": str(home), "LEPTON_FRAUD_URL": ""}
    with ExitStack() as stack:
        stack.enter_context(lepton_env(home))
        register_quick_model(small_data)
        if mode == "service":
            env["LEPTON_FRAUD_URL"] = stack.enter_context(serve_app(APP.create_service()))
        url = stack.enter_context(streamlit_server(APP.ui_script, env=env))
        page = stack.enter_context(browser_page(f"fraud-ui-{mode}"))
        page.goto(url)
        wait_for_streamlit(page)
        page.get_by_text("Model version").first.wait_for()
        page.get_by_text("Using the service at" if mode == "service" else "Running in-process").first.wait_for()
        page.get_by_role("tab", name="Score a transaction").click()
        page.get_by_label("Amount").fill("4000")
        page.get_by_label("Amount").press("Tab")
        page.get_by_label("Transaction id (optional)").fill("ui-1")
        page.get_by_role("button", name="Score").click()
        wait_for_streamlit(page)
        page.get_by_test_id("fraud-decision").wait_for()
        wait_for_streamlit(page)  # the Score run goes on drawing the other tabs: let it end before the next clicks
        decision = page.get_by_test_id("fraud-decision").inner_text()
        assert "review" in decision or "decline" in decision
        page.get_by_role("tab", name="Review queue").click()
        page.get_by_text("ui-1 · customer").first.click()
        click_widget(page, page.get_by_role("button", name="Mark fraud"))
        wait_for_streamlit(page)
        page.get_by_text("The review queue is empty").wait_for()

        page.get_by_role("tab", name="Replay a stream").click()
        page.get_by_role("button", name="Replay the stream").click()
        replayed = page.get_by_text("alert(s) went to the review queue")
        replayed.wait_for(timeout=120_000)
        alerts = int(replayed.inner_text().split(": ")[1].split()[0])
        assert alerts > 0, replayed.inner_text()
        wait_for_streamlit(page)
        page.get_by_role("tab", name="Review queue").click()
        queued = page.get_by_text(re.compile(r"^replay-\w+-\d+ · customer"))
        shown = 50  # the queue the page shows: the 50 riskiest
        expect(queued).to_have_count(min(alerts, shown))
        first = queued.first.inner_text().split(" · ")[0]
        # that alert's own button: an expander at the same place may still be open from the first alert marked
        item = page.get_by_test_id("stExpander").filter(has=page.get_by_text(f"{first} · customer"))
        mark = item.get_by_role("button", name="Mark legit")
        if not mark.is_visible():
            item.get_by_text(f"{first} · customer").click()
        click_widget(page, mark)
        wait_for_streamlit(page)  # the label goes through the service, then the page reruns (seconds under load)
        expect(page.get_by_text(f"{first} · customer")).to_have_count(0, timeout=30_000)  # marked: off the queue
        expect(queued).to_have_count(min(alerts - 1, shown))
        page.get_by_role("tab", name="Dashboard").click()
        page.get_by_text("Precision of labelled alerts").wait_for()
        page.get_by_role("tab", name="Evaluation").click()
        page.get_by_text("Evaluation of model v1").first.wait_for()
        page.frame_locator("iframe").first.get_by_text("Quick fraud model").first.wait_for()
