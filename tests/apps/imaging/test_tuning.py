"""The imaging tuner passes the tuner contract on the tiny built-in set, and its augmentation strength is
what the training data sees."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from apps.imaging.config import ImagingTrainConfig
from apps.imaging.model import ImageDataset
from lepton_shared.testing.tuning import TunerContract


class TestImagingTuner(TunerContract):
    app_name: ClassVar[str] = "imaging"
    pruned_params: ClassVar[dict[str, Any] | None] = {"lr": 2e-3, "augment_strength": 1.0, "epochs": 2}

    def tiny_config(self) -> ImagingTrainConfig:
        return ImagingTrainConfig(tiny=True, epochs=1, device="cpu", batch_size=32)

    def test_the_tiny_study_is_named_after_its_size(self) -> None:
        assert self.tuner().data_key() == "builtin-60"


def test_augmentation_strength_scales_how_far_images_move() -> None:
    rng = np.random.default_rng(0)
    images, labels = rng.random((16, 28, 28)).astype(np.float32), np.zeros(16, dtype=np.int64)
    plain = torch.stack([ImageDataset(images, labels)[i][0] for i in range(16)])

    def change(strength: float) -> float:
        torch.manual_seed(0)  # each item's augmentation is seeded from torch's generator
        data = ImageDataset(images, labels, augment=True, strength=strength)
        return float((torch.stack([data[i][0] for i in range(16)]) - plain).abs().mean())

    assert change(0.0) < 1e-5 < change(0.5) < change(2.0)
