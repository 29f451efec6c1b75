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
from pydantic import BaseModel, Field
from torch import nn

from apps.imaging.explain import grad_cam, overlay_png
from apps.imaging.model import cam_layer, load_model, to_tensor
from apps.imaging.readers import ImageRecord, read_bytes, resize
from apps.imaging.variants import model_device
from lepton_shared.errors import NotFoundError, UserError
from lepton_shared.registry import ModelInfo
from lepton_shared.serving import Predictor, RequestModel


def fp32_source_folder(folder: Path) -> Path:
    """The artifact folder of the nearest version, ``folder`` itself or one it was optimised from, whose
    network is a float PyTorch module autograd can differentiate (fp32 or pruned)."""
    from apps.imaging.variants import DIFFERENTIABLE
    from lepton_shared.optimize import read_optimisation
    from lepton_shared.registry import Registry

    seen: set[Path] = set()
    while (record := read_optimisation(folder)) is not None and record.get("method") not in DIFFERENTIABLE:
        seen.add(folder)
        try:
            folder = Registry().get("imaging", record["optimised_from"]).path
        except NotFoundError:
            folder = Path(record.get("source_path", ""))
        if folder in seen or not folder.is_dir():
            raise NotFoundError(f"the fp32 version {record.get('optimised_from')} this model was optimised from "
                                "is gone; Grad-CAM needs its weights")
    return folder


class ImageInput(RequestModel):
    """One image, base64-encoded file bytes (PNG, JPEG, DICOM or NIfTI)."""

    image_base64: str = Field(min_length=1, description="the file's bytes, base64-encoded")
    filename: str = Field(default="upload", max_length=255, description="optional name, a hint for the format")
    slice_index: int | None = Field(default=None, ge=0, description="NIfTI volumes: slice to read (default middle)")


def _example_png() -> bytes:
    """A synthetic image with opacities, as PNG bytes (the documented example request)."""
    import io

    from PIL import Image

    from apps.imaging.data import synth_image

    pixels = synth_image(1, np.random.default_rng(7), 64)
    buf = io.BytesIO()
    Image.fromarray((pixels * 255).round().astype(np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()


class ImagingPredictor(Predictor):
    app_name: ClassVar[str] = "imaging"
    InputModel: ClassVar[type[BaseModel]] = ImageInput

    def __init__(self, info: ModelInfo, device: str | None = None) -> None:
        """``device``: auto | cpu | cuda; None means the ``LEPTON_DEVICE`` setting (auto: the GPU when present)."""
        from lepton_shared.optimize import read_optimisation
        from lepton_shared.serving.device import serving_device
        from lepton_shared.serving.threads import serving_threads

        super().__init__(info.version)
        self.info = info
        self._device_name = serving_device(device).type
        self.model, self.cfg = load_model(info.path, self._device_name)
        self.device = model_device(self.model)
        self.optimisation = read_optimisation(info.path)  # None for a plain fp32 version
        self.threads = serving_threads("imaging")  # torch CPU threads per request or batch (LEPTON_IMAGING_THREADS)
        self._cam_model: nn.Module | None = None
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
        if torch.get_num_threads() != self.threads:  # per worker thread: OpenMP settings are thread-local
            torch.set_num_threads(self.threads)
        with torch.no_grad():
            logits = self.model(to_tensor(images).to(self.device)).float().cpu().numpy()
        return self.cfg.calibrator().proba(logits)

    @classmethod
    def example_input(cls) -> dict[str, Any]:
        return {"image_base64": base64.b64encode(_example_png()).decode(), "filename": "example.png"}

    # -- diagnosis with explanation --------------------------------------------
    def gradient_model(self) -> nn.Module:
        """The network Grad-CAM differentiates.

        A plain fp32 or a pruned version uses its own network. An int8, ONNX, ONNX-int8, bf16 or
        fp16 version cannot give (exact) gradients, so its heat map is computed with the fp32
        weights of the version it was optimised from (``optimised_from`` in its
        ``optimisation.json``, followed further back if that one is optimised too), loaded lazily
        on the first diagnosis and kept. The label and probabilities still come from the
        optimised network; the heat map explains the fp32 network it approximates.
        """
        from apps.imaging.variants import DIFFERENTIABLE

        method = (self.optimisation or {}).get("method", "fp32")
        if method in DIFFERENTIABLE:
            return self.model
        if self._cam_model is None:
            self._cam_model, _ = load_model(fp32_source_folder(self.info.path), self._device_name)
        return self._cam_model

    def diagnose(self, data: bytes, filename: str = "upload", slice_index: int | None = None) -> dict[str, Any]:
        """Prediction plus a Grad-CAM overlay (PNG, base64) and what the audit trail stores."""
        record = read_bytes(data, filename, slice_index)
        image = self._prepare(record)
        answer = self._answer(self.probabilities(image[None])[0])
        with self._cam_lock:
            cam_model = self.gradient_model()
            x = to_tensor(image[None]).to(model_device(cam_model))
            heat = grad_cam(cam_model, x, cam_layer(self.cfg.arch), class_index=1)
        display = resize(record.pixels, 256) if max(record.pixels.shape) >= 64 else image
        answer["heatmap_png_base64"] = base64.b64encode(overlay_png(display, resize(heat, display.shape[0])))\
            .decode()
        answer["input_sha256"] = hashlib.sha256(data).hexdigest()
        answer["format"] = record.format
        answer["study_uid"] = record.meta.get("study_uid")
        answer["series_uid"] = record.meta.get("series_uid")
        answer["patient_hash"] = record.meta.get("patient_hash")
        return answer
