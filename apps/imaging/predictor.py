"""The loaded model that answers: calibrated probabilities, the decision, and (for /v1/diagnose) Grad-CAM."""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from apps.imaging.calibration import softmax
from apps.imaging.explain import grad_cam, overlay_png
from apps.imaging.network import build_network, cam_layer, to_tensor
from apps.imaging.readers import ImageRecord, read_bytes, resize
from apps.imaging.training import ARTIFACT_WEIGHTS, ModelConfig
from lepton_shared.errors import NotFoundError, UserError
from lepton_shared.registry import ModelInfo
from lepton_shared.serving import Predictor


def load_model(folder: Path, device: str = "cpu") -> tuple[nn.Module, ModelConfig]:
    """Weights and configuration of one registered version, in eval mode."""
    from lepton_shared.training.trainer import resolve_device

    if not (folder / ARTIFACT_WEIGHTS).exists():
        raise NotFoundError(f"{folder} holds no imaging model ({ARTIFACT_WEIGHTS} missing)")
    cfg = ModelConfig.load(folder)
    model = build_network(cfg.arch, None, cfg.small_input, num_classes=len(cfg.class_names), quiet=True)
    model.load_state_dict(torch.load(folder / ARTIFACT_WEIGHTS, map_location="cpu", weights_only=True))
    model.to(resolve_device(device)).eval()
    return model, cfg


class ImageInput(BaseModel):
    """One image, base64-encoded file bytes (PNG, JPEG, DICOM or NIfTI)."""

    model_config = ConfigDict(extra="forbid")
    image_base64: str = Field(min_length=1, description="the file's bytes, base64-encoded")
    filename: str = Field(default="upload", max_length=255, description="optional name, a hint for the format")
    slice_index: int | None = Field(default=None, ge=0, description="NIfTI volumes: slice to read (default middle)")


def _example_png() -> bytes:
    """A synthetic image with opacities, as PNG bytes (the documented example request)."""
    import io

    from PIL import Image

    from apps.imaging.synthetic import synth_image

    pixels = synth_image(1, np.random.default_rng(7), 64)
    buf = io.BytesIO()
    Image.fromarray((pixels * 255).round().astype(np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()


class ImagingPredictor(Predictor):
    app_name: ClassVar[str] = "imaging"
    InputModel: ClassVar[type[BaseModel]] = ImageInput

    def __init__(self, info: ModelInfo, device: str = "cpu") -> None:
        super().__init__(info.version)
        self.info = info
        self.model, self.cfg = load_model(info.path, device)
        self.device = next(self.model.parameters()).device
        self._cam_lock = threading.Lock()  # Grad-CAM hooks the model: one map at a time

    # -- decoding -----------------------------------------------------------
    @staticmethod
    def decode(item: ImageInput) -> bytes:
        try:
            return base64.b64decode(item.image_base64, validate=True)
        except (binascii.Error, ValueError):
            raise UserError("image_base64 is not valid base64") from None

    def _prepare(self, record: ImageRecord) -> np.ndarray:
        return resize(record.pixels, self.cfg.image_size)

    def _answer(self, proba: np.ndarray) -> dict[str, Any]:
        names = self.cfg.class_names
        positive = float(proba[1])
        decision = names[1] if positive >= self.cfg.threshold else names[0]
        return {
            "label": decision,
            "probabilities": {names[i]: round(float(p), 6) for i, p in enumerate(proba)},
            "positive_probability": round(positive, 6),
            "threshold": round(self.cfg.threshold, 6),
            "model_version": self.version,
        }

    # -- the Predictor interface ----------------------------------------------
    def predict_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        images = [self._prepare(read_bytes(self.decode(i), i.filename, i.slice_index)) for i in items]
        return [self._answer(p) for p in self.probabilities(np.stack(images))]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (n, 2) for images (n, size, size) in [0, 1]."""
        with torch.no_grad():
            logits = self.model(to_tensor(images).to(self.device)).float().cpu().numpy()
        return softmax(logits, self.cfg.temperature)

    @classmethod
    def example_input(cls) -> dict[str, Any]:
        return {"image_base64": base64.b64encode(_example_png()).decode(), "filename": "example.png"}

    # -- diagnosis with explanation --------------------------------------------
    def diagnose(self, data: bytes, filename: str = "upload", slice_index: int | None = None) -> dict[str, Any]:
        """Prediction plus a Grad-CAM overlay (PNG, base64) and what the audit trail stores."""
        record = read_bytes(data, filename, slice_index)
        image = self._prepare(record)
        answer = self._answer(self.probabilities(image[None])[0])
        x = to_tensor(image[None]).to(self.device)
        with self._cam_lock:
            heat = grad_cam(self.model, x, cam_layer(self.cfg.arch), class_index=1)
        display = resize(record.pixels, 256) if max(record.pixels.shape) >= 64 else image
        answer["heatmap_png_base64"] = base64.b64encode(overlay_png(display, resize(heat, display.shape[0])))\
            .decode()
        answer["input_sha256"] = hashlib.sha256(data).hexdigest()
        answer["format"] = record.format
        answer["study_uid"] = record.meta.get("study_uid")
        answer["series_uid"] = record.meta.get("series_uid")
        answer["patient_hash"] = record.meta.get("patient_hash")
        return answer
