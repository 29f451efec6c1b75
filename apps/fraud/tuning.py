"""The fraud scorer's search space and objective for ``lepton fraud tune``.

A trial picks one candidate (LightGBM or the MLP) and its hyperparameters; the objective is ``train``'s
own candidate choice (``training.validation_average_precision``): fitted on the validation split's
training rows (the protocol one step earlier), average precision on its validation rows. The test week
stays unseen. MLP trials report each epoch's validation average precision to the pruner through the
``Trainer``'s ``on_epoch_end``, so hopeless ones stop early.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from apps.fraud.app import FraudApp
from apps.fraud.config import FraudTrainConfig
from apps.fraud.training import (
    CANDIDATES,
    Hyperparameters,
    Prepared,
    periods_from,
    prepare,
    validation_average_precision,
)
from lepton_shared.tuning.base import AppTuner, epoch_reporter
from lepton_shared.tuning.best import apply_params


class FraudTuner(AppTuner):
    app: ClassVar[str] = "fraud"
    config: FraudTrainConfig

    @cached_property
    def prepared(self) -> Prepared:
        """Data, features and protocol rows, computed once per worker and shared by its trials."""
        from apps.fraud.data import load_data

        df, _ = load_data(self.config.data, self.config.tiny, self.config.seed, self.config.with_feedback)
        return prepare(df, periods_from(self.config, df))

    def defaults(self) -> dict[str, Any]:
        """LightGBM with the hand-tuned parameters (``training.LGBM_PARAMS``)."""
        h = Hyperparameters()
        return {"models": "lightgbm", "lgbm_leaves": h.lgbm_leaves, "lgbm_learning_rate": h.lgbm_learning_rate,
                "lgbm_min_child_samples": h.lgbm_min_child_samples, "lgbm_lambda_l2": h.lgbm_lambda_l2,
                "lgbm_feature_fraction": h.lgbm_feature_fraction, "lgbm_rounds": h.lgbm_rounds}

    def suggest(self, trial: Any) -> dict[str, Any]:
        model = trial.suggest_categorical("models", list(CANDIDATES))
        if model == "lightgbm":
            return {"models": model,
                    "lgbm_leaves": trial.suggest_int("lgbm_leaves", 3, 63, log=True),
                    "lgbm_learning_rate": trial.suggest_float("lgbm_learning_rate", 0.01, 0.2, log=True),
                    "lgbm_min_child_samples": trial.suggest_int("lgbm_min_child_samples", 5, 200, log=True),
                    "lgbm_lambda_l2": trial.suggest_float("lgbm_lambda_l2", 0.1, 50.0, log=True),
                    "lgbm_feature_fraction": trial.suggest_float("lgbm_feature_fraction", 0.4, 1.0),
                    "lgbm_rounds": trial.suggest_int("lgbm_rounds", 100, 800, step=50)}
        return {"models": model,
                "mlp_hidden": trial.suggest_categorical("mlp_hidden", [32, 64, 128, 256]),
                "mlp_lr": trial.suggest_float("mlp_lr", 3e-4, 1e-2, log=True),
                "mlp_weight_decay": trial.suggest_float("mlp_weight_decay", 1e-6, 1e-2, log=True)}

    def objective(self, params: dict[str, Any], trial: Any) -> float:
        config = apply_params(self.config, params)
        pruner = epoch_reporter(trial, "average_precision") if config.models == "mlp" else None
        value, _ = validation_average_precision(self.prepared, config.models, config.epochs or FraudApp.default_epochs,
                                                config.seed, config.device, Hyperparameters.from_config(config),
                                                on_epoch_end=pruner, quiet=True)
        return value

    def data_key(self) -> str:
        """The tiny simulation is other data than the built-in one."""
        if self.config.data is None and self.config.tiny:
            return "builtin-tiny"
        return super().data_key()


TUNER_CLASS = FraudTuner
