"""The shift check's two measures on made-up scores: a calibrator refitted on shifted data beats one fitted before
the shift, and the ECE floor of a perfectly calibrated model shrinks as the test set grows."""

from __future__ import annotations

import numpy as np

from apps.imaging.probability_calibration import fit_calibrator
from benchmarks.imaging_shift import ece_floor, site_calibration


def _logits(margin: np.ndarray) -> np.ndarray:
    return np.stack([np.zeros_like(margin), margin], axis=1)


def test_a_calibrator_fitted_on_the_shifted_images_beats_the_one_fitted_before_the_shift() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 300)
    before = _logits(rng.normal(0, 1, 600) + np.where(y == 1, 2.0, -2.0))
    shifted = _logits(before[:, 1] + 1.5)  # every image looks more positive: the ranking holds, the level moves
    figures = site_calibration(shifted, y, fit_calibrator("temperature", before, y), seed=0, repeats=2)
    assert figures["ece_site_fitted"] < figures["ece_validation_fitted"] - 0.05
    assert figures["sensitivity_at_site_threshold"] >= 0.9


def test_the_floor_of_a_perfectly_calibrated_model_falls_with_more_images() -> None:
    p = np.random.default_rng(1).uniform(0.0, 1.0, 2000)
    small, large = ece_floor(p[:200], draws=200), ece_floor(p, draws=200)
    assert 0.0 < large["mean"] < small["mean"]
    assert large["p95"] < 0.05
