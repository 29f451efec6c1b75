"""``APP``: the imaging app as the CLI, the services and the contract tests see it.

Module imports stay light (no torch here): heavy modules load inside methods.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lepton_shared.app import LeptonApp

if TYPE_CHECKING:
    from fastapi import FastAPI

    from apps.imaging.datasets import ImageSet
    from lepton_shared.registry import ModelInfo
    from lepton_shared.serving import Predictor

BUILTIN_IMAGES = 400
TINY_IMAGES = 60


class ImagingApp(LeptonApp):
    name: ClassVar[str] = "imaging"
    default_epochs: ClassVar[int] = 8

    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None:
        parser.epilog = ("--data takes a MedMNIST .npz (train/val/test keys are used as given) or a folder with "
                         "one sub-folder per class (PNG, JPEG, DICOM, NIfTI; optionally inside train/ val/ test/). "
                         "Without --data the app generates synthetic images (PNG, DICOM and NIfTI).")
        if command == "train":
            parser.add_argument("--tiny", action="store_true",
                                help=f"use {TINY_IMAGES} built-in images (for tests and smoke checks)")
            parser.add_argument("--builtin-images", type=int, default=BUILTIN_IMAGES,
                                help=f"size of the generated built-in set (default {BUILTIN_IMAGES})")
            parser.add_argument("--arch", choices=["resnet18", "densenet121"], default="resnet18",
                                help="backbone: torchvision ResNet-18 (default) or MONAI DenseNet-121")
            parser.add_argument("--weights", type=Path, default=None,
                                help="local torchvision ResNet-18 state_dict for transfer learning "
                                     "(default: random initialisation, since nothing is downloaded)")
            parser.add_argument("--image-size", type=int, default=28,
                                help="images are resized to this square size (default 28, MedMNIST's)")
            parser.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
            parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default 2e-3)")
            parser.add_argument("--target-sensitivity", type=float, default=0.95,
                                help="sensitivity the operating threshold must reach on validation data "
                                     "(default 0.95)")
            parser.add_argument("--no-augment", action="store_true", help="train without MONAI augmentation")

    # -- data ---------------------------------------------------------------
    def _load(self, data: Path | None, size: int, seed: int, builtin_images: int) -> ImageSet:
        from apps.imaging.datasets import load_image_set
        from apps.imaging.synthetic import CLASS_NAMES, builtin_dir

        if data is None:
            image_set = load_image_set(builtin_dir(builtin_images), size, seed)
            image_set.class_names = list(CLASS_NAMES)
            return image_set
        return load_image_set(data, size, seed)

    # -- train / evaluate -----------------------------------------------------
    def train(self, args: argparse.Namespace) -> ModelInfo:
        import torch

        from apps.imaging.baselines import pixel_baseline
        from apps.imaging.training import ARTIFACT_WEIGHTS, ModelConfig, TrainSettings, fit, report_figures, score
        from lepton_shared.data import fingerprint
        from lepton_shared.errors import UserError
        from lepton_shared.evaluation import write_report
        from lepton_shared.registry import Registry

        if not 0.5 <= args.target_sensitivity < 1.0:
            raise UserError("--target-sensitivity must be between 0.5 and 1 (e.g. 0.95)")
        if not 8 <= args.image_size <= 512:
            raise UserError("--image-size must be between 8 and 512 pixels")
        if args.arch == "densenet121" and args.image_size < 64:
            raise UserError("densenet121 downsamples 32-fold: use --image-size 64 or more with it")
        if args.batch_size < 2:
            raise UserError("--batch-size must be at least 2")
        builtin = TINY_IMAGES if args.tiny else args.builtin_images
        if args.data is None and builtin < 20:
            raise UserError("--builtin-images must be at least 20")
        image_set = self._load(args.data, args.image_size, args.seed, builtin)
        cfg = ModelConfig(arch=args.arch, image_size=args.image_size, class_names=image_set.class_names,
                          target_sensitivity=args.target_sensitivity)
        settings = TrainSettings(epochs=args.epochs or self.default_epochs, batch_size=args.batch_size, lr=args.lr,
                                 device=args.device, seed=args.seed, augment=not args.no_augment,
                                 weights_path=args.weights)
        model, facts = fit(image_set, cfg, settings)
        held_out = image_set.splits.get("test") or image_set.split("val")
        metrics, raw, cal = score(model, cfg, held_out)
        metrics.update({k: v for k, v in facts.items() if k != "history"})
        metrics["baselines"] = pixel_baseline(image_set.split("train"), held_out, args.seed)
        figures = report_figures(held_out.labels, raw, cal, cfg, facts["history"])
        params = {"arch": cfg.arch, "image_size": cfg.image_size, "epochs": settings.epochs,
                  "batch_size": settings.batch_size, "lr": settings.lr, "seed": args.seed,
                  "augment": settings.augment, "pretrained": args.weights is not None,
                  "data": str(args.data) if args.data else f"built-in ({builtin} synthetic images)",
                  "builtin_images": builtin if args.data is None else None,
                  "class_names": cfg.class_names}

        def write(folder: Path) -> None:
            torch.save({k: v.cpu() for k, v in model.state_dict().items()}, folder / ARTIFACT_WEIGHTS)
            cfg.save(folder)
            write_report(folder / "report.html", "Imaging model report", metrics, figures,
                         notes=f"Data: {params['data']}. Held-out split: "
                               f"{'test' if 'test' in image_set.splits else 'val'}. Threshold chosen on the "
                               f"validation split for sensitivity >= {cfg.target_sensitivity}.")

        data_fp = fingerprint(args.data) if args.data else fingerprint({"builtin": builtin, "seed": 0})
        return Registry().register(self.name, write, metrics=metrics, params=params, data_fingerprint=data_fp,
                                   promote=not args.no_promote)

    def evaluate(self, args: argparse.Namespace) -> dict[str, Any]:
        from apps.imaging.baselines import pixel_baseline
        from apps.imaging.predictor import load_model
        from apps.imaging.training import score
        from lepton_shared.registry import Registry

        info = Registry().get(self.name, args.model)
        model, cfg = load_model(info.path, args.device)
        builtin = int(info.params.get("builtin_images") or BUILTIN_IMAGES)
        image_set = self._load(args.data, cfg.image_size, args.seed, builtin)
        split = image_set.splits.get("test") or image_set.split("val")
        metrics, _, _ = score(model, cfg, split)
        if "train" in image_set.splits:
            metrics["baselines"] = pixel_baseline(image_set.split("train"), split, args.seed)
        metrics["model_version"] = info.version
        return metrics

    # -- serving --------------------------------------------------------------
    def load_predictor(self, version: str | None = None) -> Predictor:
        from apps.imaging.predictor import ImagingPredictor
        from lepton_shared.registry import Registry

        return ImagingPredictor(Registry().get(self.name, version))

    def create_service(self) -> FastAPI:
        from apps.imaging.service import create_service

        return create_service()


APP = ImagingApp()
