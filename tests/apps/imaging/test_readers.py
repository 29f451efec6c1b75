"""Readers: PNG, DICOM (rescale, window, identifiers), NIfTI (2-D, 3-D slices), damaged files, data sets."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from apps.imaging.datasets import load_image_set
from apps.imaging.readers import read_bytes, read_file, salted_hash, sniff_format
from apps.imaging.synthetic import generate, synth_image, write_dicom, write_nifti, write_png
from lepton_shared.errors import UserError


@pytest.fixture()
def image() -> np.ndarray:
    return synth_image(1, np.random.default_rng(3), 32)


def test_png_round_trip(tmp_path: Path, image: np.ndarray) -> None:
    write_png(image, tmp_path / "a.png")
    rec = read_file(tmp_path / "a.png")
    assert rec.format == "png" and rec.pixels.shape == (32, 32) and rec.pixels.dtype == np.float32
    assert np.abs(rec.pixels - image).max() <= 1 / 255 + 1e-6


def test_jpeg_is_read(tmp_path: Path, image: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray((image * 255).astype(np.uint8)).save(tmp_path / "a.jpg", quality=95)
    rec = read_file(tmp_path / "a.jpg")
    assert rec.format == "jpeg" and np.abs(rec.pixels - image).mean() < 0.05


def test_dicom_rescale_window_and_identifiers(lepton_home: Path, tmp_path: Path, image: np.ndarray) -> None:
    write_dicom(image, tmp_path / "a.dcm", patient_id="PAT-42", study_uid="1.2.3.4", slope=2.0, intercept=-1024)
    rec = read_file(tmp_path / "a.dcm")
    assert rec.format == "dicom"
    # HU = pixels*2000-1000, window centre 0 width 2000 maps HU back onto [0, 1]
    assert np.abs(rec.pixels - image).max() < 2e-3
    assert rec.meta["study_uid"] == "1.2.3.4" and rec.meta["series_uid"]
    assert rec.meta["patient_hash"] == salted_hash("PAT-42")
    assert "PAT-42" not in repr(rec.meta)


def test_patient_hash_depends_on_salt(tmp_path: Path) -> None:
    from lepton_shared.testing.env import lepton_env

    with lepton_env(tmp_path / "a", id_salt="one"):
        first = salted_hash("PAT-42")
    with lepton_env(tmp_path / "b", id_salt="two"):
        second = salted_hash("PAT-42")
    assert first != second and len(first) == 16


def test_nifti_2d_and_3d_slices(tmp_path: Path, image: np.ndarray) -> None:
    write_nifti(image, tmp_path / "flat.nii.gz")
    rec = read_file(tmp_path / "flat.nii.gz")
    assert rec.format == "nifti" and rec.pixels.shape == image.shape
    assert np.abs(rec.pixels - (image - image.min()) / (image.max() - image.min())).max() < 1e-5
    write_nifti(image, tmp_path / "vol.nii", depth=5)
    middle = read_file(tmp_path / "vol.nii")
    assert middle.meta["slice"] == 2 and middle.pixels.max() == 1.0
    empty = read_bytes((tmp_path / "vol.nii").read_bytes(), "vol.nii", slice_index=0)
    assert empty.pixels.max() == 0.0  # the other slices are blank
    with pytest.raises(UserError, match="outside"):
        read_bytes((tmp_path / "vol.nii").read_bytes(), "vol.nii", slice_index=9)


@pytest.mark.parametrize("suffix", ["png", "dcm", "nii.gz"])
def test_truncated_files_are_user_errors(tmp_path: Path, image: np.ndarray, suffix: str) -> None:
    path = tmp_path / f"a.{suffix}"
    {"png": write_png, "dcm": write_dicom, "nii.gz": write_nifti}[suffix](image, path)  # type: ignore[operator]
    data = path.read_bytes()
    with pytest.raises(UserError):
        read_bytes(data[: len(data) // 2], path.name)


def test_wrong_type_and_empty(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unsupported file type"):
        read_bytes(b"%PDF-1.4 not an image at all", "scan.pdf")
    with pytest.raises(UserError, match="empty"):
        read_bytes(b"", "x.png")
    with pytest.raises(UserError, match="not a DICOM"):
        read_bytes(b"garbage" * 40, "x.dcm")
    with pytest.raises(UserError):
        read_bytes(gzip.compress(b"not nifti"), "x.nii.gz")
    with pytest.raises(UserError, match="not found"):
        read_file(tmp_path / "missing.png")


def test_sniff_prefers_content_over_name(tmp_path: Path, image: np.ndarray) -> None:
    write_png(image, tmp_path / "a.png")
    assert sniff_format((tmp_path / "a.png").read_bytes(), "misnamed.dcm") == "png"


def test_npz_loader_uses_given_splits_and_resizes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 10), ("val", 4), ("test", 6)):
        arrays[f"{split}_images"] = rng.integers(0, 255, (n, 20, 20), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).reshape(-1, 1).astype(np.uint8)
    np.savez(tmp_path / "pneumoniamnist.npz", **arrays)
    image_set = load_image_set(tmp_path / "pneumoniamnist.npz", size=28)
    assert {k: len(v) for k, v in image_set.splits.items()} == {"train": 10, "val": 4, "test": 6}
    assert image_set.split("train").images.shape == (10, 28, 28)
    assert image_set.class_names == ["normal", "pneumonia"]
    assert image_set.split("test").images.min() >= 0 and image_set.split("test").images.max() <= 1


def test_npz_loader_rejects_bad_files(tmp_path: Path) -> None:
    np.savez(tmp_path / "wrong.npz", x=np.zeros(3))
    with pytest.raises(UserError, match="expected MedMNIST keys"):
        load_image_set(tmp_path / "wrong.npz", 28)
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(UserError, match="not a readable"):
        load_image_set(tmp_path / "broken.npz", 28)
    np.savez(tmp_path / "multi.npz", train_images=np.zeros((3, 8, 8), np.uint8),
             train_labels=np.array([[0], [1], [2]], np.uint8))
    with pytest.raises(UserError, match="two classes"):
        load_image_set(tmp_path / "multi.npz", 28)


def test_class_folders_with_all_formats(tmp_path: Path) -> None:
    root = generate(tmp_path / "set", n=30, size=32, seed=1)
    suffixes = {p.name.split(".", 1)[1] for p in root.rglob("img*")}
    assert suffixes == {"png", "dcm", "nii.gz"}
    image_set = load_image_set(root, size=28, seed=0)
    assert image_set.class_names == ["normal", "opacity"]
    assert sum(len(s) for s in image_set.splits.values()) == 30
    assert set(np.unique(image_set.split("train").labels)) == {0, 1}


def test_folder_with_corrupt_file_names_it(tmp_path: Path) -> None:
    root = generate(tmp_path / "set", n=12, size=32, seed=1)
    (root / "normal" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(UserError, match=r"bad\.png"):
        load_image_set(root, size=28)


def test_folder_needs_two_classes(tmp_path: Path) -> None:
    (tmp_path / "only").mkdir()
    with pytest.raises(UserError, match="exactly two"):
        load_image_set(tmp_path, size=28)
