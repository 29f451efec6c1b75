"""``lepton fraud``: train, evaluate, serve and browse the payment fraud scorer.

The options are declared here; training and evaluation live in ``training.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from apps.fraud.config import FraudEvaluateConfig, FraudTrainConfig
from lepton_shared.app import LeptonApp

if TYPE_CHECKING:
    from fastapi import FastAPI

    from lepton_shared.registry import ModelInfo
    from lepton_shared.serving import Predictor


class FraudApp(LeptonApp):
    name: ClassVar[str] = "fraud"
    default_epochs: ClassVar[int] = 5
    train_config = FraudTrainConfig
    evaluate_config = FraudEvaluateConfig

    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None:
        default = FraudTrainConfig
        parser.add_argument("--tiny", action="store_true",
                            help="without --data: a tiny simulation (300 customers) for tests and demos")
        parser.add_argument("--train-start", default=default.train_start, metavar="YYYY-MM-DD",
                            help="first day of the training week (default: 30 days after the first "
                                 "transaction, i.e. 2018-05-01 for the handbook's file)")
        parser.add_argument("--train-days", type=int, default=default.train_days,
                            help=f"training period length (default {default.train_days})")
        parser.add_argument("--delay-days", type=int, default=default.delay_days,
                            help="days skipped between training and test, as labels arrive late "
                                 f"(default {default.delay_days})")
        parser.add_argument("--test-days", type=int, default=default.test_days,
                            help=f"test period length (default {default.test_days})")
        if command == "train":
            parser.add_argument("--models", default=default.models,
                                help="candidates, comma-separated: lightgbm, mlp (default both; the best "
                                     "validation average precision is registered)")
            parser.add_argument("--review-cost", type=float, default=default.review_cost,
                                help=f"cost of one analyst review (default {default.review_cost:g})")
            parser.add_argument("--decline-cost", type=float, default=default.decline_cost,
                                help=f"cost of declining a genuine payment (default {default.decline_cost:g})")
            parser.add_argument("--chargeback-fee", type=float, default=default.chargeback_fee,
                                help="fee on top of the amount when a fraud is approved "
                                     f"(default {default.chargeback_fee:g})")
            parser.add_argument("--rule", action="append", default=[], metavar="'FEATURE > X [and ...] -> ACTION'",
                                help="analyst rule combined with the score, e.g. "
                                     "'TX_AMOUNT > 1000 and TERMINAL_ID_NB_TX_30DAY_WINDOW < 1 -> review'")
            parser.add_argument("--with-feedback", action="store_true",
                                help="add the labelled transactions the service has scored to the data")
            hyper = parser.add_argument_group(
                "hyperparameters", "of the candidates (`tune` searches them; `train --params best` sets them "
                                   "from its best trial)")
            for name, kind, text in (
                    ("lgbm_leaves", int, "LightGBM leaves per tree"),
                    ("lgbm_learning_rate", float, "LightGBM shrinkage"),
                    ("lgbm_min_child_samples", int, "LightGBM fewest rows in a leaf"),
                    ("lgbm_lambda_l2", float, "LightGBM L2 penalty on leaf values"),
                    ("lgbm_feature_fraction", float, "LightGBM share of features each tree sees"),
                    ("lgbm_rounds", int, "LightGBM boosting rounds"),
                    ("mlp_hidden", int, "MLP hidden units"),
                    ("mlp_lr", float, "MLP learning rate"),
                    ("mlp_weight_decay", float, "MLP weight decay")):
                value = getattr(default, name)
                hyper.add_argument("--" + name.replace("_", "-"), type=kind, default=value,
                                   help=f"{text} (default {value:g})")

    def train(self, config: FraudTrainConfig) -> ModelInfo:
        from apps.fraud.training import train

        return train(config)

    def evaluate(self, config: FraudEvaluateConfig) -> dict[str, Any]:
        from apps.fraud.training import evaluate

        return evaluate(config)

    def load_predictor(self, version: str | None = None) -> Predictor:
        from apps.fraud.predictor import FraudPredictor
        from lepton_shared.registry import Registry

        info = Registry().get(self.name, version)
        return FraudPredictor.load(info.version, Path(info.path))

    def create_service(self) -> FastAPI:
        from apps.fraud.service import create_service

        return create_service()


APP = FraudApp()
