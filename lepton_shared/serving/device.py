"""Where a service's torch model answers: ``LEPTON_DEVICE`` (auto: the GPU when present, else the CPU)."""

from __future__ import annotations

import torch


def serving_device(device: str | None = None) -> torch.device:
    """``device`` (auto | cpu | cuda) when given, else the ``LEPTON_DEVICE`` setting, resolved.

    ``auto`` is CUDA when a GPU is present and the CPU otherwise; ``cuda`` without a GPU
    and unknown names are a :class:`~lepton_shared.errors.UserError` naming the setting.
    """
    from lepton_shared.training.trainer import resolve_device

    return resolve_device(device)
