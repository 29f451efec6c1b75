"""Cheap ``AppTuner``s for the tests of the tuning mechanism.

They live in the package (not in a test file) because the worker processes of ``tune(workers=N)``
are spawned and must import the tuner class by name; the tests import with ``importlib`` mode,
which a spawned process cannot follow.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

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
