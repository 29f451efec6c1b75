"""The maintenance RUL model's search space and objective for ``lepton maintenance tune``.

A trial fits the RUL model as ``train`` does, with its nets' learning rate, width and epochs and, on complete
recorded lives (C-MAPSS training files, where the trees join the blend), the trees' LightGBM parameters. The
objective is ``train``'s own RMSE on machines the model did not train on (``training.validation_rmse``: the
held-out machines, or out-of-fold estimates on recorded lives); a test file stays unseen. On held-out machines
the first net's validation RMSE of each epoch goes to the pruner through the ``Trainer``'s ``on_epoch_end``
(out-of-fold fits have no validation split to report).

The policies are not tuned: a trial fits no PPO agent (its steps, ``--rl-steps``, stay ``train``'s option), since
one agent costs more than a whole study of RUL models and the RUL estimate is what every policy reads.
``--epochs`` bounds the epochs a trial may run (default: the recipe's).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

import pandas as pd

from apps.maintenance.config import MaintenanceTrainConfig
from apps.maintenance.model import DEFAULT_ARCH, DEFAULT_WIDTH
from apps.maintenance.training import RulHyper, budget_of, validation_rmse
from lepton_shared.tuning.base import AppTuner, epoch_reporter
from lepton_shared.tuning.best import apply_params

#: The searched ranges (learning rates on a log scale).
NET_LR = (1e-4, 1e-2)
NET_WIDTH = (4, 32)
TREE_LEAVES = (4, 63)
TREE_LEARNING_RATE = (0.01, 0.1)
TREE_ROUNDS = (200, 1500)
TREE_MIN_CHILD_SAMPLES = (10, 200)


class MaintenanceTuner(AppTuner):
    app: ClassVar[str] = "maintenance"
    config: MaintenanceTrainConfig

    @cached_property
    def data(self) -> tuple[pd.DataFrame, bool]:
        """(the training frame, whether it takes the recorded-lives recipe), loaded once per worker."""
        from apps.maintenance.data import SIMULATOR, load_training_data
        from apps.maintenance.recorded import uses_recorded_recipe

        frame, source = load_training_data(self.config.data, budget_of(self.config).machines, self.config.seed)
        return frame, source != SIMULATOR and uses_recorded_recipe(frame)

    def max_epochs(self) -> int:
        budget = budget_of(self.config)
        return budget.recorded_epochs if self.data[1] else budget.held_out_epochs

    def defaults(self) -> dict[str, Any]:
        """What ``train`` would use with the same options."""
        c = self.config
        params: dict[str, Any] = {"net_lr": c.net_lr, "net_width": c.net_width or DEFAULT_WIDTH[DEFAULT_ARCH],
                                  "epochs": self.max_epochs()}
        if self.data[1]:
            params.update(tree_leaves=c.tree_leaves, tree_learning_rate=c.tree_learning_rate,
                          tree_rounds=c.tree_rounds, tree_min_child_samples=c.tree_min_child_samples)
        return params

    def suggest(self, trial: Any) -> dict[str, Any]:
        high = self.max_epochs()
        params: dict[str, Any] = {"net_lr": trial.suggest_float("net_lr", *NET_LR, log=True),
                                  "net_width": trial.suggest_int("net_width", *NET_WIDTH, log=True),
                                  "epochs": trial.suggest_int("epochs", max(1, high // 4), high)}
        if self.data[1]:
            params.update(
                tree_leaves=trial.suggest_int("tree_leaves", *TREE_LEAVES, log=True),
                tree_learning_rate=trial.suggest_float("tree_learning_rate", *TREE_LEARNING_RATE, log=True),
                tree_rounds=trial.suggest_int("tree_rounds", *TREE_ROUNDS, step=100),
                tree_min_child_samples=trial.suggest_int("tree_min_child_samples", *TREE_MIN_CHILD_SAMPLES, log=True))
        return params

    def objective(self, params: dict[str, Any], trial: Any) -> float:
        config = apply_params(self.config, params)
        frame, recorded = self.data
        from lepton_shared.settings import get_settings

        device = config.device or get_settings().device
        return validation_rmse(frame, recorded, budget_of(config), config.seed, device, RulHyper.from_config(config),
                               on_epoch_end=None if recorded else epoch_reporter(trial, "val_rmse"))

    def data_key(self) -> str:
        """The tiny simulated fleet is other data than the built-in one."""
        if self.config.data is None and self.config.tiny:
            return "builtin-tiny"
        return super().data_key()


TUNER_CLASS = MaintenanceTuner
