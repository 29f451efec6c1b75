"""The typed configurations match the CLI's options: same names, same defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from apps.chatbot.config import ChatbotEvaluateConfig, ChatbotTrainConfig
from lepton_shared.cli.main import build_parser
from lepton_shared.config import EvaluateConfig, TrainConfig, from_args


@pytest.mark.parametrize(("command", "config"), [("train", ChatbotTrainConfig), ("evaluate", ChatbotEvaluateConfig)])
def test_every_option_is_a_field_with_the_same_default(command: str, config: type) -> None:
    """The options the app adds (the common ones belong to ``lepton_shared``) are its config's own fields."""
    base = TrainConfig if command == "train" else EvaluateConfig
    own_fields = {f.name for f in dataclasses.fields(config)} - {f.name for f in dataclasses.fields(base)}
    args = build_parser("chatbot").parse_args(["chatbot", command])
    common = build_parser().parse_args(["chatbot", command])  # without the app's own options
    assert set(vars(args)) - set(vars(common)) == own_fields
    parsed, default = from_args(config, args), config()
    assert {name: getattr(parsed, name) for name in own_fields} == {name: getattr(default, name) for name in own_fields}


def test_options_reach_the_config() -> None:
    args = build_parser("chatbot").parse_args(["chatbot", "train", "--device", "cpu", "--tiny", "--epochs", "2",
                                               "--faq", "faq.csv", "--val-fraction", "0.2", "--encoder-lr", "1e-4",
                                               "--max-drop", "0.02", "--faq-threshold", "0.7", "--threads", "1"])
    assert from_args(ChatbotTrainConfig, args) == ChatbotTrainConfig(
        device="cpu", tiny=True, epochs=2, faq=Path("faq.csv"), val_fraction=0.2, encoder_lr=1e-4, max_drop=0.02,
        faq_threshold=0.7, threads=1)
