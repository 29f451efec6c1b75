"""The fraud tuner: its search space gives valid configs, its defaults are train's, an MLP trial reports its
epochs to the pruner (and is pruned), and the objective is train's own validation score."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import optuna
import pytest

from apps.fraud.config import FraudTrainConfig
from apps.fraud.training import CANDIDATES, LGBM_PARAMS, Hyperparameters
from apps.fraud.tuning import FraudTuner
from lepton_shared.tuning.best import apply_params


def test_the_defaults_are_the_hand_tuned_parameters() -> None:
    config = FraudTrainConfig()
    assert Hyperparameters.from_config(config) == Hyperparameters()
    assert Hyperparameters().lgbm_params() == LGBM_PARAMS
    defaults = apply_params(config, FraudTuner(config).defaults())
    assert defaults.models == "lightgbm" and Hyperparameters.from_config(defaults) == Hyperparameters()


def test_the_search_space_samples_valid_configs() -> None:
    tuner = FraudTuner(FraudTrainConfig(tiny=True, epochs=1))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    fields = {f.name for f in dataclasses.fields(FraudTrainConfig)}
    for _ in range(12):
        params = tuner.suggest(study.ask())
        assert set(params) <= fields
        config = apply_params(tuner.config, params)
        assert config.models in CANDIDATES
        seen.add(config.models)
        hyper = Hyperparameters.from_config(config)
        lgbm = hyper.lgbm_params()
        assert lgbm["num_leaves"] >= 2 and 0 < lgbm["feature_fraction"] <= 1 and hyper.lgbm_rounds >= 1
        assert hyper.mlp_hidden > 0 and hyper.mlp_lr > 0
    assert seen == set(CANDIDATES)
    assert tuner.data_key() == "builtin-tiny"


@pytest.fixture(scope="module")
def tiny_tuner() -> FraudTuner:
    tuner = FraudTuner(FraudTrainConfig(tiny=True, epochs=2, device="cpu"))
    assert tuner.prepared.v_val.size  # data and features once for the module
    return tuner


def test_an_mlp_trial_reports_its_epochs_and_is_pruned(tiny_tuner: FraudTuner, lepton_home: Path) -> None:
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=1.01))
    study.enqueue_trial({"models": "mlp", "mlp_hidden": 32, "mlp_lr": 3e-3, "mlp_weight_decay": 1e-4})
    study.optimize(lambda t: tiny_tuner.objective(tiny_tuner.suggest(t), t), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert list(trial.intermediate_values) == [0]  # the first epoch's validation AP, then stopped


def test_a_lightgbm_trial_scores_the_validation_split(tiny_tuner: FraudTuner, lepton_home: Path) -> None:
    study = optuna.create_study(direction="maximize")
    params = {**tiny_tuner.defaults(), "lgbm_rounds": 100}
    study.enqueue_trial(params)
    study.optimize(lambda t: tiny_tuner.objective(tiny_tuner.suggest(t), t), n_trials=1)
    assert 0 < study.trials[0].value <= 1
