"""Labelled image sets: MedMNIST ``.npz`` files and folders with one sub-folder per class.

Everything is loaded into memory as ``(n, size, size)`` float32 arrays in
[0, 1] plus integer labels, split into train / val / test. Files that cannot
be read are a :class:`UserError` naming the file, so a user fixes the data
rather than reading a traceback.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from apps.imaging.readers import ALL_SUFFIXES, read_file, resize
from lepton_shared.errors import UserError

SPLITS = ("train", "val", "test")
MEDMNIST_LABELS = {"pneumoniamnist": ["normal", "pneumonia"], "breastmnist": ["malignant", "normal/benign"]}


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
