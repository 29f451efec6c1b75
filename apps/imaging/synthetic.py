"""Built-in data: synthetic chest-like images written as PNG, DICOM and NIfTI by the project itself.

Every image has two darker "lung" fields in a brighter body outline, texture
noise and a random global contrast. "Opacity" images add one to three bright,
soft blobs inside a lung field (what consolidation looks like on an X-ray),
so the task is learnable but not trivial, and a Grad-CAM map should point at
the blobs. Each file format goes through its real writer (Pillow, pydicom,
nibabel) so the readers are tested on genuine files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

CLASS_NAMES = ["normal", "opacity"]
FORMATS = ("png", "dcm", "nii.gz")


def synth_image(label: int, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """One synthetic image in [0, 1]; ``label`` 1 adds opacity blobs."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    body = np.exp(-(((xx - 0.5) / 0.42) ** 2 + ((yy - 0.55) / 0.5) ** 2) ** 2)
    img = 0.25 + 0.45 * body
    lungs = []
    for side in (-1, 1):
        cx = 0.5 + side * rng.uniform(0.17, 0.22)
        cy = rng.uniform(0.45, 0.55)
        rx, ry = rng.uniform(0.11, 0.15), rng.uniform(0.22, 0.28)
        lung = np.exp(-((((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2) ** 2))
        img -= 0.35 * lung
        lungs.append((cx, cy, rx, ry))
    if label == 1:
        for _ in range(rng.integers(1, 4)):
            cx, cy, rx, ry = lungs[rng.integers(0, 2)]
            bx = cx + rng.uniform(-0.6, 0.6) * rx
            by = cy + rng.uniform(-0.6, 0.6) * ry
            r = rng.uniform(0.04, 0.08)
            img += rng.uniform(0.18, 0.3) * np.exp(-(((xx - bx) ** 2 + (yy - by) ** 2) / (2 * r * r)))
    img += rng.normal(0, 0.04, img.shape)
    img = img * rng.uniform(0.85, 1.15) + rng.uniform(-0.05, 0.05)
    return np.clip(img, 0, 1).astype(np.float32)


def write_png(pixels: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray((pixels * 255).round().astype(np.uint8), mode="L").save(path)


def write_dicom(pixels: np.ndarray, path: Path, patient_id: str = "SYNTH-0001", study_uid: str | None = None,
                slope: float = 1.0, intercept: float = -1024.0) -> None:
    """A valid DICOM (Secondary Capture) with stored values = (HU - intercept) / slope and a window."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    hu = pixels * 2000.0 - 1000.0  # pretend Hounsfield units in [-1000, 1000]
    stored = np.round((hu - intercept) / slope).clip(0, 65535).astype(np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = patient_id
    ds.PatientName = "Synthetic^Patient"
    ds.Modality = "OT"
    ds.StudyDate = dt.date.today().strftime("%Y%m%d")
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    ds.WindowCenter = 0
    ds.WindowWidth = 2000
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)


def write_nifti(pixels: np.ndarray, path: Path, depth: int = 1) -> None:
    """2-D image (``depth`` 1) or a 3-D volume whose middle slice is the image."""
    import nibabel as nib

    plane = pixels.T.astype(np.float32)  # NIfTI is (x, y)
    if depth > 1:
        vol = np.zeros((*plane.shape, depth), dtype=np.float32)
        vol[:, :, depth // 2] = plane
        data = vol
    else:
        data = plane
    nib.save(nib.Nifti1Image(data, affine=np.eye(4)), str(path))


def generate(root: Path, n: int = 400, size: int = 64, seed: int = 0) -> Path:
    """Write ``n`` labelled images (balanced, formats rotating) into ``root/<class>/``; idempotent."""
    done = root / "manifest.json"
    if done.exists():
        return root
    rng = np.random.default_rng(seed)
    root.parent.mkdir(parents=True, exist_ok=True)
    # a private folder per writer: several processes (torchrun ranks) may generate at once
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    for name in CLASS_NAMES:
        (tmp / name).mkdir(parents=True, exist_ok=True)
    for i in tqdm(range(n), desc="generating built-in images", leave=False, dynamic_ncols=True):
        label = i % 2
        pixels = synth_image(label, rng, size)
        fmt = FORMATS[(i // 2) % len(FORMATS)]
        path = tmp / CLASS_NAMES[label] / f"img{i:05d}.{fmt}"
        if fmt == "png":
            write_png(pixels, path)
        elif fmt == "dcm":
            write_dicom(pixels, path, patient_id=f"SYNTH-{i:05d}")
        else:
            write_nifti(pixels, path)
    (tmp / "manifest.json").write_text(json.dumps({"n": n, "size": size, "seed": seed, "classes": CLASS_NAMES}))
    if root.exists() and not done.exists():  # left over from an interrupted older run
        shutil.rmtree(root, ignore_errors=True)
    try:
        os.rename(tmp, root)
    except OSError:  # another process finished first with the same (seeded, identical) images
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def builtin_dir(n: int, seed: int = 0) -> Path:
    """Where the built-in set of ``n`` images lives (under LEPTON_HOME/cache), generated on first use."""
    from lepton_shared.settings import get_settings

    return generate(get_settings().cache_dir / "imaging" / f"builtin-{n}-{seed}", n=n, seed=seed)
