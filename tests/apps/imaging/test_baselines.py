"""The pixel logistic-regression baseline that the imaging model is compared against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from apps.imaging.baselines import BASELINE_NAME, pixel_baseline
from apps.imaging.data import Split


def _split(rng: np.random.Generator, n: int, signal: float) -> Split:
    labels = rng.integers(0, 2, n)
    images = rng.normal(0.5, 0.1, (n, 8, 8)).astype(np.float32)
    images[:, 2:5, 2:5] += (signal * labels)[:, None, None]
    return Split(images, labels.astype(np.int64))


def test_baseline_separates_a_pixel_level_signal_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    easy = pixel_baseline(_split(rng, 200, 0.3), _split(rng, 100, 0.3))[BASELINE_NAME]
    noise = pixel_baseline(_split(rng, 200, 0.0), _split(rng, 100, 0.0))[BASELINE_NAME]
    assert easy["roc_auc"] > 0.95 and easy["accuracy"] > 0.85
    assert 0.3 < noise["roc_auc"] < 0.7
    assert set(easy) == {"roc_auc", "average_precision", "accuracy"}


def test_one_class_gives_no_baseline() -> None:
    rng = np.random.default_rng(1)
    split = _split(rng, 50, 0.3)
    one = Split(split.images, np.zeros(50, dtype=np.int64))
    assert pixel_baseline(one, split) == {}


def test_trained_model_records_its_baseline(trained_home: tuple[Path, Any]) -> None:
    _, info = trained_home
    baseline = info.metrics["baselines"][BASELINE_NAME]
    assert 0.0 <= baseline["roc_auc"] <= 1.0
