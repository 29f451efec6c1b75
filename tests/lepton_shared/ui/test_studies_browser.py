"""An app's page in headless Chromium shows its study (summary and Optuna's three figures), and a bounded tune
started from the page runs in the background, shows its progress and then its study."""

from __future__ import annotations

from pathlib import Path

import pytest

from lepton_shared.config import TrainConfig
from lepton_shared.testing.browser import browser_page, streamlit_server, wait_for_streamlit
from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.tuning import QuadraticTuner
from lepton_shared.tuning.runner import tune


@pytest.mark.browser
@pytest.mark.slow
def test_the_recommender_page_shows_a_study_and_runs_a_bounded_tune(tmp_path: Path) -> None:
    from apps.recommender.app import APP

    home = tmp_path / "home"
    with lepton_env(home):
        tune("recommender", TrainConfig(), trials=5, study_name="recommender-quad", tuner_cls=QuadraticTuner)
    env = {"LEPTON_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[3]),
           "LEPTON_RECOMMENDER_URL": ""}
    with streamlit_server(APP.ui_script, env=env) as url, browser_page("recommender-studies") as page:
        page.goto(url)
        wait_for_streamlit(page)
        page.get_by_text("Hyperparameter studies").wait_for()
        page.get_by_text("recommender-quad: 5 trials (5 complete", exact=False).wait_for()
        for title in ("Optimisation history", "Parameter importances", "Parallel coordinates"):
            page.get_by_text(title, exact=True).wait_for()
        page.locator('[data-testid="stImage"]').nth(2).wait_for()  # the three figures, drawn

        page.get_by_label("Trials").fill("2")
        page.get_by_role("button", name="Start tuning").click()
        page.get_by_text("tune recommender-builtin-tiny finished: 2 trials", exact=False).wait_for(timeout=240_000)
        wait_for_streamlit(page)
        page.get_by_text("recommender-builtin-tiny: 2 trials (2 complete", exact=False).wait_for()
