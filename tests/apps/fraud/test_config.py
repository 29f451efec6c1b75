"""The typed configurations match the CLI's options: same names, same defaults."""

from __future__ import annotations

import dataclasses

import pytest

from apps.fraud.config import FraudEvaluateConfig, FraudTrainConfig
from lepton_shared.cli.main import build_parser
from lepton_shared.config import EvaluateConfig, TrainConfig, from_args


@pytest.mark.parametrize(("command", "config"), [("train", FraudTrainConfig), ("evaluate", FraudEvaluateConfig)])
def test_every_option_is_a_field_with_the_same_default(command: str, config: type) -> None:
    """The options the app adds (the common ones belong to ``lepton_shared``) are its config's own fields."""
    base = TrainConfig if command == "train" else EvaluateConfig
    own_fields = {f.name for f in dataclasses.fields(config)} - {f.name for f in dataclasses.fields(base)}
    args = build_parser("fraud").parse_args(["fraud", command])
    common = build_parser().parse_args(["fraud", command])  # without the app's own options
    assert set(vars(args)) - set(vars(common)) == own_fields
    parsed, default = from_args(config, args), config()
    assert {name: getattr(parsed, name) for name in own_fields} == {name: getattr(default, name) for name in own_fields}


def test_options_reach_the_config() -> None:
    args = build_parser("fraud").parse_args(["fraud", "train", "--device", "cpu", "--tiny", "--epochs", "2",
                                             "--review-cost", "3",
                                             "--rule", "TX_AMOUNT > 1000 -> review", "--with-feedback"])
    assert from_args(FraudTrainConfig, args) == FraudTrainConfig(device="cpu", tiny=True, epochs=2, review_cost=3.0,
                                                                  rule=["TX_AMOUNT > 1000 -> review"],
                                                                  with_feedback=True)
