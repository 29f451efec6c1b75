"""The calibrators, their choice by cross-validation, the ECE interval and the sensitivity-target threshold."""

from __future__ import annotations

import json

import numpy as np
import pytest

from apps.imaging.probability_calibration import (
    MIN_ISOTONIC,
    Calibrator,
    choose_calibration,
    fit_calibrator,
    fit_temperature,
    operating_point,
    softmax,
    threshold_for_sensitivity,
)
from lepton_shared.evaluation import ece_interval, expected_calibration_error


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


def _biased(n: int = 1500, seed: int = 0, bias: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose margin is the true log-odds plus ``bias``: the model calls too many positives, and no
    temperature moves the point where the classes cross (margin 0 stays probability 0.5)."""
    rng = np.random.default_rng(seed)
    log_odds = rng.normal(0, 2.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-log_odds))).astype(int)
    return np.stack([np.zeros(n), log_odds + bias], axis=1), y


def test_platt_and_isotonic_remove_a_bias_temperature_cannot() -> None:
    val_logits, val_y = _biased(seed=0)
    test_logits, test_y = _biased(seed=1)
    ece = {m: expected_calibration_error(test_y, fit_calibrator(m, val_logits, val_y).proba(test_logits))
           for m in ("temperature", "platt", "isotonic")}
    assert ece["temperature"] > 0.06, ece
    assert ece["platt"] < 0.03 and ece["isotonic"] < 0.04, ece
    platt = fit_calibrator("platt", val_logits, val_y)
    assert platt.params["a"] == pytest.approx(1.0, abs=0.15) and platt.params["b"] == pytest.approx(-2.5, abs=0.3)


def test_choice_by_cross_validation_picks_a_bias_shifting_method() -> None:
    logits, y = _biased(seed=2)
    chosen, cv_ece = choose_calibration(logits, y, seed=0)
    assert set(cv_ece) == {"temperature", "platt", "isotonic"}
    assert chosen.method == min(cv_ece, key=lambda m: cv_ece[m]) != "temperature"
    assert cv_ece[chosen.method] < cv_ece["temperature"] / 2


def test_choice_keeps_temperature_when_scaling_is_all_that_is_wrong() -> None:
    logits, y = _overconfident(600)
    chosen, cv_ece = choose_calibration(logits, y, seed=0)
    assert cv_ece["temperature"] <= min(cv_ece.values()) + 0.01
    assert expected_calibration_error(y, chosen.proba(logits)) < expected_calibration_error(y, softmax(logits)) / 2


def test_choice_is_deterministic_and_sees_only_what_it_is_given() -> None:
    logits, y = _biased(400, seed=3)
    first, cv_first = choose_calibration(logits, y, seed=5)
    again, cv_again = choose_calibration(logits.copy(), y.copy(), seed=5)
    assert first == again and cv_first == cv_again


def test_isotonic_needs_enough_images() -> None:
    logits, y = _biased(MIN_ISOTONIC - 1, seed=4)
    _, cv_ece = choose_calibration(logits, y)
    assert "isotonic" not in cv_ece and {"temperature", "platt"} <= set(cv_ece)


def test_one_class_or_tiny_splits_fall_back_to_temperature() -> None:
    logits, _ = _biased(30, seed=5)
    chosen, cv_ece = choose_calibration(logits, np.ones(30, dtype=int))
    assert chosen.method == "temperature" and cv_ece == {}


@pytest.mark.parametrize("method", ["temperature", "platt", "isotonic"])
def test_calibrator_json_round_trip(method: str) -> None:
    logits, y = _biased(600, seed=6)
    fitted = fit_calibrator(method, logits, y)
    back = Calibrator.from_json(json.loads(json.dumps(fitted.to_json())))
    assert back.method == method
    np.testing.assert_allclose(back.proba(logits), fitted.proba(logits))
    assert np.allclose(back.proba(logits).sum(axis=1), 1.0)


def test_isotonic_applies_as_sklearn_predicts() -> None:
    from sklearn.isotonic import IsotonicRegression

    logits, y = _biased(600, seed=7)
    margin = logits[:, 1] - logits[:, 0]
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(margin, y)
    wide = np.stack([np.zeros(5), np.array([-50.0, -1.0, 0.0, 1.0, 50.0])], axis=1)  # beyond the knots too
    np.testing.assert_allclose(fit_calibrator("isotonic", logits, y).proba(wide)[:, 1],
                               iso.predict(wide[:, 1]), atol=1e-12)


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError):
        Calibrator.from_json({"method": "pickle"})


def test_ece_interval_brackets_the_estimate_and_narrows_with_data() -> None:
    rng = np.random.default_rng(8)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        p = rng.random(n)
        return (rng.random(n) < np.clip(p + 0.1, 0, 1)).astype(int), p

    y, p = sample(300)
    low, high = ece_interval(y, p, seed=0)
    assert low <= expected_calibration_error(y, p) <= high
    y_big, p_big = sample(3000)
    low_big, high_big = ece_interval(y_big, p_big, seed=0)
    assert high_big - low_big < (high - low) / 2


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
