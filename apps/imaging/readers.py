"""Read the image files a clinic actually has into one float array in [0, 1].

Every reader returns a 2-D ``float32`` array scaled to [0, 1] plus metadata; a
file that is truncated, corrupt or of an unknown type raises a one-sentence
:class:`UserError` (CLI exit 2, HTTP 400), never a library traceback.
A small file can describe a huge image (a 79 KB PNG of zeros decodes to 81
megapixels, over 1 GB as floats; a .nii.gz of zeros shrinks 1000-fold), so sizes
are checked from the header before decoding: beyond :data:`MAX_PIXELS` or
:data:`MAX_NIFTI_BYTES` a file is a :class:`TooLargeError` (HTTP 413). The budgets,
and decoding with as few full-size copies as possible (conversions in place, one
slice of a volume), keep one upload under 200 MB of a server's peak memory.
DICOM patient identifiers never leave this module in clear text: only a salted
hash (``LEPTON_ID_SALT``) does, because they are personal data.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lepton_shared.errors import TooLargeError, UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
DICOM_SUFFIXES = (".dcm", ".dicom")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
ALL_SUFFIXES = IMAGE_SUFFIXES + DICOM_SUFFIXES + NIFTI_SUFFIXES

#: the most pixels an image (all frames and samples of a DICOM) may have: 4096 x 4096, above a 3000 x 3000 chest
#: X-ray or a 3328 x 4096 mammogram; as float32 that is 64 MiB, and decoding takes about twice that at its peak
MAX_PIXELS = 4096 * 4096
#: the most bytes a NIfTI file's header may declare for its voxels, checked before any of them is decompressed:
#: a 256 x 256 x 256 int16 MRI (32 MiB); a larger volume seldom fits a 10 MB upload even gzip-compressed
MAX_NIFTI_BYTES = 32 * 1024 * 1024
#: the header of a NIfTI-1 file, and the 4 bytes after it that say whether extensions follow
NIFTI_HEADER_BYTES = 352


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
    """Min-max scaled to [0, 1], in place when ``arr`` is already a float32 array of its own."""
    arr = np.asarray(arr, dtype=np.float32)
    if not arr.flags.writeable:
        arr = arr.copy()
    if not np.isfinite(arr).all():
        np.nan_to_num(arr, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(arr.min()), float(arr.max())
    if hi - lo < 1e-8:
        arr.fill(0.0)
        return arr
    arr -= lo
    arr /= hi - lo
    return arr


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
            gray = img.convert("L") if img.mode not in ("L", "I", "I;16", "F") else img
            if gray is not img:
                img.close()  # an RGB image is 4 bytes a pixel inside Pillow: gone before the float copy is made
            mode = gray.mode
            native = np.asarray(gray)
            gray.close()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLargeError(f"{name} claims far more pixels than the limit of {MAX_PIXELS:,} pixels "
                            "(a decompression bomb?); send a downscaled image") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UserError(f"{name} is not a readable PNG/JPEG image ({exc.__class__.__name__}): "
                        "the file may be truncated or of another type") from None
    if native.ndim != 2 or min(native.shape) < 2:
        raise UserError(f"{name} has no usable 2-D pixel data (shape {native.shape})")
    arr = native.astype(np.float32)
    del native
    arr *= 1.0 / (255.0 if mode == "L" else max(1.0, float(arr.max())))
    np.clip(arr, 0, 1, out=arr)
    return ImageRecord(arr, fmt, {"shape": list(arr.shape)})


def read_dicom(data: bytes, name: str = "image.dcm", window: tuple[float, float] | None = None) -> ImageRecord:
    """Pixels with rescale slope/intercept and the file's (or the given) window applied."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        _check_dicom_pixels(ds, name)
        stored = ds.pixel_array
        shape = stored.shape
        if stored.ndim == 3:  # multi-frame or RGB: take the middle frame / the luminance
            stored = stored.mean(axis=-1, dtype=np.float32) if shape[-1] in (3, 4) else stored[shape[0] // 2]
        raw = stored.astype(np.float32)
        del stored
    except UserError:
        raise
    except InvalidDicomError:
        raise UserError(f"{name} is not a DICOM file (no DICM header)") from None
    except Exception as exc:
        raise UserError(f"{name} is a damaged or unsupported DICOM file ({exc.__class__.__name__}: "
                        f"{_reason(exc)})") from None
    if raw.ndim != 2:
        raise UserError(f"{name} has no 2-D pixel data (shape {shape})")
    slope = float(getattr(ds, "RescaleSlope", 1) or 1)
    intercept = float(getattr(ds, "RescaleIntercept", 0) or 0)
    values = raw  # rescaled and windowed in place: each step would otherwise be another full-size copy
    values *= slope
    values += intercept
    if window is None and "WindowCenter" in ds and "WindowWidth" in ds:
        center, width = ds.WindowCenter, ds.WindowWidth
        center = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
        width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
        window = (center, width)
    if window is not None and window[1] > 0:
        lo, hi = window[0] - window[1] / 2, window[0] + window[1] / 2
        values -= lo
        values /= hi - lo
        pixels = np.clip(values, 0, 1, out=values)
    else:
        pixels = _scale01(values)
    if str(getattr(ds, "PhotometricInterpretation", "")) == "MONOCHROME1":
        np.subtract(1.0, pixels, out=pixels)
    meta: dict[str, Any] = {
        "shape": list(shape),
        "study_uid": str(ds.get("StudyInstanceUID", "")) or None,
        "series_uid": str(ds.get("SeriesInstanceUID", "")) or None,
        "modality": str(ds.get("Modality", "")) or None,
        "window": list(window) if window else None,
    }
    patient = str(ds.get("PatientID", "") or "")
    meta["patient_hash"] = salted_hash(patient) if patient else None
    return ImageRecord(pixels, "dicom", meta)


def _check_dicom_pixels(ds: Any, name: str) -> None:
    """Every frame and sample counts: a compressed multi-frame file of a few MB can decode to gigabytes."""
    cols, rows = int(ds.get("Columns", 0) or 0), int(ds.get("Rows", 0) or 0)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if rows * cols * frames * samples > MAX_PIXELS:
        raise TooLargeError(f"{name} holds {frames} frame(s) of {cols} x {rows} pixels x {samples} sample(s), over "
                            f"the limit of {MAX_PIXELS:,} pixels; send a single downscaled frame")


def _inflate(data: bytes, name: str) -> io.BytesIO:
    """The gzip-compressed NIfTI, decompressed a chunk at a time: first its header, then only the bytes the
    header declares, so neither a bomb of zeros nor a lying header costs more than the budget."""
    inflater = zlib.decompressobj(wbits=31)
    out = io.BytesIO()
    pending = data

    def more(count: int) -> None:  # up to ``count`` bytes more; fewer when the stream ends (nibabel then says so)
        nonlocal pending
        while count > 0 and not inflater.eof:
            chunk = inflater.decompress(pending, min(count, 2**20))
            pending = inflater.unconsumed_tail
            if not chunk:
                return
            out.write(chunk)
            count -= len(chunk)

    try:
        more(NIFTI_HEADER_BYTES)
        end = _nifti_data_end(out.getvalue(), name)  # refuses before inflating the rest
        more(end - out.tell())
    except zlib.error as exc:
        raise UserError(f"{name} is not a readable gzip file ({_reason(exc)})") from None
    out.seek(0)
    return out


def _nifti_data_end(head: bytes, name: str) -> int:
    """Where the voxels the header declares end, in bytes; over :data:`MAX_NIFTI_BYTES` of them is a
    :class:`TooLargeError` (a header alone is enough to tell)."""
    import nibabel as nib

    try:
        header = nib.Nifti1Header.from_fileobj(io.BytesIO(head[:348]), check=True)
        shape = header.get_data_shape()
        itemsize = header.get_data_dtype().itemsize
        offset = int(header.get_data_offset())
    except Exception as exc:
        raise UserError(f"{name} is not a readable NIfTI file ({exc.__class__.__name__}: {_reason(exc)})") \
            from None
    voxels = int(np.prod(shape, dtype=object)) * itemsize
    if voxels > MAX_NIFTI_BYTES:
        dims = " x ".join(str(n) for n in shape)
        raise TooLargeError(f"{name} declares {dims} voxels ({voxels / 2**20:,.0f} MiB), over the limit of "
                            f"{MAX_NIFTI_BYTES // 2**20} MiB for a NIfTI file; send the slice or a smaller volume")
    return max(offset, NIFTI_HEADER_BYTES) + voxels


def _plane_index(shape: tuple[int, ...], slice_index: int | None, name: str) -> tuple[tuple[Any, ...], int | None]:
    """The index that reads one 2-D plane of the volume (its singleton axes dropped): the whole image, or one
    axial slice (the middle one unless ``slice_index``), so only that plane is converted to floats."""
    axes = [i for i, n in enumerate(shape) if n != 1]
    index: list[Any] = [0 if n == 1 else slice(None) for n in shape]
    if len(axes) == 2:
        return tuple(index), None
    if len(axes) != 3:
        raise UserError(f"{name} has {len(axes)} dimensions; only 2-D images and 3-D volumes are supported")
    depth = shape[axes[2]]
    chosen = depth // 2 if slice_index is None else slice_index
    if not 0 <= chosen < depth:
        raise UserError(f"slice {chosen} is outside {name}, which has {depth} slices (0..{depth - 1})")
    index[axes[2]] = chosen
    return tuple(index), chosen


def read_nifti(data: bytes, name: str = "image.nii", slice_index: int | None = None) -> ImageRecord:
    """A 2-D image, or one axial slice (the middle one unless ``slice_index``) of a 3-D volume."""
    import nibabel as nib

    try:
        stream = _inflate(data, name) if data[:2] == b"\x1f\x8b" else io.BytesIO(data)
        if data[:2] != b"\x1f\x8b":
            _nifti_data_end(data[:NIFTI_HEADER_BYTES], name)
        holder = nib.fileholders.FileHolder(fileobj=stream)
        img = nib.Nifti1Image.from_file_map({"header": holder, "image": holder})
        shape = tuple(int(n) for n in img.shape)
        index, chosen = _plane_index(shape, slice_index, name)
        # NIfTI stores (x, y): transposed so rows are y, as in the PNG/DICOM readers (a float copy of its own)
        plane = np.array(np.asarray(img.dataobj[index]).T, dtype=np.float32, order="C")
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{name} is not a readable NIfTI file ({exc.__class__.__name__}: {_reason(exc)})") \
            from None
    squeezed = [n for n in shape if n != 1]
    return ImageRecord(_scale01(plane), "nifti", {"shape": squeezed, "slice": chosen})


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

    # no float copy of a float32 image: at 4096 x 4096 each one is 64 MiB
    out = Resize((size, size), mode="area")(pixels[None].astype(np.float32, copy=False))  # type: ignore[arg-type]
    return np.asarray(out, dtype=np.float32)[0]
