"""``lepton chatbot``: train, evaluate, serve and talk to the customer-service assistant.

The options are declared here; training and evaluation live in ``training.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from apps.chatbot.config import ChatbotEvaluateConfig, ChatbotTrainConfig
from lepton_shared.app import LeptonApp

if TYPE_CHECKING:
    from fastapi import FastAPI

    from apps.chatbot.predictor import ChatbotPredictor
    from lepton_shared.registry import ModelInfo


class ChatbotApp(LeptonApp):
    name: ClassVar[str] = "chatbot"
    default_epochs: ClassVar[int] = 3
    train_config = ChatbotTrainConfig
    evaluate_config = ChatbotEvaluateConfig

    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None:
        default = ChatbotTrainConfig
        if command == "train":
            parser.add_argument("--faq", type=Path, default=default.faq,
                                help="FAQ CSV with columns question,answer (default: the demo bank's FAQ)")
            parser.add_argument("--tiny", action="store_true",
                                help="train on 8 examples per built-in intent (seconds; for tests and smoke runs; "
                                     "ignored with --data)")
            parser.add_argument("--val-fraction", type=float, default=default.val_fraction,
                                help="share of the data held out for early stopping and the out-of-scope "
                                     f"threshold (default {default.val_fraction:g})")
            parser.add_argument("--batch-size", type=int, default=default.batch_size,
                                help=f"training batch size (default {default.batch_size})")
            parser.add_argument("--encoder-lr", type=float, default=default.encoder_lr,
                                help=f"learning rate of the MiniLM encoder (default {default.encoder_lr:g})")
            parser.add_argument("--head-lr", type=float, default=default.head_lr,
                                help=f"learning rate of the intent head (default {default.head_lr:g})")
            parser.add_argument("--label-smoothing", type=float, default=default.label_smoothing,
                                help=f"default {default.label_smoothing:g}")
            parser.add_argument("--max-drop", type=float, default=default.max_drop,
                                help="share of in-scope validation messages the out-of-scope threshold may send "
                                     "to the fallback, which bounds the accuracy it costs "
                                     f"(default {default.max_drop:g} = 1 point)")
            parser.add_argument("--faq-threshold", type=float, default=default.faq_threshold,
                                help="cosine similarity an FAQ question needs to answer (default 0.8)")
            parser.add_argument("--neighbour-temperature", type=float, default=default.neighbour_temperature,
                                help="softmax temperature of the neighbour vote in the blend (default "
                                     f"{default.neighbour_temperature:g}; lower trusts the nearest message more)")
            parser.add_argument("--threads", type=int, default=default.threads,
                                help="torch CPU threads while training (default: the cores not busy with other work)")

    def train(self, config: ChatbotTrainConfig) -> ModelInfo:
        from apps.chatbot.training import train

        return train(config)

    def evaluate(self, config: ChatbotEvaluateConfig) -> dict[str, Any]:
        from apps.chatbot.training import evaluate

        return evaluate(config)

    def load_predictor(self, version: str | None = None) -> ChatbotPredictor:
        from apps.chatbot.predictor import ChatbotPredictor
        from lepton_shared.registry import Registry

        return ChatbotPredictor(Registry().get(self.name, version))

    def create_service(self) -> FastAPI:
        from apps.chatbot.service import create_service

        return create_service()


APP = ChatbotApp()
