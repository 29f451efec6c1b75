"""The shared studies view: an app lists its own studies only, and a study is drawn as Optuna's three figures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lepton_shared.config import TrainConfig
from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.tuning import QuadraticTuner
from lepton_shared.tuning.runner import open_study, tune
from lepton_shared.ui.studies import app_studies, study_figures


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home with two recommender studies (one trial, five trials) and a fraud one."""
    with lepton_env(tmp_path_factory.mktemp("studies")) as home:
        tune("recommender", TrainConfig(), trials=1, study_name="one", tuner_cls=QuadraticTuner)
        tune("recommender", TrainConfig(), trials=5, study_name="five", tuner_cls=QuadraticTuner)
        tune("fraud", TrainConfig(), trials=1, study_name="fraud-other", tuner_cls=QuadraticTuner)
        yield home


def test_an_app_lists_its_own_studies_newest_first(studies: Path) -> None:
    assert app_studies("recommender") == ["five", "one"]
    assert app_studies("fraud") == ["fraud-other"]
    assert app_studies("chatbot") == []


def test_a_study_is_drawn_as_history_importances_and_parallel_coordinates(studies: Path) -> None:
    import matplotlib.pyplot as plt

    assert list(study_figures(open_study("recommender", "one", None, create=False))) == [
        "Optimisation history", "Parallel coordinates"]  # one trial: no importances yet
    figures = study_figures(open_study("recommender", "five", None, create=False))
    assert list(figures) == ["Optimisation history", "Parameter importances", "Parallel coordinates"]
    history = figures["Optimisation history"].axes[0]
    assert len(history.collections[0].get_offsets()) == 5  # one point per trial
    for figure in figures.values():
        plt.close(figure)
