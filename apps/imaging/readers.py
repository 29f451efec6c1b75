"""Read the image files a clinic actually has into one float array in [0, 1].

Every reader returns a 2-D ``float32`` array scaled to [0, 1] plus metadata; a
file that is truncated, corrupt or of an unknown type raises a one-sentence
:class:`UserError` (CLI exit 2, HTTP 400), never a library traceback.
DICOM patient identifiers never leave this module in clear text: only a salted
hash (``LEPTON_ID_SALT``) does, because they are personal data.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lepton_shared.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
DICOM_SUFFIXES = (".dcm", ".dicom")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
ALL_SUFFIXES = IMAGE_SUFFIXES + DICOM_SUFFIXES + NIFTI_SUFFIXES


@dataclass
class ImageRecord:
    """One decoded image: pixels in [0, 1] and what we know about where they came from."""

    pixels: np.ndarray
    format: str
    meta: dict[str, Any] = field(default_factory=dict)


def salted_hash(value: str) -> str:
    """A stable pseudonym for a personal identifier (the salt comes from the settings)."""
    from lepton_shared.settings import get_settings

    return hashlib.sha256(f"{get_settings().id_salt}:{value}".encode()).hexdigest()[:16]


def _scale01(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(arr.min()), float(arr.max())
    if hi - lo < 1e-8:
        return np.zeros_like(arr, dtype=np.float32)
    return ((arr - lo) / (hi - lo)).astype(np.float32)


def sniff_format(data: bytes, name: str = "") -> str:
    """``png``/``jpeg``/... (Pillow), ``dicom`` or ``nifti``, from the bytes first and the name second."""
    lower = name.lower()
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "dicom"
    if data[:2] == b"\x1f\x8b" or lower.endswith(NIFTI_SUFFIXES):
        return "nifti"
    if len(data) >= 348 and data[344:348] in (b"n+1\x00", b"ni1\x00"):
        return "nifti"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if lower.endswith(DICOM_SUFFIXES):
        return "dicom"
    if lower.endswith(IMAGE_SUFFIXES):
        return "image"
    return "unknown"


def read_pillow(data: bytes, name: str = "image") -> ImageRecord:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            fmt = (img.format or "image").lower()
            gray = img.convert("L") if img.mode not in ("I", "I;16", "F") else img
            arr = np.asarray(gray, dtype=np.float32)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UserError(f"{name} is not a readable PNG/JPEG image ({exc.__class__.__name__}): "
                        "the file may be truncated or of another type") from None
    if arr.ndim != 2 or min(arr.shape) < 2:
        raise UserError(f"{name} has no usable 2-D pixel data (shape {arr.shape})")
    maxval = 255.0 if gray.mode == "L" else max(1.0, float(arr.max()))
    return ImageRecord(np.clip(arr / maxval, 0, 1).astype(np.float32), fmt, {"shape": list(arr.shape)})


def read_dicom(data: bytes, name: str = "image.dcm", window: tuple[float, float] | None = None) -> ImageRecord:
    """Pixels with rescale slope/intercept and the file's (or the given) window applied."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        raw = ds.pixel_array.astype(np.float32)
    except InvalidDicomError:
        raise UserError(f"{name} is not a DICOM file (no DICM header)") from None
    except Exception as exc:
        raise UserError(f"{name} is a damaged or unsupported DICOM file ({exc.__class__.__name__}: "
                        f"{str(exc)[:120]})") from None
    if raw.ndim == 3:  # multi-frame or RGB: take the middle frame / the luminance
        raw = raw.mean(axis=-1) if raw.shape[-1] in (3, 4) else raw[raw.shape[0] // 2]
    if raw.ndim != 2:
        raise UserError(f"{name} has no 2-D pixel data (shape {raw.shape})")
    slope = float(getattr(ds, "RescaleSlope", 1) or 1)
    intercept = float(getattr(ds, "RescaleIntercept", 0) or 0)
    values = raw * slope + intercept
    if window is None and "WindowCenter" in ds and "WindowWidth" in ds:
        center, width = ds.WindowCenter, ds.WindowWidth
        center = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
        window = (center, width)
    if window is not None and window[1] > 0:
        lo, hi = window[0] - window[1] / 2, window[0] + window[1] / 2
        pixels = np.clip((values - lo) / (hi - lo), 0, 1).astype(np.float32)
    else:
        pixels = _scale01(values)
    if str(getattr(ds, "PhotometricInterpretation", "")) == "MONOCHROME1":
        pixels = 1.0 - pixels
    meta: dict[str, Any] = {
        "shape": list(raw.shape),
        "study_uid": str(ds.get("StudyInstanceUID", "")) or None,
        "series_uid": str(ds.get("SeriesInstanceUID", "")) or None,
        "modality": str(ds.get("Modality", "")) or None,
        "window": list(window) if window else None,
    }
    patient = str(ds.get("PatientID", "") or "")
    meta["patient_hash"] = salted_hash(patient) if patient else None
    return ImageRecord(pixels, "dicom", meta)


def read_nifti(data: bytes, name: str = "image.nii", slice_index: int | None = None) -> ImageRecord:
    """A 2-D image, or one axial slice (the middle one unless ``slice_index``) of a 3-D volume."""
    import nibabel as nib

    try:
        raw_bytes = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        img = nib.Nifti1Image.from_bytes(raw_bytes)
        volume = np.asarray(img.dataobj, dtype=np.float32)
    except Exception as exc:
        raise UserError(f"{name} is not a readable NIfTI file ({exc.__class__.__name__}: {str(exc)[:120]})") \
            from None
    volume = np.squeeze(volume)
    if volume.ndim == 2:
        plane, chosen = volume, None
    elif volume.ndim == 3:
        depth = volume.shape[2]
        chosen = depth // 2 if slice_index is None else slice_index
        if not 0 <= chosen < depth:
            raise UserError(f"slice {chosen} is outside {name}, which has {depth} slices (0..{depth - 1})")
        plane = volume[:, :, chosen]
    else:
        raise UserError(f"{name} has {volume.ndim} dimensions; only 2-D images and 3-D volumes are supported")
    # NIfTI stores (x, y): transpose so rows are y, as in the PNG/DICOM readers.
    return ImageRecord(_scale01(plane.T), "nifti", {"shape": list(volume.shape), "slice": chosen})


def read_bytes(data: bytes, name: str = "upload", slice_index: int | None = None) -> ImageRecord:
    """Decode any supported file from its bytes (uploads arrive this way)."""
    if not data:
        raise UserError(f"{name} is empty")
    fmt = sniff_format(data, name)
    if fmt == "dicom":
        return read_dicom(data, name)
    if fmt == "nifti":
        return read_nifti(data, name, slice_index)
    if fmt in ("png", "jpeg", "image"):
        return read_pillow(data, name)
    raise UserError(f"{name}: unsupported file type; send PNG, JPEG, DICOM (.dcm) or NIfTI (.nii/.nii.gz)")


def read_file(path: Path, slice_index: int | None = None) -> ImageRecord:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"image file not found: {path}")
    return read_bytes(path.read_bytes(), path.name, slice_index)


def resize(pixels: np.ndarray, size: int) -> np.ndarray:
    """Square ``size`` x ``size`` with area interpolation (MONAI ``Resize``)."""
    if pixels.shape == (size, size):
        return pixels.astype(np.float32)
    from monai.transforms import Resize

    out = Resize((size, size), mode="area")(pixels[None].astype(np.float32))  # type: ignore[arg-type]
    return np.asarray(out, dtype=np.float32)[0]
