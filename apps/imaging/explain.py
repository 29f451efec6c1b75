"""Grad-CAM heat maps (MONAI) and their overlay on the image, as PNG bytes."""

from __future__ import annotations

import io

import numpy as np
import torch
from torch import nn


def grad_cam(model: nn.Module, x: torch.Tensor, layer: str, class_index: int = 1) -> np.ndarray:
    """(H, W) map in [0, 1] of where ``class_index`` evidence lies, for one normalised (1, 1, H, W) input."""
    from monai.visualize import GradCAM

    model.eval()
    cam = GradCAM(nn_module=model, target_layers=layer)
    with torch.enable_grad():
        result = cam(x=x.clone().requires_grad_(True), class_idx=class_index)
    heat = np.asarray(result.detach().cpu(), dtype=np.float32)[0, 0]
    heat = np.nan_to_num(heat)
    lo, hi = float(heat.min()), float(heat.max())
    return ((heat - lo) / (hi - lo)).astype(np.float32) if hi - lo > 1e-8 else np.zeros_like(heat)


def overlay_png(pixels: np.ndarray, heat: np.ndarray, display: int = 256, alpha: float = 0.45) -> bytes:
    """The grey image with the heat map in a jet colour map on top, upscaled to ``display`` pixels."""
    from matplotlib import colormaps
    from PIL import Image

    base = Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode="L").resize(
        (display, display), Image.Resampling.BILINEAR).convert("RGB")
    heat_img = Image.fromarray((np.clip(heat, 0, 1) * 255).astype(np.uint8), mode="L").resize(
        (display, display), Image.Resampling.BILINEAR)
    coloured = (colormaps["jet"](np.asarray(heat_img) / 255.0)[:, :, :3] * 255).astype(np.uint8)
    blended = Image.blend(base, Image.fromarray(coloured, mode="RGB"), alpha)
    buf = io.BytesIO()
    blended.save(buf, format="PNG")
    return buf.getvalue()
