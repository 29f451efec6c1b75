"""The classifier network and the tensors it eats.

ResNet-18 from torchvision through ``lepton_shared.transfer.vision_backbone``
(pretrained weights from a local file when given), or MONAI's DenseNet-121.
For small inputs (MedMNIST is 28 x 28) the ResNet stem becomes a 3 x 3,
stride-1 convolution: the stock 7 x 7 / stride 2 stem plus max-pooling would
shrink a 28-pixel image to 7 pixels before the first residual block. The
max-pool is kept (residual blocks start at 14 x 14), which costs a quarter of
the CIFAR-style variant without it and still trains to AUC ~0.96 on
PneumoniaMNIST on a shared 2-core CPU within minutes.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

ARCHITECTURES = ("resnet18", "densenet121")
MEAN, STD = 0.5, 0.5


def build_network(arch: str = "resnet18", weights_path: Path | None = None, small_input: bool = True,
                  num_classes: int = 2, quiet: bool = False) -> nn.Module:
    """A 1-channel classifier; ``quiet`` hides the "random weights" warning (loading a trained model)."""
    from lepton_shared.errors import UserError

    if arch == "densenet121":
        from monai.networks.nets import DenseNet121

        if weights_path is not None:
            raise UserError("--weights is only supported for resnet18 (torchvision weights)")
        return DenseNet121(spatial_dims=2, in_channels=1, out_channels=num_classes)
    if arch != "resnet18":
        raise UserError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    from lepton_shared.transfer import vision_backbone

    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        model = vision_backbone("resnet18", num_classes=num_classes, weights_path=weights_path, in_channels=1)
    if small_input:
        old: nn.Conv2d = model.conv1  # type: ignore[assignment]
        new = nn.Conv2d(1, old.out_channels, kernel_size=3, stride=1, padding=1, bias=False)
        with torch.no_grad():  # keep what a pretrained stem learned: the centre of its 7x7 kernels
            new.weight.copy_(old.weight[:, :, 2:5, 2:5])
        model.conv1 = new
    return model


def cam_layer(arch: str) -> str:
    """The layer Grad-CAM reads: the last convolutional block."""
    return "layer4" if arch == "resnet18" else "features.denseblock4"


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(n, H, W) in [0, 1] -> normalised (n, 1, H, W) float tensor."""
    return (torch.as_tensor(np.ascontiguousarray(images), dtype=torch.float32).unsqueeze(1) - MEAN) / STD


def augmentation() -> Any:
    """MONAI random transforms for one (1, H, W) image in [0, 1]: small affine moves, contrast, noise."""
    from monai.transforms import Compose, RandAdjustContrast, RandAffine, RandGaussianNoise

    return Compose([
        RandAffine(prob=0.7, rotate_range=0.15, translate_range=(2, 2), scale_range=(0.1, 0.1),
                   padding_mode="border"),
        RandAdjustContrast(prob=0.3, gamma=(0.8, 1.25)),
        RandGaussianNoise(prob=0.3, std=0.02),
    ])


class ImageDataset(torch.utils.data.Dataset):
    """(image, label) pairs; augmented when ``augment`` (training only)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, augment: bool = False, seed: int = 0) -> None:
        self.images = images
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.transform = augmentation() if augment else None
        if self.transform is not None:
            self.transform.set_random_state(seed=seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.as_tensor(self.images[i], dtype=torch.float32).unsqueeze(0)
        if self.transform is not None:
            out = self.transform(x)
            x = torch.as_tensor(out.as_tensor() if hasattr(out, "as_tensor") else out).clamp(0, 1)
        return (x - MEAN) / STD, self.labels[i]


@torch.no_grad()
def predict_logits(model: nn.Module, images: np.ndarray, batch_size: int = 256,
                   device: torch.device | None = None) -> np.ndarray:
    """Raw logits (n, 2) for images (n, H, W) in [0, 1], in eval mode."""
    if device is None:
        from apps.imaging.variants import model_device

        device = model_device(model)
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = to_tensor(images[start:start + batch_size]).to(device)
        out.append(model(x).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 2), dtype=np.float32)
