"""The Streamlit page, the same checks in-process and against a running service (``LEPTON_MAINTENANCE_URL``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest

from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.server import serve_app

MODES = ["in-process", "service"]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_page_shows_fleet_charts_and_reruns_comparison(mode: str, copy_home: Callable[[Path], Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.maintenance.app import APP
    from lepton_shared.testing.browser import browser_page, streamlit_server, wait_for_streamlit

    monkeypatch.delenv("LEPTON_MAINTENANCE_URL", raising=False)
    home = copy_home(tmp_path / "home")
    with lepton_env(home), ExitStack() as stack:
        env = {"LEPTON_HOME": str(home)}
        if mode == "service":
            env["LEPTON_MAINTENANCE_URL"] = stack.enter_context(serve_app(APP.create_service()))
        url = stack.enter_context(streamlit_server(APP.ui_script, env=env))
        page = stack.enter_context(browser_page(f"maintenance-ui-{mode}"))
        page.goto(url)
        wait_for_streamlit(page)
        page.get_by_text("answers from service http://" if mode == "service" else "answers from in-process").wait_for()
        page.get_by_text("Fleet, most urgent first").wait_for()
        page.get_by_role("button", name="Add six simulated machines").click()
        page.get_by_text("recommended:").first.wait_for()
        wait_for_streamlit(page)
        assert page.get_by_text("RUL estimate and 90 % band over time").is_visible()
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        charts.nth(1).wait_for()  # drawn after the script run ends
        assert charts.count() == 2  # sensors, RUL band
        page.get_by_role("button", name="Run the simulated machines on").click()
        page.get_by_text("cycles run: M1 +10").wait_for()
        wait_for_streamlit(page)
        page.get_by_text("recommended:").first.wait_for()
        page.get_by_text("Policy comparison (held-out simulated machines)").wait_for()
        assert page.get_by_text("downtime cost per cycle").is_visible()
        page.get_by_role("button", name="Re-run comparison").click()
        page.get_by_text("With your costs").wait_for(timeout=240_000)
        wait_for_streamlit(page)


@pytest.mark.parametrize("mode", MODES)
def test_page_without_a_model_says_how_to_train_one(mode: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from apps.maintenance.app import APP
    from lepton_shared.ui import reset_local

    monkeypatch.delenv("LEPTON_MAINTENANCE_URL", raising=False)
    with lepton_env(tmp_path / "empty"), ExitStack() as stack:
        reset_local("maintenance")
        stack.callback(reset_local, "maintenance")
        if mode == "service":
            monkeypatch.setenv("LEPTON_MAINTENANCE_URL", stack.enter_context(serve_app(APP.create_service())))
        page = AppTest.from_file(str(APP.ui_script), default_timeout=60).run()
        assert not page.exception
        assert any("No maintenance model yet" in i.value for i in page.info)
        if mode == "service":  # the page cannot train where the service runs: it says how
            assert not page.button and any("lepton maintenance train" in m.value for m in page.markdown)
        else:
            assert page.button[0].label == "Train a small model"
