"""The pieces an app's tuner uses: the epoch reporter a Trainer calls, and the default data key."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from lepton_shared.config import TrainConfig
from lepton_shared.testing.tuning import QuadraticTuner
from lepton_shared.tuning.base import epoch_reporter


def test_the_epoch_reporter_reports_and_prunes() -> None:
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.5))
    trial = study.ask()
    report = epoch_reporter(trial, "auc")
    report(0, {"auc": 0.7, "val_loss": 1.0})  # above the threshold: goes on
    report(1, {"val_loss": 0.9})  # no metric this epoch: nothing to report
    with pytest.raises(optuna.TrialPruned):
        report(2, {"auc": 0.4})
    assert trial.storage.get_trial(trial._trial_id).intermediate_values == {0: 0.7, 2: 0.4}


def test_the_data_key_is_builtin_or_the_data_fingerprint(tmp_path: Path) -> None:
    assert QuadraticTuner(TrainConfig()).data_key() == "builtin"
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    key = QuadraticTuner(TrainConfig(data=data)).data_key()
    assert len(key) == 16 and key != "builtin"


@pytest.mark.parametrize("app", ["chatbot", "imaging", "recommender", "fraud", "maintenance"])
def test_an_app_tuner_is_found_by_name_and_names_its_app(app: str) -> None:
    from lepton_shared.tuning.base import AppTuner
    from lepton_shared.tuning.runner import tuner_class

    cls = tuner_class(app)
    assert issubclass(cls, AppTuner) and cls.app == app and cls.__module__ == f"apps.{app}.tuning"
