"""The maintenance tuner passes the tuner contract on the tiny simulated fleet; on complete recorded lives it
searches the trees too, and the trees' parameters reach LightGBM."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import optuna

from apps.maintenance.config import MaintenanceTrainConfig
from apps.maintenance.trees import TREE_PARAMS, TreeRul, tree_params
from apps.maintenance.tuning import MaintenanceTuner
from lepton_shared.testing.tuning import TunerContract

TINY = MaintenanceTrainConfig(tiny=True, epochs=2, device="cpu")


class TestMaintenanceTuner(TunerContract):
    app_name: ClassVar[str] = "maintenance"
    pruned_params: ClassVar[dict[str, Any] | None] = {"net_lr": 1e-3, "net_width": 10, "epochs": 2}

    def tiny_config(self) -> MaintenanceTrainConfig:
        return TINY


def test_recorded_lives_search_the_trees_too() -> None:
    tuner = MaintenanceTuner(TINY)
    simulated = set(tuner.suggest(optuna.create_study().ask()))
    tuner.__dict__["data"] = (tuner.data[0], True)  # as if the fleet were complete recorded lives
    recorded = tuner.suggest(optuna.create_study().ask())
    assert simulated == {"net_lr", "net_width", "epochs"}
    assert set(recorded) - simulated == {"tree_leaves", "tree_learning_rate", "tree_rounds", "tree_min_child_samples"}
    assert set(tuner.defaults()) == set(recorded)


def test_the_trees_parameters_reach_lightgbm() -> None:
    from apps.maintenance.features import FeatureSpec, make_windows

    frame, _ = MaintenanceTuner(TINY).data
    spec = FeatureSpec.fit(frame)
    x, y, _ = make_windows(frame, spec)
    params = tree_params(leaves=3, learning_rate=0.05, rounds=20, min_child_samples=10)
    trees = TreeRul.fit(x, y, spec, params=params)
    assert trees.booster.num_trees() == 20 and params["subsample"] == TREE_PARAMS["subsample"]
    assert np.all(trees.predict(x[:5]) >= 0)
