"""Hyperparameter tuning with Optuna: ``lepton <app> tune`` and ``lepton <app> train --params best``.

:mod:`~lepton_shared.tuning.base` holds the per-app ``AppTuner`` (search space and objective, found as
``apps.<app>.tuning.TUNER_CLASS``), :mod:`~lepton_shared.tuning.runner` the study every app shares the
flow of, :mod:`~lepton_shared.tuning.storage` where studies live and :mod:`~lepton_shared.tuning.best`
how a registered version is trained from, and records, the best trial.
"""
