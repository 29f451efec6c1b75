"""The Streamlit page in headless Chromium, in-process and through the service: recommendations with
reasons, cold start, a sample customer's history beside their recommendations, offline metrics; and the
no-model state."""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path

import pytest

from lepton_shared.testing.browser import browser_page, streamlit_server, wait_for_streamlit


def _env(home: Path, service: str = "") -> dict[str, str]:
    return {"LEPTON_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[3]),
            "LEPTON_RECOMMENDER_URL": service}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["in-process", "service"])
def test_page_recommends_with_reasons_and_cold_start(mode: str, trained_home: Path) -> None:
    from playwright.sync_api import expect

    from apps.recommender.app import APP
    from lepton_shared.testing.server import serve_app

    with ExitStack() as stack:
        service = stack.enter_context(serve_app(APP.create_service())) if mode == "service" else ""
        url = stack.enter_context(streamlit_server(APP.ui_script, env=_env(trained_home, service)))
        page = stack.enter_context(browser_page(f"recommender-ui-{mode}"))
        page.goto(url)
        wait_for_streamlit(page)
        page.get_by_text("Model v1", exact=False).first.wait_for()
        page.get_by_text("via the service" if mode == "service" else "in-process", exact=False).first.wait_for()
        page.get_by_role("tab", name="For a user").click()
        page.get_by_role("button", name="Recommend", exact=True).click()
        wait_for_streamlit(page)
        page.get_by_text("Recommendations for", exact=False).wait_for()
        page.get_by_text("because you liked", exact=False).first.wait_for()
        assert page.get_by_text("History (", exact=False).count() == 1
        page.get_by_label("…or type any user id (unknown ids get trending items)").fill("visitor-42")
        page.get_by_role("button", name="Recommend", exact=True).click()
        wait_for_streamlit(page)
        page.get_by_text("cold start: trending items", exact=False).wait_for()
        page.get_by_text("popular right now", exact=False).first.wait_for()
        page.get_by_role("tab", name="Sample customers").click()
        customer = page.get_by_role("button", name=re.compile(r"^Customer ")).first
        who = customer.inner_text().removeprefix("Customer ").strip()
        customer.click()
        wait_for_streamlit(page)
        page.get_by_text(f"Recommendations for {who} (personalised)").wait_for()
        expect(page.get_by_text("History (", exact=False)).not_to_have_count(0)
        expect(page.get_by_text("because you liked", exact=False).first).to_be_visible()
        page.get_by_role("tab", name="Offline metrics").click()
        page.get_by_text("gain over the strongest baseline", exact=False).wait_for()
        page.locator('[data-testid="stDataFrame"]:visible').first.wait_for()


@pytest.mark.browser
@pytest.mark.slow
def test_page_without_a_model_offers_training(tmp_path: Path) -> None:
    from apps.recommender.app import APP

    with streamlit_server(APP.ui_script, env=_env(tmp_path / "empty-home")) as url, \
            browser_page("recommender-ui-empty") as page:
        page.goto(url)
        wait_for_streamlit(page)
        page.get_by_text("No recommender model is available yet", exact=False).wait_for()
        page.get_by_role("button", name="Train a small model on the built-in shop data").click()
        page.get_by_text("Model v1", exact=False).first.wait_for(timeout=180_000)
        wait_for_streamlit(page)
