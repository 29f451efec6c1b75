"""Reference profiles and drift scores on hand-made distributions, and the alert thresholds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lepton_shared.monitoring import build_profile, drift_score, load_profile
from lepton_shared.monitoring.drift import ALPHA, MIN_LIVE, MIN_SCORE, DriftScore
from lepton_shared.monitoring.profile import MAX_CATEGORIES, OTHER, SAMPLE_SIZE, FeatureProfile


def test_profile_keeps_a_sample_of_numbers_and_counts_of_labels(tmp_path: Path) -> None:
    rows = [{"amount": float(i), "channel": "web" if i % 4 else "shop", "missing": None} for i in range(5000)]
    profile = build_profile(rows, [i % 2 == 0 for i in range(5000)])
    amount, channel = profile.features["amount"], profile.features["channel"]
    assert amount.kind == "numeric" and amount.n == 5000 and len(amount.sample) == SAMPLE_SIZE
    assert set(amount.sample) <= {float(i) for i in range(5000)} and len(set(amount.sample)) == SAMPLE_SIZE
    assert amount.quantiles["p50"] == pytest.approx(2499.5)
    assert channel.kind == "categorical" and channel.counts == {"web": 3750, "shop": 1250}
    assert "missing" not in profile.features  # no value: nothing to compare with
    assert profile.prediction == FeatureProfile("categorical", 5000, counts={"true": 2500, "false": 2500})
    profile.write(tmp_path)
    assert load_profile(tmp_path) == profile
    assert load_profile(tmp_path / "nowhere") is None


def test_rare_categories_fold_into_other() -> None:
    labels = [f"c{i}" for i in range(MAX_CATEGORIES)] * 3 + [f"rare{i}" for i in range(7)]
    profile = build_profile([{"label": x} for x in labels], [])
    counts = profile.features["label"].counts
    assert counts[OTHER] == 7 and len(counts) == MAX_CATEGORIES + 1 and profile.prediction is None
    # live values unseen at training time count as OTHER, as the reference's rare ones did
    live = drift_score(profile.features["label"], ["never-seen"] * 100)
    assert live.score == pytest.approx(1 - 7 / len(labels))


def numeric(sample: np.ndarray) -> FeatureProfile:
    return build_profile([{"x": float(v)} for v in sample], []).features["x"]


def test_ks_scores_a_shift_and_not_a_fresh_sample_of_the_same_distribution() -> None:
    rng = np.random.default_rng(1)
    reference = numeric(rng.lognormal(3, 1, 2000))
    same = drift_score(reference, rng.lognormal(3, 1, 1000).tolist())
    tripled = drift_score(reference, (3 * rng.lognormal(3, 1, 200)).tolist())
    assert same.test == "ks" and same.score is not None and same.score < MIN_SCORE and not same.alert()
    assert tripled.score is not None and tripled.score > 0.4 and tripled.p_value is not None
    assert tripled.p_value < 1e-12 and tripled.alert(tests=10)


def test_chi_square_scores_a_moved_share_of_labels() -> None:
    reference = build_profile([{"c": "a" if i % 10 else "b"} for i in range(1000)], []).features["c"]
    same = drift_score(reference, ["a"] * 180 + ["b"] * 20)
    moved = drift_score(reference, ["a"] * 100 + ["b"] * 100)  # b: 10% -> 50%
    assert same.test == "chi2" and same.score == pytest.approx(0.0) and not same.alert()
    assert moved.score == pytest.approx(0.4) and moved.alert()
    new_label = drift_score(reference, ["a"] * 150 + ["z"] * 50)  # a label never seen in training
    assert new_label.score == pytest.approx(0.25)
    assert new_label.alert()


@pytest.mark.parametrize(("score", "p_value", "n", "tests", "alerts"), [
    (0.5, 1e-9, MIN_LIVE, 1, True),
    (0.5, 1e-9, MIN_LIVE - 1, 1, False),  # too few live values to judge
    (MIN_SCORE - 0.01, 1e-9, 1000, 1, False),  # significant but too small to matter
    (0.5, ALPHA / 2, 1000, 1, True),
    (0.5, ALPHA / 2, 1000, 4, False),  # Bonferroni: one of 4 tests needs p < ALPHA / 4
    (None, None, 0, 1, False),
])
def test_alert_thresholds(score: float | None, p_value: float | None, n: int, tests: int, alerts: bool) -> None:
    assert DriftScore(score, p_value, n, "ks").alert(tests) is alerts


def test_no_live_values_is_no_score() -> None:
    reference = numeric(np.arange(100.0))
    assert drift_score(reference, [None, "text"]) == DriftScore(None, None, 0, "none")
    labels = build_profile([{"c": "a"}], []).features["c"]
    assert drift_score(labels, []) == DriftScore(None, None, 0, "none")
