"""Temperature scaling and the sensitivity-target threshold."""

from __future__ import annotations

import numpy as np
import pytest

from apps.imaging.probability_calibration import fit_temperature, operating_point, softmax, threshold_for_sensitivity
from lepton_shared.evaluation import expected_calibration_error


def _overconfident(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose true temperature is 3: dividing them by 3 gives calibrated probabilities."""
    rng = np.random.default_rng(seed)
    margin = rng.normal(0, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(int)
    logits = np.stack([np.zeros(n), 3 * margin], axis=1)
    return logits, y


def test_temperature_recovers_scale_and_lowers_ece() -> None:
    logits, y = _overconfident()
    t = fit_temperature(logits, y)
    assert t == pytest.approx(3.0, rel=0.15)
    before = expected_calibration_error(y, softmax(logits, 1.0))
    after = expected_calibration_error(y, softmax(logits, t))
    assert after < before / 2


def test_temperature_keeps_ranking() -> None:
    logits, y = _overconfident(300)
    t = fit_temperature(logits, y)
    assert np.array_equal(np.argsort(softmax(logits, 1)[:, 1]), np.argsort(softmax(logits, t)[:, 1]))


@pytest.mark.parametrize("target", [0.8, 0.9, 0.95, 1.0])
def test_threshold_reaches_target_sensitivity(target: float) -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    p = np.clip(0.3 * y + rng.random(500) * 0.7, 0, 1)
    thr = threshold_for_sensitivity(y, p, target)
    op = operating_point(y, p, thr)
    assert op["sensitivity"] >= target
    # the highest such cut: raising it a little loses sensitivity below the target
    assert operating_point(y, p, thr + 1e-9)["sensitivity"] < target or thr >= 1.0


def test_operating_point_counts() -> None:
    op = operating_point(np.array([0, 0, 1, 1]), np.array([0.1, 0.7, 0.6, 0.9]), 0.65)
    assert op["confusion_matrix"] == [[1, 1], [1, 1]]
    assert op["sensitivity"] == 0.5 and op["specificity"] == 0.5 and op["accuracy"] == 0.5
