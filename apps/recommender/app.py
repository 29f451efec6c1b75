"""``lepton recommender``: recommendations from implicit feedback, similar items, cold start.

The options are declared here; training and evaluation live in ``training.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from apps.recommender.config import RecommenderEvaluateConfig, RecommenderTrainConfig
from lepton_shared.app import LeptonApp

if TYPE_CHECKING:
    from fastapi import FastAPI

    from lepton_shared.registry import ModelInfo
    from lepton_shared.serving import Predictor


class RecommenderApp(LeptonApp):
    name: ClassVar[str] = "recommender"
    default_epochs: ClassVar[int] = 15
    train_config = RecommenderTrainConfig
    evaluate_config = RecommenderEvaluateConfig

    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--items", type=Path, default=None,
                            help="item catalogue CSV (item_id, title, category); default: items.csv or "
                                 "movies.csv / u.item beside --data")
        if command == "train":
            parser.add_argument("--tiny", action="store_true",
                                help="a tiny built-in shop and small search grids (seconds; for tests and demos)")
            parser.add_argument("--synthetic-interactions", type=int, default=None, metavar="N",
                                help="size the built-in shop to about N interactions (e.g. 1000000 for the "
                                     "benchmark)")
            parser.add_argument("--no-events", dest="use_events", action="store_false",
                                help="ignore interactions posted to the service (POST /v1/events)")
            model = parser.add_argument_group(
                "served model", "fix the served model instead of searching the built-in grid (`tune` searches "
                                "these; `train --params best` sets them from its best trial)")
            model.add_argument("--family", choices=["ease", "item_knn_bm25"], default=None,
                               help="the served model's family")
            model.add_argument("--ease-l2", type=float, default=None, metavar="L",
                               help="EASE's λ (default: twice the mean item count)")
            model.add_argument("--knn-k", type=int, default=100, metavar="K", help="item-kNN neighbours (100)")
            model.add_argument("--knn-k1", type=float, default=1.2, help="BM25 k1 (1.2)")
            model.add_argument("--knn-b", type=float, default=0.75, help="BM25 b (0.75)")
        parser.epilog = ("--data takes a CSV (user,item[,weight][,timestamp]), MovieLens u.data or ratings.csv, "
                         "a folder holding one, or a MovieLens .zip (see `lepton data ml-100k`). --epochs sets "
                         "ALS sweeps (BPR runs 8x as many SGD epochs); EASE and item-kNN are closed-form.")

    def train(self, config: RecommenderTrainConfig) -> ModelInfo:
        from apps.recommender.training import train

        return train(config)

    def evaluate(self, config: RecommenderEvaluateConfig) -> dict[str, Any]:
        from apps.recommender.training import evaluate

        return evaluate(config)

    def load_predictor(self, version: str | None = None) -> Predictor:
        from apps.recommender.predictor import RecommenderPredictor
        from lepton_shared.registry import Registry

        return RecommenderPredictor(Registry().get(self.name, version))

    def create_service(self) -> FastAPI:
        from apps.recommender.service import create_service

        return create_service()


APP = RecommenderApp()
