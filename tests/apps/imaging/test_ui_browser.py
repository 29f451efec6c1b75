"""The Streamlit page in headless Chromium, in-process and through the service: upload a study, see its
probability, decision and heat map, then review it on the worklist, then diagnose an example study of the
gallery; and the no-model state."""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from apps.imaging.data import example_studies, synth_image, write_dicom
from lepton_shared.testing.browser import browser_page, streamlit_server, wait_for_streamlit
from lepton_shared.testing.env import lepton_env

MODES = ["in-process", "service"]


def _copy_database(home: Path, folder: Path) -> str:
    """A consistent copy (write-ahead log included) of the home's database, with its registered model and
    without the studies other tests of the session left in it (the page's first study is then #1)."""
    copy = folder / "lepton.db"
    with sqlite3.connect(home / "lepton.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
        target.execute("DELETE FROM imaging_studies")
    return f"sqlite:///{copy}"


def _env(home: Path, database_url: str | None = None, service: str = "") -> dict[str, str]:
    env = {"LEPTON_HOME": str(home), "LEPTON_IMAGING_URL": service}
    if database_url:
        env["LEPTON_DATABASE_URL"] = database_url
    return env


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_upload_shows_heatmap_and_decision(mode: str, trained_home: tuple[Path, Any], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from apps.imaging.app import APP
    from lepton_shared.testing.server import serve_app

    home, info = trained_home
    database_url = _copy_database(home, tmp_path)  # this test's studies only
    upload = tmp_path / "study.dcm"
    write_dicom(synth_image(1, np.random.default_rng(2), 64), upload, patient_id="PAT-UI")
    with ExitStack() as stack:
        stack.enter_context(lepton_env(home, database_url=database_url))
        service = stack.enter_context(serve_app(APP.create_service())) if mode == "service" else ""
        base = stack.enter_context(streamlit_server(APP.ui_script, env=_env(home, database_url, service)))
        page = stack.enter_context(browser_page(f"imaging-ui-{mode}"))
        page.goto(base)
        wait_for_streamlit(page)
        page.get_by_text(f"Model: {info.version}").wait_for()
        page.get_by_text(f"Backend: service {service}" if mode == "service" else "Backend: in-process").wait_for()
        page.get_by_role("tab", name="Worklist").click()
        page.get_by_text("No studies yet: diagnose one first.").wait_for()
        page.get_by_role("tab", name="Diagnose").click()

        page.locator('input[type="file"]').set_input_files(str(upload))
        page.get_by_text("Decision:").wait_for(timeout=90_000)
        wait_for_streamlit(page)
        classes = page.get_by_test_id("stSidebar").get_by_text("classes ").inner_text()  # "classes a, b · …"
        decision = page.get_by_role("heading", name="Decision:").inner_text().split("Decision:")[1].strip()
        assert decision and decision in classes.split("·")[0], (decision, classes)
        expect(page.get_by_text("positive-class probability 0.")).to_have_count(1)
        expect(page.get_by_text("· study #1")).to_have_count(1)
        overlays = page.locator('[data-testid="stImage"]').filter(has_text="Grad-CAM overlay")
        heatmap = overlays.first.locator("img")
        expect(heatmap).to_be_visible()
        assert heatmap.evaluate("img => img.naturalWidth") > 0, "the heat map did not load"
        expect(page.get_by_text("Grad-CAM overlay")).to_have_count(1)
        expect(page.get_by_text("patient (hashed)")).to_have_count(1)
        expect(page.get_by_role("button", name="Download study report (HTML)")).to_have_count(1)

        page.get_by_role("tab", name="Calibration").click()
        page.get_by_text(f"Calibration: {info.metrics['calibration_method']}").wait_for()
        expect(page.get_by_text("held-out ECE ")).to_have_count(1)
        expect(page.get_by_alt_text("Reliability diagram")).to_be_visible()

        page.get_by_role("tab", name="Worklist").click()
        page.get_by_text("Review a study").wait_for()
        page.get_by_label("Reviewer").fill("Dr. UI")
        page.get_by_role("button", name="Save review").click()
        page.get_by_text("study 1: confirmed").wait_for(timeout=60_000)
        wait_for_streamlit(page)

        example = example_studies()[1]  # the gallery's second study, as the page generates it
        page.get_by_role("tab", name="Example studies").click()
        page.get_by_role("button", name=f"Diagnose {example.name}").click()
        page.get_by_text(f"{example.name} (generated as {example.truth})").wait_for(timeout=90_000)
        wait_for_streamlit(page)
        expect(page.get_by_text("· study #2")).to_have_count(1)
        shown = page.locator('[data-testid="stImage"]:visible').filter(has_text="Grad-CAM overlay")
        expect(shown).to_have_count(1)  # the example's, on this tab
        heatmap = shown.locator("img")
        expect(heatmap).to_be_visible()
        assert heatmap.evaluate("img => img.naturalWidth") > 0, "the example's heat map did not load"


@pytest.mark.browser
@pytest.mark.parametrize("mode", MODES)
def test_page_without_model_offers_training(mode: str, tmp_path: Path) -> None:
    from apps.imaging.app import APP
    from lepton_shared.testing.server import serve_app

    home = tmp_path / "empty"
    with ExitStack() as stack:
        stack.enter_context(lepton_env(home))
        service = stack.enter_context(serve_app(APP.create_service())) if mode == "service" else ""
        base = stack.enter_context(streamlit_server(APP.ui_script, env=_env(home, service=service)))
        page = stack.enter_context(browser_page(f"imaging-ui-empty-{mode}"))
        page.goto(base)
        wait_for_streamlit(page)
        page.get_by_text("No imaging model is trained yet").wait_for()
        page.get_by_role("button", name="Train a small model on built-in data").wait_for()


@pytest.mark.browser
def test_unreachable_service_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    from apps.imaging.app import APP
    from lepton_shared.testing.server import free_port

    down = f"http://127.0.0.1:{free_port()}"
    with streamlit_server(APP.ui_script, env=_env(tmp_path / "empty", service=down)) as base, \
            browser_page("imaging-ui-down") as page:
        page.goto(base)
        wait_for_streamlit(page)
        page.get_by_text(f"the imaging service at {down} does not answer").wait_for()
