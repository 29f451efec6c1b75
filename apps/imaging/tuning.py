"""The imaging model's search space and objective for ``lepton imaging tune``.

A trial trains the classifier with its peak learning rate, augmentation strength and epochs; the objective is
the ROC AUC on the validation split (``training.validation_auc``), the split ``train`` early-stops and
calibrates on. The test split stays unseen. Each epoch's validation AUC goes to the pruner through the
``Trainer``'s ``on_epoch_end``. ``--epochs`` bounds the epochs a trial may run (default: the app's).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from apps.imaging.app import ImagingApp
from apps.imaging.config import BUILTIN_IMAGES, ImagingTrainConfig
from apps.imaging.data import ImageSet
from apps.imaging.training import builtin_size, validation_auc
from lepton_shared.tuning.base import AppTuner, epoch_reporter
from lepton_shared.tuning.best import apply_params

#: The searched ranges: the peak learning rate on a log scale, and the augmentation scale (0: none).
LR = (3e-4, 1e-2)
AUGMENT_STRENGTH = (0.0, 2.0)


class ImagingTuner(AppTuner):
    app: ClassVar[str] = "imaging"
    config: ImagingTrainConfig

    @cached_property
    def image_set(self) -> ImageSet:
        """The images, loaded once per worker and shared by its trials."""
        from apps.imaging.data import load

        c = self.config
        return load(c.data, c.image_size, c.seed, builtin_size(c))

    def max_epochs(self) -> int:
        return self.config.epochs or ImagingApp.default_epochs

    def defaults(self) -> dict[str, Any]:
        """What ``train`` would use with the same options."""
        c = self.config
        return {"lr": c.lr, "augment_strength": 0.0 if c.no_augment else c.augment_strength,
                "epochs": self.max_epochs()}

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {"lr": trial.suggest_float("lr", *LR, log=True),
                "augment_strength": trial.suggest_float("augment_strength", *AUGMENT_STRENGTH),
                "epochs": trial.suggest_int("epochs", 1, self.max_epochs())}

    def objective(self, params: dict[str, Any], trial: Any) -> float:
        return validation_auc(self.image_set, apply_params(self.config, params),
                              on_epoch_end=epoch_reporter(trial, "val_roc_auc"))

    def data_key(self) -> str:
        """The built-in set comes in sizes (tiny, default, ``builtin_images``): each is its own data."""
        if self.config.data is None:
            size = builtin_size(self.config)
            return "builtin" if size == BUILTIN_IMAGES else f"builtin-{size}"
        return super().data_key()


TUNER_CLASS = ImagingTuner
