"""Typed configurations of ``lepton imaging train`` and ``evaluate``.

One field per option of ``ImagingApp.add_arguments``, named as its argparse destination and with the
same default (the options take their defaults from here). The CLI builds them with
``lepton_shared.config.from_args``; the page, the tests and the benchmarks build them directly,
e.g. ``ImagingTrainConfig(tiny=True, epochs=1)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lepton_shared.config import EvaluateConfig, TrainConfig

BUILTIN_IMAGES = 400
"""Size of the generated built-in set (``builtin_images``)."""
TINY_IMAGES = 60
"""Size of the built-in set with ``tiny``."""


MAX_BATCH = 64
MIN_STEPS_PER_EPOCH = 16


def auto_batch_size(n_train: int) -> int:
    """64, halved down to 8 until an epoch has at least 16 optimiser steps.

    A network trained from scratch needs steps, not epochs: the built-in set's 280 training images make 5
    batches of 64 per epoch, 40 steps in 8 epochs, too few to learn a texture (validation AUC stayed near 0.5),
    while batches of 16 learn it in the same epochs. Sets of 1,024 training images or more keep 64.
    """
    batch = MAX_BATCH
    while batch > 8 and n_train < MIN_STEPS_PER_EPOCH * batch:
        batch //= 2
    return batch


@dataclass
class ImagingEvaluateConfig(EvaluateConfig):
    """Without ``data``: the built-in set of the size the model was trained on."""


@dataclass
class ImagingTrainConfig(TrainConfig):
    tiny: bool = False  #: without ``data``: TINY_IMAGES built-in images (tests and smoke checks)
    builtin_images: int = BUILTIN_IMAGES  #: size of the generated built-in set
    arch: str = "resnet18"  #: backbone: torchvision ResNet-18 or MONAI DenseNet-121 (``densenet121``)
    #: local torchvision ResNet-18 state_dict for transfer learning; None: random initialisation
    weights: Path | None = None
    image_size: int = 28  #: images are resized to this square size (MedMNIST's)
    #: None: :func:`auto_batch_size` of the training split (64, fewer for small sets)
    batch_size: int | None = None
    lr: float = 2e-3  #: peak learning rate
    target_sensitivity: float = 0.95  #: sensitivity the operating threshold must reach on validation data
    no_augment: bool = False  #: train without MONAI augmentation
    #: scale of the augmentation's moves, contrast changes and noise (1: the recipe's; 0: none)
    augment_strength: float = 1.0
