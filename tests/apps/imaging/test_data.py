"""Data: MedMNIST .npz files, class folders in every format, the built-in synthetic set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apps.imaging.data import CLASS_NAMES, generate, load, load_image_set
from lepton_shared.errors import UserError


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


def test_builtin_set_is_generated_once_with_its_class_names(lepton_home: Path) -> None:
    image_set = load(None, size=28, seed=0, builtin_images=20)
    assert image_set.class_names == CLASS_NAMES
    assert sum(len(s) for s in image_set.splits.values()) == 20
    again = load(None, size=28, seed=0, builtin_images=20)
    assert np.array_equal(again.split("train").images, image_set.split("train").images)


def test_example_studies_are_readable_pngs_of_both_classes_and_repeat() -> None:
    """The page's gallery: PNG files the service's reader opens, classes alternating, the same every time, and
    not images of the built-in training set (another seed)."""
    import io

    from PIL import Image

    from apps.imaging.data import EXAMPLE_SEED, example_studies, synth_image

    studies = example_studies(4, size=32)
    assert [s.truth for s in studies] == [CLASS_NAMES[i % 2] for i in range(4)]
    assert len({s.name for s in studies}) == 4 and all(s.name.endswith(".png") for s in studies)
    assert [s.png for s in example_studies(4, size=32)] == [s.png for s in studies]
    pixels = np.asarray(Image.open(io.BytesIO(studies[1].png)))
    assert pixels.shape == (32, 32) and pixels.dtype == np.uint8 and pixels.std() > 0
    rng = np.random.default_rng(EXAMPLE_SEED)
    expected = [synth_image(i % 2, rng, 32) for i in range(2)][1]
    assert np.abs(pixels / 255 - expected).max() <= 1 / 255 + 1e-6
    training = synth_image(0, np.random.default_rng(0), 32)
    assert not np.allclose(np.asarray(Image.open(io.BytesIO(studies[0].png))) / 255, training, atol=0.01)


def test_builtin_class_lies_in_a_texture_a_linear_pixel_model_misses() -> None:
    """The demo data must let the network earn its place: the pixel baseline cannot separate the classes,
    while one non-linear texture feature (the strongest local high-pass response) nearly can."""
    from scipy.ndimage import gaussian_filter
    from sklearn.metrics import roc_auc_score

    from apps.imaging.baselines import BASELINE_NAME, pixel_baseline
    from apps.imaging.data import random_split, synth_image
    from apps.imaging.readers import resize

    rng = np.random.default_rng(0)
    images = np.stack([resize(synth_image(i % 2, rng, 64), 28) for i in range(300)])
    labels = (np.arange(300) % 2).astype(np.int64)
    splits = random_split(images, labels, seed=42)
    assert pixel_baseline(splits["train"], splits["test"])[BASELINE_NAME]["roc_auc"] < 0.9
    high_pass = np.abs(images - gaussian_filter(images, (0, 1.5, 1.5))).reshape(len(images), -1)
    assert roc_auc_score(labels, np.quantile(high_pass, 0.99, axis=1)) > 0.97
