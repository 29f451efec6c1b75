"""The typed configurations match the CLI's options: same names, same defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from apps.imaging.config import ImagingEvaluateConfig, ImagingTrainConfig
from lepton_shared.cli.main import build_parser
from lepton_shared.config import EvaluateConfig, TrainConfig, from_args


@pytest.mark.parametrize(("command", "config"), [("train", ImagingTrainConfig), ("evaluate", ImagingEvaluateConfig)])
def test_every_option_is_a_field_with_the_same_default(command: str, config: type) -> None:
    """The options the app adds (the common ones belong to ``lepton_shared``) are its config's own fields."""
    base = TrainConfig if command == "train" else EvaluateConfig
    own_fields = {f.name for f in dataclasses.fields(config)} - {f.name for f in dataclasses.fields(base)}
    args = build_parser("imaging").parse_args(["imaging", command])
    common = build_parser().parse_args(["imaging", command])  # without the app's own options
    assert set(vars(args)) - set(vars(common)) == own_fields
    parsed, default = from_args(config, args), config()
    assert {name: getattr(parsed, name) for name in own_fields} == {name: getattr(default, name) for name in own_fields}


def test_options_reach_the_config() -> None:
    args = build_parser("imaging").parse_args(["imaging", "train", "--device", "cpu", "--tiny", "--epochs", "2",
                                               "--builtin-images", "100", "--arch", "densenet121",
                                               "--weights", "w.pt", "--image-size", "64", "--lr", "0.01",
                                               "--target-sensitivity", "0.9", "--no-augment", "--promote", "never"])
    expected = ImagingTrainConfig(device="cpu", tiny=True, epochs=2, builtin_images=100, arch="densenet121",
                                  weights=Path("w.pt"), image_size=64, lr=0.01, target_sensitivity=0.9,
                                  no_augment=True, promote="never")
    assert from_args(ImagingTrainConfig, args) == expected


def test_batch_size_shrinks_for_small_training_sets_only() -> None:
    from apps.imaging.config import auto_batch_size

    assert auto_batch_size(4708) == 64  # PneumoniaMNIST's training split keeps the recipe's batches
    assert auto_batch_size(1024) == 64
    assert auto_batch_size(280) == 16  # the built-in set: 17 steps per epoch instead of 5
    assert auto_batch_size(42) == 8  # never below 8
    assert all(n // auto_batch_size(n) >= 16 for n in range(128, 5000, 37))
