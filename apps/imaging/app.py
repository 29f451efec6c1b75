"""``lepton imaging``: train, evaluate, serve and review the medical image classifier.

The options are declared here; training and evaluation live in ``training.py``. Module imports
stay light (no torch here): heavy modules load inside methods.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from apps.imaging.config import TINY_IMAGES, ImagingEvaluateConfig, ImagingTrainConfig
from lepton_shared.app import LeptonApp

if TYPE_CHECKING:
    from fastapi import FastAPI

    from lepton_shared.registry import ModelInfo
    from lepton_shared.serving import Predictor


class ImagingApp(LeptonApp):
    name: ClassVar[str] = "imaging"
    default_epochs: ClassVar[int] = 8
    train_config = ImagingTrainConfig
    evaluate_config = ImagingEvaluateConfig

    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None:
        default = ImagingTrainConfig
        parser.epilog = ("--data takes a MedMNIST .npz (train/val/test keys are used as given) or a folder with "
                         "one sub-folder per class (PNG, JPEG, DICOM, NIfTI; optionally inside train/ val/ test/). "
                         "Without --data the app generates synthetic images (PNG, DICOM and NIfTI).")
        if command == "train":
            parser.add_argument("--tiny", action="store_true",
                                help=f"use {TINY_IMAGES} built-in images (for tests and smoke checks)")
            parser.add_argument("--builtin-images", type=int, default=default.builtin_images,
                                help=f"size of the generated built-in set (default {default.builtin_images})")
            parser.add_argument("--arch", choices=["resnet18", "densenet121"], default=default.arch,
                                help="backbone: torchvision ResNet-18 (default) or MONAI DenseNet-121")
            parser.add_argument("--weights", type=Path, default=default.weights,
                                help="local torchvision ResNet-18 state_dict for transfer learning "
                                     "(default: random initialisation, since nothing is downloaded)")
            parser.add_argument("--image-size", type=int, default=default.image_size,
                                help=f"images are resized to this square size (default {default.image_size}, "
                                     "MedMNIST's)")
            parser.add_argument("--batch-size", type=int, default=default.batch_size,
                                help="batch size (default 64, halved down to 8 for small training sets so that an "
                                     "epoch has at least 16 steps)")
            parser.add_argument("--lr", type=float, default=default.lr,
                                help=f"peak learning rate (default {default.lr:g})")
            parser.add_argument("--target-sensitivity", type=float, default=default.target_sensitivity,
                                help="sensitivity the operating threshold must reach on validation data "
                                     f"(default {default.target_sensitivity:g})")
            parser.add_argument("--no-augment", action="store_true", help="train without MONAI augmentation")
            parser.add_argument("--augment-strength", type=float, default=default.augment_strength,
                                help="scale of the augmentation's rotations, shifts, zoom, contrast and noise "
                                     f"(default {default.augment_strength:g}; 0: none)")

    def train(self, config: ImagingTrainConfig) -> ModelInfo:
        from apps.imaging.training import train

        return train(config)

    def evaluate(self, config: ImagingEvaluateConfig) -> dict[str, Any]:
        from apps.imaging.training import evaluate

        return evaluate(config)

    def load_predictor(self, version: str | None = None) -> Predictor:
        from apps.imaging.predictor import ImagingPredictor
        from lepton_shared.registry import Registry

        return ImagingPredictor(Registry().get(self.name, version))

    def create_service(self) -> FastAPI:
        from apps.imaging.service import create_service

        return create_service()


APP = ImagingApp()

