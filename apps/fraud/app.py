"""``lepton fraud``: train, evaluate, serve and browse the payment fraud scorer."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lepton_shared.app import LeptonApp

if TYPE_CHECKING:
    from fastapi import FastAPI

    from lepton_shared.registry import ModelInfo
    from lepton_shared.serving import Predictor


class FraudApp(LeptonApp):
    name: ClassVar[str] = "fraud"
    default_epochs: ClassVar[int] = 5

    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--tiny", action="store_true",
                            help="without --data: a tiny simulation (300 customers) for tests and demos")
        parser.add_argument("--train-start", default=None, metavar="YYYY-MM-DD",
                            help="first day of the training week (default: 30 days after the first "
                                 "transaction, i.e. 2018-05-01 for the handbook's file)")
        parser.add_argument("--train-days", type=int, default=7, help="training period length (default 7)")
        parser.add_argument("--delay-days", type=int, default=7,
                            help="days skipped between training and test, as labels arrive late (default 7)")
        parser.add_argument("--test-days", type=int, default=7, help="test period length (default 7)")
        if command == "train":
            parser.add_argument("--models", default="lightgbm,mlp",
                                help="candidates, comma-separated: lightgbm, mlp (default both; the best "
                                     "validation average precision is registered)")
            parser.add_argument("--review-cost", type=float, default=5.0, help="cost of one analyst review (5)")
            parser.add_argument("--decline-cost", type=float, default=40.0,
                                help="cost of declining a genuine payment (40)")
            parser.add_argument("--chargeback-fee", type=float, default=15.0,
                                help="fee on top of the amount when a fraud is approved (15)")
            parser.add_argument("--rule", action="append", default=[], metavar="'FEATURE > X [and ...] -> ACTION'",
                                help="analyst rule combined with the score, e.g. "
                                     "'TX_AMOUNT > 1000 and TERMINAL_ID_NB_TX_30DAY_WINDOW < 1 -> review'")
            parser.add_argument("--with-feedback", action="store_true",
                                help="add the labelled transactions the service has scored to the data")

    def train(self, args: argparse.Namespace) -> ModelInfo:
        from apps.fraud.features import FEATURES
        from apps.fraud.pipeline import CANDIDATES, load_data, periods_from, train_models, write_artifact
        from apps.fraud.policy import CostPolicy, Rule
        from lepton_shared.data import fingerprint
        from lepton_shared.errors import UserError
        from lepton_shared.registry import Registry

        candidates = tuple(m.strip() for m in args.models.split(",") if m.strip())
        unknown = [m for m in candidates if m not in CANDIDATES]
        if unknown or not candidates:
            raise UserError(f"--models: unknown {', '.join(unknown) or 'empty list'}; use lightgbm and/or mlp")
        policy = CostPolicy(chargeback_fee=args.chargeback_fee, review_cost=args.review_cost,
                            decline_cost=args.decline_cost, rules=tuple(args.rule))
        for rule in policy.rules:
            Rule.parse(rule, FEATURES)  # fail before training, not at the first request
        df, source = load_data(args)
        periods = periods_from(args, df)
        result = train_models(df, periods, args.epochs or self.default_epochs, args.seed, args.device, candidates)
        data_fp = fingerprint(df)
        params = {"data": source, "candidates": list(candidates), "epochs": args.epochs or self.default_epochs,
                  "seed": args.seed, "policy": policy.as_dict(), **result.periods.describe()}
        return Registry().register(
            self.name, lambda folder: write_artifact(folder, result, policy.as_dict(), source),
            metrics=result.metrics, params=params, data_fingerprint=data_fp, promote=not args.no_promote)

    def evaluate(self, args: argparse.Namespace) -> dict[str, Any]:
        from apps.fraud.model import FraudModel
        from apps.fraud.pipeline import evaluate_model, load_data, periods_from
        from lepton_shared.registry import Registry

        info = Registry().get(self.name, args.model)
        model = FraudModel.load(Path(info.path))
        df, _ = load_data(args)
        metrics = evaluate_model(model, df, periods_from(args, df), args.seed)
        return {"model_version": info.version, **metrics}

    def load_predictor(self, version: str | None = None) -> Predictor:
        from apps.fraud.predictor import FraudPredictor
        from lepton_shared.registry import Registry

        info = Registry().get(self.name, version)
        return FraudPredictor.load(info.version, Path(info.path))

    def create_service(self) -> FastAPI:
        from apps.fraud.service import create_service

        return create_service()


APP = FraudApp()
