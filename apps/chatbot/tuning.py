"""The chatbot's search space and objective for ``lepton chatbot tune``.

A trial fine-tunes the intent model with its learning rates, label smoothing and epochs, and sets the
neighbour vote's temperature in the blend (the blend weights themselves are still chosen on validation by
``ensemble.choose_weights``, as in ``train``). The objective is ``train``'s own validation accuracy
(``training.validation_accuracy``) on the validation part of the training data; a test file stays unseen.
Each epoch's head accuracy on that part goes to the pruner through the ``Trainer``'s ``on_epoch_end``.

The out-of-scope threshold's budget (``max_drop``) is not searched: it trades answered messages against
caught off-topic ones, a service decision, and the key metric (accuracy before the threshold) cannot see it.
``--epochs`` bounds the epochs a trial may run (default: the app's).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

import pandas as pd

from apps.chatbot.config import ChatbotTrainConfig
from apps.chatbot.training import default_epochs, training_data, validation_accuracy
from lepton_shared.tuning.base import AppTuner, epoch_reporter
from lepton_shared.tuning.best import apply_params

#: The searched parameters (fields of ``ChatbotTrainConfig``) and their ranges; learning rates on a log scale.
ENCODER_LR = (1e-5, 3e-4)
HEAD_LR = (3e-4, 1e-2)
LABEL_SMOOTHING = (0.0, 0.2)
NEIGHBOUR_TEMPERATURE = (0.01, 0.2)


class ChatbotTuner(AppTuner):
    app: ClassVar[str] = "chatbot"
    config: ChatbotTrainConfig

    @cached_property
    def parts(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(training part, validation part), split once per worker as ``train`` splits them."""
        from apps.chatbot.data import split

        frame, _ = training_data(self.config)
        return split(frame, self.config.val_fraction, self.config.seed)

    def max_epochs(self) -> int:
        return self.config.epochs or default_epochs(self.config)

    def defaults(self) -> dict[str, Any]:
        """What ``train`` would use with the same options."""
        c = self.config
        return {"encoder_lr": c.encoder_lr, "head_lr": c.head_lr, "label_smoothing": c.label_smoothing,
                "neighbour_temperature": c.neighbour_temperature, "epochs": self.max_epochs()}

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {"encoder_lr": trial.suggest_float("encoder_lr", *ENCODER_LR, log=True),
                "head_lr": trial.suggest_float("head_lr", *HEAD_LR, log=True),
                "label_smoothing": trial.suggest_float("label_smoothing", *LABEL_SMOOTHING),
                "neighbour_temperature": trial.suggest_float("neighbour_temperature", *NEIGHBOUR_TEMPERATURE,
                                                             log=True),
                "epochs": trial.suggest_int("epochs", 1, self.max_epochs())}

    def objective(self, params: dict[str, Any], trial: Any) -> float:
        train_part, val = self.parts
        return validation_accuracy(train_part, val, apply_params(self.config, params),
                                   on_epoch_end=epoch_reporter(trial, "accuracy"))

    def data_key(self) -> str:
        """The tiny bank is other data than the built-in one."""
        if self.config.data is None and self.config.tiny:
            return "builtin-tiny"
        return super().data_key()


TUNER_CLASS = ChatbotTuner
