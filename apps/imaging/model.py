"""The classifier network, the tensors it eats, and its artifact: weights plus ``ModelConfig``.

ResNet-18 from torchvision through ``lepton_shared.transfer.vision_backbone``
(pretrained weights from a local file when given), or MONAI's DenseNet-121.
For small inputs (MedMNIST is 28 x 28) the ResNet stem becomes a 3 x 3,
stride-1 convolution: the stock 7 x 7 / stride 2 stem plus max-pooling would
shrink a 28-pixel image to 7 pixels before the first residual block. The
max-pool is kept (residual blocks start at 14 x 14), which costs a quarter of
the CIFAR-style variant without it and still trains to AUC ~0.96 on
PneumoniaMNIST on a shared 2-core CPU within minutes.

``save_model`` writes the weights and the configuration of a trained network; ``load_model`` reads
back any variant of it (fp32 or one written by ``lepton imaging optimize``).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from apps.imaging.probability_calibration import Calibrator

ARCHITECTURES = ("resnet18", "densenet121")
MEAN, STD = 0.5, 0.5
ARTIFACT_CONFIG = "imaging.json"
ARTIFACT_WEIGHTS = "model.pt"


@dataclass
class ModelConfig:
    """Everything a predictor needs besides the weights; saved beside them as JSON."""

    arch: str = "resnet18"
    small_input: bool = True
    image_size: int = 28
    class_names: list[str] = field(default_factory=lambda: ["negative", "positive"])
    temperature: float = 1.0  #: the fitted temperature, also the calibrator of versions saved before ``calibration``
    threshold: float = 0.5
    target_sensitivity: float = 0.95
    calibration: dict[str, Any] = field(default_factory=dict)  #: ``Calibrator.to_json()`` of the chosen calibrator

    def calibrator(self) -> Calibrator:
        """The calibrator chosen on validation data (temperature scaling with ``temperature`` when none is stored)."""
        if self.calibration:
            return Calibrator.from_json(self.calibration)
        return Calibrator("temperature", {"temperature": self.temperature})

    def save(self, folder: Path) -> None:
        (folder / ARTIFACT_CONFIG).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, folder: Path) -> ModelConfig:
        return cls(**json.loads((folder / ARTIFACT_CONFIG).read_text()))



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


def augmentation(strength: float = 1.0) -> Any:
    """MONAI random transforms for one (1, H, W) image in [0, 1]: small affine moves, contrast, noise, each
    range scaled by ``strength`` (what ``tune`` searches; 1 is the recipe's)."""
    from monai.transforms import Compose, RandAdjustContrast, RandAffine, RandGaussianNoise

    if strength < 0:
        raise ValueError(f"the augmentation strength must not be negative, not {strength}")
    s = strength
    return Compose([
        RandAffine(prob=0.7, rotate_range=0.15 * s, translate_range=(2 * s, 2 * s), scale_range=(0.1 * s, 0.1 * s),
                   padding_mode="border"),
        RandAdjustContrast(prob=0.3, gamma=(0.8 ** s, 1.25 ** s)),
        RandGaussianNoise(prob=0.3, std=0.02 * s),
    ])


class ImageDataset(torch.utils.data.Dataset):
    """(image, label) pairs; augmented when ``augment`` (training only).

    Each item's augmentation is seeded from torch's generator, not from a state of its own, so a
    training resumed from a checkpoint (which restores torch's generator) augments as the
    uninterrupted one would have.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, augment: bool = False,
                 strength: float = 1.0) -> None:
        self.images = images
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.transform = augmentation(strength) if augment else None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.as_tensor(self.images[i], dtype=torch.float32).unsqueeze(0)
        if self.transform is not None:
            self.transform.set_random_state(seed=int(torch.randint(0, 2**31 - 1, ())))
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


# -- artifact ----------------------------------------------------------------------
def save_model(folder: Path, model: nn.Module, cfg: ModelConfig) -> None:
    """The trained network's weights (on the CPU) and its configuration, into ``folder``."""
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, folder / ARTIFACT_WEIGHTS)
    cfg.save(folder)


def load_model(folder: Path, device: str | None = None) -> tuple[nn.Module, ModelConfig]:
    """Network and configuration of one registered version, in eval mode on ``device``
    (auto | cpu | cuda; None means the ``LEPTON_DEVICE`` setting).

    The one factory for every variant: a plain fp32 artifact, or one written by
    ``lepton imaging optimize`` (pruned, int8, onnx, onnx-int8, bf16, fp16; its
    ``optimisation.json`` says which, see :mod:`apps.imaging.variants`). Every variant takes
    normalised float32 images and returns float32 logits; int8 runs on the CPU whatever ``device``.
    """
    from apps.imaging.variants import ARTIFACT_INT8, ARTIFACT_ONNX, load_int8
    from lepton_shared.errors import NotFoundError
    from lepton_shared.optimize import read_optimisation
    from lepton_shared.optimize.methods import PrecisionModule
    from lepton_shared.training.trainer import resolve_device

    record = read_optimisation(folder)
    method = record["method"] if record else "fp32"
    files = {"int8": ARTIFACT_INT8, "onnx": ARTIFACT_ONNX, "onnx-int8": ARTIFACT_ONNX}
    weights = folder / files.get(method, ARTIFACT_WEIGHTS)
    if not weights.exists():
        raise NotFoundError(f"{folder} holds no imaging model ({weights.name} missing)")
    cfg = ModelConfig.load(folder)
    target = resolve_device(device)
    if method in ("onnx", "onnx-int8"):
        from lepton_shared.optimize.methods import OnnxModule

        return OnnxModule(weights, device=target.type).eval(), cfg
    model = build_network(cfg.arch, None, cfg.small_input, num_classes=len(cfg.class_names), quiet=True)
    if method == "int8":
        return load_int8(model.eval(), cfg.image_size, weights), cfg
    if method in ("bf16", "fp16"):
        from lepton_shared.optimize.methods import CAST_DTYPES, check_cast_supported

        check_cast_supported(method, target.type)
        dtype = CAST_DTYPES[method]
        model.to(dtype).load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        return PrecisionModule(model, dtype).to(target).eval(), cfg
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.to(target).eval()
    return model, cfg
