"""Read the image files a clinic actually has into one float array in [0, 1].

Every reader returns a 2-D ``float32`` array scaled to [0, 1] plus metadata; a
file that is truncated, corrupt or of an unknown type raises a one-sentence
:class:`UserError` (CLI exit 2, HTTP 400), never a library traceback.
A small file can describe a huge image (a 79 KB PNG of zeros decodes to 81
megapixels, over 1 GB as floats; a .nii.gz of zeros shrinks 1000-fold), so sizes
are checked before decoding: beyond :data:`MAX_PIXELS` or :data:`MAX_NIFTI_BYTES`
a file is a :class:`TooLargeError` (HTTP 413).
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

from lepton_shared.errors import TooLargeError, UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
DICOM_SUFFIXES = (".dcm", ".dicom")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
ALL_SUFFIXES = IMAGE_SUFFIXES + DICOM_SUFFIXES + NIFTI_SUFFIXES

#: the most pixels an image (or a DICOM frame) may have: 40 megapixels, more than a large mammogram (~4000 x 5000)
MAX_PIXELS = 40_000_000
#: the most bytes a gzip-compressed NIfTI may decompress to (a 512 x 512 x 512 int16 CT volume is 256 MiB)
MAX_NIFTI_BYTES = 256 * 1024 * 1024


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


def _reason(exc: Exception) -> str:
    """A library's error text on one short line: it goes into a one-line user error (pydicom and nibabel
    messages span lines)."""
    return " ".join(str(exc).split())[:120]


def _check_pixels(width: int, height: int, name: str) -> None:
    if width * height > MAX_PIXELS:
        raise TooLargeError(f"{name} is {width} x {height} pixels, over the limit of {MAX_PIXELS:,} pixels; "
                            "send a downscaled image")


def read_pillow(data: bytes, name: str = "image") -> ImageRecord:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:  # reads the header only: the size is known before decoding
            _check_pixels(*img.size, name)
            img.load()
            fmt = (img.format or "image").lower()
            gray = img.convert("L") if img.mode not in ("I", "I;16", "F") else img
            arr = np.asarray(gray, dtype=np.float32)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLargeError(f"{name} claims far more pixels than the limit of {MAX_PIXELS:,} pixels "
                            "(a decompression bomb?); send a downscaled image") from None
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
        _check_pixels(int(ds.get("Columns", 0) or 0), int(ds.get("Rows", 0) or 0), name)
        raw = ds.pixel_array.astype(np.float32)
    except UserError:
        raise
    except InvalidDicomError:
        raise UserError(f"{name} is not a DICOM file (no DICM header)") from None
    except Exception as exc:
        raise UserError(f"{name} is a damaged or unsupported DICOM file ({exc.__class__.__name__}: "
                        f"{_reason(exc)})") from None
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


def _gunzip(data: bytes, name: str) -> bytes:
    """At most :data:`MAX_NIFTI_BYTES` of the decompressed file: reading one byte more tells that it is too large
    without decompressing the rest."""
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        raw = stream.read(MAX_NIFTI_BYTES + 1)
    if len(raw) > MAX_NIFTI_BYTES:
        raise TooLargeError(f"{name} decompresses to more than {MAX_NIFTI_BYTES // 2**20} MiB, the limit for a "
                            "NIfTI file")
    return raw


def read_nifti(data: bytes, name: str = "image.nii", slice_index: int | None = None) -> ImageRecord:
    """A 2-D image, or one axial slice (the middle one unless ``slice_index``) of a 3-D volume."""
    import nibabel as nib

    try:
        raw_bytes = _gunzip(data, name) if data[:2] == b"\x1f\x8b" else data
        img = nib.Nifti1Image.from_bytes(raw_bytes)
        volume = np.asarray(img.dataobj, dtype=np.float32)
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{name} is not a readable NIfTI file ({exc.__class__.__name__}: {_reason(exc)})") \
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
