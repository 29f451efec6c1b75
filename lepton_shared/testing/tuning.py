"""The contract every app's tuner passes, and cheap ``AppTuner``s for the tests of the tuning mechanism.

Each app's ``tests/apps/<app>/test_tuning.py`` mixes in :class:`TunerContract` and supplies a tiny train
config. The cheap tuners live in the package (not in a test file) because the worker processes of
``tune(workers=N)`` are spawned and must import the tuner class by name; the tests import with
``importlib`` mode, which a spawned process cannot follow.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lepton_shared.config import TrainConfig
from lepton_shared.tuning.base import AppTuner

#: Seconds each trial takes, so that two workers really overlap.
TRIAL_S = 0.05


class QuadraticTuner(AppTuner):
    """``epochs`` in 1..10, value ``-(epochs - 7)²`` (best at 7); the default is 3."""

    app: ClassVar[str] = "recommender"

    def defaults(self) -> dict[str, Any]:
        return {"epochs": 3}

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {"epochs": trial.suggest_int("epochs", 1, 10)}

    def objective(self, params: dict[str, Any], trial: Any) -> float:
        time.sleep(TRIAL_S)
        return -float((params["epochs"] - 7) ** 2)


class FlakyTuner(QuadraticTuner):
    """Like :class:`QuadraticTuner`, but trial 1 raises (as a trial whose training crashes would)."""

    def objective(self, params: dict[str, Any], trial: Any) -> float:
        if trial.number == 1:
            raise RuntimeError("this trial's training crashed")
        return super().objective(params, trial)


class NumpyTuner(QuadraticTuner):
    """Like :class:`QuadraticTuner`, with numpy (and so its BLAS thread pool) loaded, as every app's tuner has."""

    def __init__(self, config: TrainConfig) -> None:
        super().__init__(config)
        import numpy

        self.ones = numpy.ones((8, 8))

    def objective(self, params: dict[str, Any], trial: Any) -> float:
        return super().objective(params, trial) + float((self.ones @ self.ones)[0, 0]) * 0.0


class TunerContract:
    """What every app's ``TUNER_CLASS`` must do, on the app's tiny data.

    A test class sets ``app_name`` and implements :meth:`tiny_config` (a few seconds per trial);
    ``pruned_params`` (an app with a Torch model) are the parameters of a trial whose per-epoch metric the
    pruner must see, and which it must stop after the first epoch.
    """

    app_name: ClassVar[str]
    #: parameters (complete for ``suggest``) of a Torch trial of at least two epochs; None: nothing per-epoch
    pruned_params: ClassVar[dict[str, Any] | None] = None

    def tiny_config(self) -> TrainConfig:
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _one_torch_thread(self) -> Iterator[None]:
        """Tiny models gain nothing from more threads; on a busy 2-core machine two spinning threads made a
        tiny imaging trial 6x slower (46 s against 7.7 s)."""
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(previous)

    def tuner(self) -> AppTuner:
        from lepton_shared.tuning.runner import tuner_class

        return tuner_class(self.app_name)(self.tiny_config())

    def test_the_tuner_is_found_by_name_and_names_its_app(self) -> None:
        tuner = self.tuner()
        assert type(tuner).app == self.app_name and type(tuner).__module__ == f"apps.{self.app_name}.tuning"

    def test_every_sampled_parameter_and_default_is_a_train_option(self) -> None:
        import optuna

        from lepton_shared.tuning.best import apply_params

        tuner = self.tuner()
        fields = {f.name for f in dataclasses.fields(tuner.config)}  # type: ignore[arg-type]
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        seen: dict[str, set[Any]] = {}
        for _ in range(10):
            params = tuner.suggest(study.ask())
            assert params and set(params) <= fields
            config = apply_params(tuner.config, params)
            assert all(getattr(config, name) == value for name, value in params.items())
            for name, value in params.items():
                seen.setdefault(name, set()).add(value)
        assert any(len(values) > 1 for values in seen.values()), seen  # a space, not one point
        defaults = tuner.defaults()
        assert set(defaults) <= fields and set(defaults) <= set(seen)

    def test_two_trials_on_tiny_data_score_the_defaults_first(self, lepton_home: Path) -> None:
        from lepton_shared.tuning.runner import tune

        tuner = self.tuner()
        result = tune(self.app_name, tuner.config, trials=2, study_name="contract", tuner_cls=type(tuner))
        assert result["n_trials"] == 2 and result["n_failed"] == 0, result
        assert result["default_value"] is not None and result["best_value"] is not None
        better = (result["best_value"] >= result["default_value"] if result["direction"] == "maximize"
                  else result["best_value"] <= result["default_value"])
        assert better and set(result["best_params"]) <= {f.name for f in dataclasses.fields(tuner.config)}  # type: ignore[arg-type]

    def test_a_torch_trial_reports_each_epoch_and_is_pruned(self, lepton_home: Path) -> None:
        import optuna

        from lepton_shared.tuning.runner import direction

        if self.pruned_params is None:
            pytest.skip("this app's tuner has nothing per-epoch to prune")
        tuner = self.tuner()
        maximize = direction(self.app_name) == "maximize"
        pruner = optuna.pruners.ThresholdPruner(lower=float("inf")) if maximize else \
            optuna.pruners.ThresholdPruner(upper=-1.0)  # every reported value is hopeless
        study = optuna.create_study(direction=direction(self.app_name), pruner=pruner)
        study.enqueue_trial(self.pruned_params)
        study.optimize(lambda t: tuner.objective(tuner.suggest(t), t), n_trials=1)
        trial = study.trials[0]
        assert trial.state == optuna.trial.TrialState.PRUNED
        assert list(trial.intermediate_values) == [0]  # the first epoch's validation metric, then stopped
