"""``lepton maintenance …``: RUL estimates and an RL maintenance policy (imports stay light)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, ClassVar

from apps.maintenance.config import MaintenanceEvaluateConfig, MaintenanceTrainConfig
from lepton_shared.app import LeptonApp

if TYPE_CHECKING:
    from fastapi import FastAPI

    from lepton_shared.registry import ModelInfo
    from lepton_shared.serving import Predictor


class MaintenanceApp(LeptonApp):
    name: ClassVar[str] = "maintenance"
    default_epochs: ClassVar[int] = 60
    train_config = MaintenanceTrainConfig
    evaluate_config = MaintenanceEvaluateConfig

    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--tiny", action="store_true",
                            help="a very small, fast run (tests and smoke checks)")
        parser.add_argument("--cost", action="append", metavar="KEY=VALUE",
                            help="override a cost setting, e.g. --cost downtime_cost=300 (repeatable); see "
                                 "apps/maintenance/costs.py for the defaults")
        parser.add_argument("--episodes", type=int, default=None,
                            help="held-out simulator episodes per policy in the comparison (default 40)")
        if command == "train":
            parser.add_argument("--members", type=int, default=None,
                                help="CNN ensemble members (default 3; more: steadier estimates and band)")
            parser.add_argument("--rl-steps", type=int, default=None,
                                help="PPO environment steps on the simulator (default 150000; fewer is faster but "
                                     "less steady from run to run)")
            parser.add_argument("--coarse-baselines", action="store_true",
                                help="tune the rule baselines on a coarser grid and half the tuning episodes (under a "
                                     "quarter of the simulations; make demo's quick model)")
            hyper = parser.add_argument_group(
                "RUL model", "hyperparameters (`tune` searches them; `train --params best` sets them from its best "
                             "trial); the trees are used with complete recorded lives only")
            default = MaintenanceTrainConfig
            hyper.add_argument("--net-lr", type=float, default=default.net_lr,
                               help=f"the nets' peak learning rate (default {default.net_lr:g})")
            hyper.add_argument("--net-width", type=int, default=default.net_width,
                               help="channels of the nets' convolutions (default: the architecture's, DCNN 10)")
            for name, kind, text in (("tree_leaves", int, "leaves per tree"),
                                     ("tree_learning_rate", float, "shrinkage"),
                                     ("tree_rounds", int, "boosting rounds"),
                                     ("tree_min_child_samples", int, "fewest rows in a leaf")):
                value = getattr(default, name)
                hyper.add_argument("--" + name.replace("_", "-"), type=kind, default=value,
                                   help=f"the trees' {text} (default {value:g})")

    def train(self, config: MaintenanceTrainConfig) -> ModelInfo:
        from apps.maintenance.training import train

        return train(config)

    def evaluate(self, config: MaintenanceEvaluateConfig) -> dict[str, Any]:
        from apps.maintenance.training import evaluate

        return evaluate(config)

    def load_predictor(self, version: str | None = None) -> Predictor:
        from apps.maintenance.predictor import MaintenancePredictor
        from lepton_shared.registry import Registry

        return MaintenancePredictor(Registry().get(self.name, version))

    def create_service(self) -> FastAPI:
        from apps.maintenance.service import create_service

        return create_service()


APP = MaintenanceApp()
