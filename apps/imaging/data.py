"""The imaging app's data: labelled image sets from files, and the built-in synthetic set.

Loaders: MedMNIST ``.npz`` files and folders with one sub-folder per class. Everything is loaded into
memory as ``(n, size, size)`` float32 arrays in [0, 1] plus integer labels, split into train / val /
test. Files that cannot be read are a :class:`UserError` naming the file, so a user fixes the data
rather than reading a traceback.

Built-in data: synthetic chest-like images written as PNG, DICOM and NIfTI by the project itself.
Every image has two darker "lung" fields in a brighter body outline, texture noise and a random
global contrast, and one to three soft bright patches inside the lung fields (overlapping vessels and
tissue). In "opacity" images the patches are brighter and mottled, as consolidation looks on an X-ray.
Much of the class lies in a texture at a random place, which a convolutional network learns and a linear
model of the pixels cannot: on the 400-image set the network scores ROC AUC 1.000 and the pixel
logistic-regression baseline about 0.7. (Plain bright blobs only in opacity images let that baseline score
1.000, so the home card argued against the network.) A Grad-CAM map should point at the mottled patches.
Each file format goes through its real writer (Pillow, pydicom, nibabel) so the readers are tested on
genuine files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from tqdm.auto import tqdm

from apps.imaging.readers import ALL_SUFFIXES, read_file, resize
from lepton_shared.errors import UserError

SPLITS = ("train", "val", "test")
MEDMNIST_LABELS = {"pneumoniamnist": ["normal", "pneumonia"], "breastmnist": ["malignant", "normal/benign"]}
CLASS_NAMES = ["normal", "opacity"]
"""The built-in set's classes."""
FORMATS = ("png", "dcm", "nii.gz")
"""The file formats the built-in set rotates through."""


@dataclass
class Split:
    images: np.ndarray  # (n, size, size) float32 in [0, 1]
    labels: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class ImageSet:
    splits: dict[str, Split]
    class_names: list[str]
    source: str

    def split(self, name: str) -> Split:
        if name not in self.splits:
            raise UserError(f"{self.source} has no {name!r} split (it has: {', '.join(self.splits)})")
        return self.splits[name]


def _check_binary(labels: np.ndarray, source: str) -> None:
    found = sorted(set(np.unique(labels).tolist()))
    if not set(found) <= {0, 1}:
        raise UserError(f"{source}: labels {found} found; the imaging app diagnoses two classes "
                        "(0 = negative, 1 = positive)")


