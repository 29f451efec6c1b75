"""Drift of live values against a reference profile, with scipy's tests: the two-sample Kolmogorov-Smirnov
test for numeric values, the chi-square test of homogeneity for categorical ones.

A feature **alerts** when both hold (the thresholds the ops guide documents):

- the test's p-value is below :data:`ALPHA` divided by the number of tests in the report (Bonferroni), so that
  a report over many features stays at a 1% chance of any false alert on unchanged traffic;
- the shift is large enough to matter: the **score** is at least :data:`MIN_SCORE`. The score is the KS
  statistic (the largest gap between the two cumulative distributions) for numbers, and the total variation
  distance (the share of probability mass that moved) for categories: both lie in [0, 1], 0 for no change.
  With thousands of live requests a test finds negligible shifts significant; the floor keeps those quiet.

No test runs on fewer than :data:`MIN_LIVE` live values: the score is reported, never an alert.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lepton_shared.monitoring.profile import OTHER, FeatureProfile, category

ALPHA = 0.01
MIN_SCORE = 0.1
MIN_LIVE = 30
EXACT_KS_MAX = 1_000_000  #: largest product of the two sample sizes for which KS computes the exact p-value


@dataclass(frozen=True)
class DriftScore:
    score: float | None  #: KS statistic or total variation distance; None without live values
    p_value: float | None
    n: int  #: live values compared
    test: str  #: ks | chi2 | none

    def alert(self, tests: int = 1) -> bool:
        """Whether this shift crosses the thresholds, in a report of ``tests`` tests."""
        return (self.p_value is not None and self.score is not None and self.n >= MIN_LIVE
                and self.p_value < ALPHA / max(1, tests) and self.score >= MIN_SCORE)

    def as_dict(self, tests: int = 1) -> dict[str, Any]:
        return {"score": None if self.score is None else round(self.score, 4),
                "p_value": self.p_value, "n": self.n, "test": self.test, "alert": self.alert(tests)}


def numbers(values: Sequence[Any]) -> np.ndarray:
    """The finite numbers among ``values`` as an array (booleans, labels and missing values left out): anything
    else becomes NaN, and one array test drops the NaN and infinite values together."""
    array = np.array([v if isinstance(v, int | float) and not isinstance(v, bool) else np.nan for v in values],
                     dtype=np.float64)
    return array[np.isfinite(array)]


def drift_score(reference: FeatureProfile, live: Sequence[Any]) -> DriftScore:
    """How far ``live`` values moved from ``reference`` (numeric or categorical, as the reference is)."""
    from scipy import stats  # not at import: the services and the CLI import this package on start-up

    if reference.kind == "numeric":
        values = numbers(live)
        if len(values) == 0 or not reference.sample:
            return DriftScore(None, None, len(values), "none")
        # scipy's exact p-value costs a fraction of a second at these sizes; its asymptotic one is as good there
        exact = len(values) * len(reference.sample) <= EXACT_KS_MAX
        result = stats.ks_2samp(np.asarray(reference.sample), values, method="auto" if exact else "asymp")
        return DriftScore(float(result.statistic), float(result.pvalue), len(values), "ks")
    counts: Counter[str] = Counter()
    for value in live:
        if value is not None:
            name = category(value)
            # categories the reference folded into OTHER are folded the same way
            counts[OTHER if OTHER in reference.counts and name not in reference.counts else name] += 1
    n = sum(counts.values())
    if n == 0:
        return DriftScore(None, None, 0, "none")
    names = sorted(set(reference.counts) | set(counts))
    table = np.array([[reference.counts.get(k, 0) for k in names], [counts.get(k, 0) for k in names]], dtype=float)
    ref_share, live_share = table[0] / table[0].sum(), table[1] / table[1].sum()
    distance = float(0.5 * np.abs(ref_share - live_share).sum())
    if len(names) < 2:
        return DriftScore(distance, 1.0, n, "chi2")
    p_value = float(stats.chi2_contingency(table, correction=False).pvalue)
    return DriftScore(distance, p_value, n, "chi2")
