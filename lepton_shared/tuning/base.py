"""``AppTuner``: what an app supplies so that ``lepton <app> tune`` can search its hyperparameters.

An app implements it once, in ``apps/<app>/tuning.py``, as ``TUNER_CLASS`` (the way ``optimize`` finds
``apps.<app>.optimize.OPTIMIZER_CLASS``). The study, its storage, the workers, the progress bar and the
JSON are the same for every app and live in :mod:`lepton_shared.tuning.runner`.

The parameters a tuner suggests are *names of fields of the app's train config*, so the best trial can be
trained as it is with ``lepton <app> train --params best``: nothing translates between the two.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from lepton_shared.config import TrainConfig

if TYPE_CHECKING:
    import optuna


class AppTuner(ABC):
    """One app's search space and objective.

    ``config`` is the app's train config as the user gave it (data, seed, device, tiny…); every trial
    overrides some of its fields. Subclasses may cache prepared data across trials (one tuner lives
    in each worker process and answers all of that worker's trials).
    """

    #: The app's name (the manifest gives the metric and its direction).
    app: ClassVar[str]

    def __init__(self, config: TrainConfig) -> None:
        self.config = config

    @abstractmethod
    def defaults(self) -> dict[str, Any]:
        """The app's default choices as parameters of :meth:`suggest`; they are enqueued as trial 0 so a
        study always says how much tuning gained over what ``train`` would do anyway."""

    @abstractmethod
    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Config overrides for one trial, sampled with ``trial.suggest_*`` under the same names."""

    @abstractmethod
    def objective(self, params: dict[str, Any], trial: optuna.Trial) -> float:
        """The key metric of the config with ``params`` on the VALIDATION split (never the test split:
        the test split would then no longer tell how well the chosen model generalises)."""

    def data_key(self) -> str:
        """What the default study name says about the data: its fingerprint, or ``builtin``; a study only
        compares trials on the same data."""
        if self.config.data is None:
            return "builtin"
        from lepton_shared.data import fingerprint

        return fingerprint(self.config.data)


def epoch_reporter(trial: optuna.Trial, metric: str) -> Callable[[int, dict[str, float]], None]:
    """A ``Trainer`` ``on_epoch_end`` callback: report ``metric`` of every epoch to the pruner and stop a
    trial that the pruner judges hopeless (``optuna.TrialPruned`` propagates out of ``Trainer.fit``)."""
    import optuna

    def report(epoch: int, metrics: dict[str, float]) -> None:
        if metric in metrics:
            trial.report(float(metrics[metric]), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch + 1}: {metric}={metrics[metric]:.4f}")

    return report