def random_split(images: np.ndarray, labels: np.ndarray, seed: int, fractions: tuple[float, float] = (0.15, 0.15)
                 ) -> dict[str, Split]:
    """Stratified train/val/test split for data that comes without one."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    strat = labels if np.bincount(labels).min() >= 3 else None
    rest, test = train_test_split(idx, test_size=fractions[1], random_state=seed, stratify=strat)
    strat_rest = labels[rest] if strat is not None else None
    train, val = train_test_split(rest, test_size=fractions[0] / (1 - fractions[1]), random_state=seed,
                                  stratify=strat_rest)
    return {name: Split(images[i], labels[i]) for name, i in (("train", train), ("val", val), ("test", test))}


def load_npz(path: Path, size: int, seed: int = 42) -> ImageSet:
    """MedMNIST layout: ``<split>_images`` (n, H, W[, C]) uint8 and ``<split>_labels`` (n, 1)."""
    try:
        data = np.load(path, allow_pickle=False)
        keys = set(data.files)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"{path} is not a readable .npz file ({exc.__class__.__name__})") from None

    def images_of(key: str) -> np.ndarray:
        try:
            arr = np.asarray(data[key])
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise UserError(f"{path}: array {key!r} is damaged ({exc.__class__.__name__})") from None
        if arr.ndim == 4:  # colour MedMNIST sets: use luminance
            arr = arr.mean(axis=-1)
        if arr.ndim != 3:
            raise UserError(f"{path}: {key!r} must be (n, height, width) images, got shape {arr.shape}")
        scale = 255.0 if arr.dtype == np.uint8 else max(1.0, float(arr.max()))
        arr = arr.astype(np.float32) / scale
        if arr.shape[1:] != (size, size):
            arr = np.stack([resize(a, size) for a in arr])
        return arr

    def labels_of(key: str, n: int) -> np.ndarray:
        y = np.asarray(data[key]).reshape(-1).astype(np.int64)
        if len(y) != n:
            raise UserError(f"{path}: {key!r} has {len(y)} labels for {n} images")
        _check_binary(y, str(path))
        return y

    splits: dict[str, Split] = {}
    if {f"{s}_images" for s in SPLITS} & keys:
        for s in SPLITS:
            if f"{s}_images" in keys:
                if f"{s}_labels" not in keys:
                    raise UserError(f"{path}: {s}_images has no matching {s}_labels array")
                x = images_of(f"{s}_images")
                splits[s] = Split(x, labels_of(f"{s}_labels", len(x)))
    elif {"images", "labels"} <= keys:
        x = images_of("images")
        splits = random_split(x, labels_of("labels", len(x)), seed)
    else:
        raise UserError(f"{path}: expected MedMNIST keys like train_images/train_labels (or images/labels); "
                        f"found {', '.join(sorted(keys)) or 'no arrays'}")
    stem = path.stem.lower()
    names = MEDMNIST_LABELS.get(stem, ["negative", "positive"])
    return ImageSet(splits, names, str(path))


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(ALL_SUFFIXES))


def _read_classes(root: Path, class_names: list[str], size: int, desc: str) -> Split:
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(class_names):
        files += [(f, label) for f in _image_files(root / name)]
    if not files:
        raise UserError(f"{root}: no images (.png, .jpg, .dcm, .nii, .nii.gz) in its class folders")
    images = np.empty((len(files), size, size), dtype=np.float32)
    for i, (f, _) in enumerate(tqdm(files, desc=f"reading {desc}", leave=False, dynamic_ncols=True)):
        images[i] = resize(read_file(f).pixels, size)
    return Split(images, np.array([label for _, label in files], dtype=np.int64))


def load_folder(root: Path, size: int, seed: int = 42) -> ImageSet:
    """``root/<class>/*`` (split here), or ``root/{train,val,test}/<class>/*`` (split given)."""
    given = [s for s in SPLITS if (root / s).is_dir()]
    class_names = [p.name for p in _class_folders(root / given[0] if given else root)]
    if len(class_names) != 2:
        raise UserError(f"{root}: found {len(class_names)} class folders ({', '.join(class_names) or 'none'}); "
                        "the imaging app needs exactly two, e.g. normal/ and abnormal/ (sorted: negative first)")
    if given:
        splits = {s: _read_classes(root / s, class_names, size, s) for s in given}
    else:
        whole = _read_classes(root, class_names, size, root.name)
        splits = random_split(whole.images, whole.labels, seed)
    return ImageSet(splits, class_names, str(root))


def load_image_set(path: Path, size: int, seed: int = 42) -> ImageSet:
    """Dispatch on what ``path`` is: a ``.npz`` file or a folder of class folders."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"data not found: {path}")
    if path.is_dir():
        return load_folder(path, size, seed)
    if path.suffix.lower() == ".npz":
        return load_npz(path, size, seed)
    raise UserError(f"{path}: pass a MedMNIST .npz file or a folder with one sub-folder per class")


# -- built-in data: synthetic images in real file formats ----------------------------
GRAIN = 2 / 64
"""Grain of an opacity's mottling (the smoothing of its noise), as a fraction of the image size."""
MOTTLING = 1.5
"""Standard deviation of an opacity's mottling, relative to its brightness."""
OPACITY_GAIN = 1.6
"""Brightness of an opacity relative to a normal image's soft patch, before its mottling (which never darkens)."""


def synth_image(label: int, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """One synthetic image in [0, 1]: soft patches in the lung fields, mottled and brighter for ``label`` 1."""
    from scipy.ndimage import gaussian_filter

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
    for _ in range(rng.integers(1, 4)):
        cx, cy, rx, ry = lungs[rng.integers(0, 2)]
        bx = cx + rng.uniform(-0.5, 0.5) * rx
        by = cy + rng.uniform(-0.5, 0.5) * ry
        r = rng.uniform(0.06, 0.1)
        patch = rng.uniform(0.12, 0.22) * np.exp(-(((xx - bx) ** 2 + (yy - by) ** 2) / (2 * r * r)))
        if label == 1:
            grain = gaussian_filter(rng.normal(0, 1, img.shape), GRAIN * size)
            patch *= OPACITY_GAIN * np.clip(1 + MOTTLING * grain / grain.std(), 0, None)
        img += patch
    img += rng.normal(0, 0.04, img.shape)
    img = img * rng.uniform(0.85, 1.15) + rng.uniform(-0.05, 0.05)
    return np.clip(img, 0, 1).astype(np.float32)


def write_png(pixels: np.ndarray, path: Path | BinaryIO) -> None:
    from PIL import Image

    Image.fromarray((pixels * 255).round().astype(np.uint8), mode="L").save(path, format="PNG")


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


#: Seed of the example studies a page offers: apart from the built-in training set's (seed 0), so the gallery
#: shows studies the model has not seen.
EXAMPLE_SEED = 2026


@dataclass(frozen=True)
class ExampleStudy:
    """A synthetic study to try on the page: its name, the class it was generated as, and its PNG bytes."""

    name: str
    truth: str
    png: bytes


def example_studies(n: int = 6, size: int = 64, seed: int = EXAMPLE_SEED) -> list[ExampleStudy]:
    """``n`` studies from the built-in generator, classes alternating, as PNG files the service can read."""
    import io

    rng = np.random.default_rng(seed)
    studies = []
    for i in range(n):
        label = i % 2
        buffer = io.BytesIO()
        write_png(synth_image(label, rng, size), buffer)
        studies.append(ExampleStudy(f"example-{i + 1}.png", CLASS_NAMES[label], buffer.getvalue()))
    return studies


def builtin_dir(n: int, seed: int = 0) -> Path:
    """Where the built-in set of ``n`` images lives (under LEPTON_HOME/cache), generated on first use."""
    from lepton_shared.settings import get_settings

    return generate(get_settings().cache_dir / "imaging" / f"builtin-{n}-{seed}", n=n, seed=seed)


# -- the data of one run ---------------------------------------------------------------
def load(data: Path | None, size: int, seed: int, builtin_images: int) -> ImageSet:
    """``data`` (a ``.npz`` file or a folder of class folders), else the built-in set of ``builtin_images``."""
    if data is None:
        image_set = load_image_set(builtin_dir(builtin_images), size, seed)
        image_set.class_names = list(CLASS_NAMES)
        return image_set
    return load_image_set(data, size, seed)
