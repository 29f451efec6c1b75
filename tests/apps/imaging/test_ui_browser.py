"""The Streamlit page in headless Chromium: upload a study, see the result, review it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from apps.imaging.synthetic import synth_image, write_dicom
from lepton_shared.testing.browser import browser_page, streamlit_server, wait_for_streamlit


@pytest.mark.browser
@pytest.mark.slow
def test_upload_shows_heatmap_and_decision(trained_home: tuple[Path, Any], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from apps.imaging.app import APP

    home, info = trained_home
    upload = tmp_path / "study.dcm"
    write_dicom(synth_image(1, np.random.default_rng(2), 64), upload, patient_id="PAT-UI")
    with streamlit_server(APP.ui_script, env={"LEPTON_HOME": str(home)}) as base, \
            browser_page("imaging-ui") as page:
        page.goto(base)
        wait_for_streamlit(page)
        page.get_by_text(f"Model: {info.version}").wait_for()
        page.locator('input[type="file"]').set_input_files(str(upload))
        page.get_by_text("Decision:").wait_for(timeout=90_000)
        wait_for_streamlit(page)
        expect(page.locator('[data-testid="stImage"] img').first).to_be_visible()  # the Grad-CAM overlay
        expect(page.get_by_text("Download study report (HTML)")).to_have_count(1)
        page.get_by_role("tab", name="Worklist").click()
        page.get_by_text("Review a study").wait_for()
        page.get_by_label("Reviewer").fill("Dr. UI")
        page.get_by_role("button", name="Save review").click()
        page.get_by_text("confirmed").first.wait_for(timeout=60_000)
        wait_for_streamlit(page)


@pytest.mark.browser
def test_page_without_model_offers_training(tmp_path: Path) -> None:

    from apps.imaging.app import APP

    with streamlit_server(APP.ui_script, env={"LEPTON_HOME": str(tmp_path / "empty")}) as base, \
            browser_page("imaging-ui-empty") as page:
        page.goto(base)
        wait_for_streamlit(page)
        page.get_by_text("No imaging model is trained yet").wait_for()
        page.get_by_role("button", name="Train a small model on built-in data").wait_for()
