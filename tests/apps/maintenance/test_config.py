"""The typed configurations: one field per CLI option, same names and defaults, built by the CLI."""

from __future__ import annotations

import dataclasses

import pytest

from apps.maintenance.app import APP
from apps.maintenance.config import MaintenanceEvaluateConfig, MaintenanceTrainConfig
from lepton_shared.cli.main import build_parser
from lepton_shared.config import from_args


@pytest.mark.parametrize(("command", "cls"), [("train", MaintenanceTrainConfig),
                                               ("evaluate", MaintenanceEvaluateConfig)])
def test_every_option_is_a_field_with_its_default(command: str, cls: type) -> None:
    args = build_parser("maintenance").parse_args(["maintenance", command])
    fields = {f.name: f for f in dataclasses.fields(cls)}
    options = set(vars(args)) - {"group", "command", "json", "params", "study"}  # train --params best: the CLI's
    assert options <= set(fields)
    defaults = cls()
    for name in options - {"device"}:  # the CLI's default is the LEPTON_DEVICE setting; a config's None means it
        assert getattr(defaults, name) == getattr(args, name), name
    assert APP.train_config is MaintenanceTrainConfig and APP.evaluate_config is MaintenanceEvaluateConfig


def test_cli_options_fill_the_config() -> None:
    args = build_parser("maintenance").parse_args(
        ["maintenance", "train", "--tiny", "--cost", "downtime_cost=300", "--cost", "period=10", "--episodes", "3",
         "--members", "2", "--rl-steps", "512", "--seed", "7", "--device", "cpu", "--promote", "never"])
    config = from_args(MaintenanceTrainConfig, args)
    assert config == MaintenanceTrainConfig(tiny=True, cost=["downtime_cost=300", "period=10"], episodes=3, members=2,
                                            rl_steps=512, seed=7, promote="never", device="cpu")
