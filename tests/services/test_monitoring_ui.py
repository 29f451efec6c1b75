"""The suite's Monitoring page and the home cards' alert badge in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from lepton_shared.testing.browser import browser_page, streamlit_server, wait_for_streamlit
from lepton_shared.testing.env import lepton_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SUITE = Path(__file__).resolve().parents[2] / "services" / "ui" / "suite.py"


def test_monitoring_page_shows_the_drift_alert_and_the_home_card_its_badge(tmp_path: Path) -> None:
    import os
    import re

    from playwright.sync_api import expect

    from lepton_shared.testing.monitoring import log_fraud_requests, register_fraud_reference

    home = tmp_path / "home"
    with lepton_env(home):
        register_fraud_reference([float(a) for a in range(1, 201)])
        log_fraud_requests([{"amount": 3.0 * a, "latency": 2.0} for a in range(1, 101)])
    env = {k: v for k, v in os.environ.items() if not re.fullmatch(r"LEPTON_[A-Z]+_URL", k)}
    env.pop("LEPTON_DATABASE_URL", None)
    env["LEPTON_HOME"] = str(home)
    expect.set_options(timeout=60_000)
    with streamlit_server(SUITE, env=env) as base, browser_page("suite-monitoring") as page:
        page.goto(base)
        wait_for_streamlit(page)
        expect(page.locator(".st-key-card-fraud")).to_contain_text("1 alert")
        page.get_by_role("link", name="Monitoring").first.click()
        page.get_by_role("heading", name="Monitoring").wait_for()
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="fraud").click()
        wait_for_streamlit(page)
        main = page.get_by_test_id("stMain")
        expect(main).to_contain_text("tx_amount drifted")
        expect(main).to_contain_text("100")  # the requests
        expect(main).to_contain_text("Over time")
