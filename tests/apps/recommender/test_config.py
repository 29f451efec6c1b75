"""The typed configurations match the CLI's options: same names, same defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from apps.recommender.config import RecommenderEvaluateConfig, RecommenderTrainConfig
from lepton_shared.cli.main import build_parser
from lepton_shared.config import EvaluateConfig, TrainConfig, from_args


@pytest.mark.parametrize(("command", "config"), [("train", RecommenderTrainConfig),
                                                 ("evaluate", RecommenderEvaluateConfig)])
def test_every_option_is_a_field_with_the_same_default(command: str, config: type) -> None:
    """The options the app adds (the common ones belong to ``lepton_shared``) are its config's own fields."""
    base = TrainConfig if command == "train" else EvaluateConfig
    own_fields = {f.name for f in dataclasses.fields(config)} - {f.name for f in dataclasses.fields(base)}
    args = build_parser("recommender").parse_args(["recommender", command])
    common = build_parser().parse_args(["recommender", command])  # without the app's own options
    assert set(vars(args)) - set(vars(common)) == own_fields
    parsed, default = from_args(config, args), config()
    assert {name: getattr(parsed, name) for name in own_fields} == {name: getattr(default, name) for name in own_fields}


def test_options_reach_the_config() -> None:
    args = build_parser("recommender").parse_args(["recommender", "train", "--device", "cpu", "--tiny", "--no-events",
                                                   "--items",
                                                   "items.csv", "--synthetic-interactions", "5000"])
    assert from_args(RecommenderTrainConfig, args) == RecommenderTrainConfig(
        device="cpu", tiny=True, use_events=False, items=Path("items.csv"), synthetic_interactions=5000)
