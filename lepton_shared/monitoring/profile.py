"""A version's reference profile: the distribution of each monitored input feature and of its prediction on
held-out data, written beside the model (``monitoring_profile.json``) when training registers it.

Numeric values keep a uniform random sample (what the two-sample KS test compares live values with) and
a few quantiles to read; categorical values keep their counts (the most frequent :data:`MAX_CATEGORIES`, the
rest as :data:`OTHER`).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PROFILE_FILE = "monitoring_profile.json"
SAMPLE_SIZE = 2000
MAX_CATEGORIES = 50
OTHER = "(other)"
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
PREDICTION = "prediction"


@dataclass(frozen=True)
class FeatureProfile:
    """One feature's (or the prediction's) reference distribution."""

    kind: str  #: numeric | categorical
    n: int
    sample: list[float] = field(default_factory=list)
    quantiles: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    features: dict[str, FeatureProfile]
    prediction: FeatureProfile | None

    def as_dict(self) -> dict[str, Any]:
        return {"features": {k: asdict(v) for k, v in self.features.items()},
                "prediction": asdict(self.prediction) if self.prediction else None}

    def write(self, folder: Path) -> None:
        (folder / PROFILE_FILE).write_text(json.dumps(self.as_dict()))


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def category(value: Any) -> str:
    """Categorical values as text: JSON turns booleans and numbers used as labels into the same strings."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def feature_profile(values: Iterable[Any], seed: int = 0) -> FeatureProfile | None:
    """Numeric when every present value is a number, else categorical; None when no value is present."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and not math.isfinite(v))]
    if not present:
        return None
    if all(is_number(v) for v in present):
        array = np.asarray(present, dtype=np.float64)
        rng = np.random.default_rng(seed)
        sample = array if len(array) <= SAMPLE_SIZE else rng.choice(array, SAMPLE_SIZE, replace=False)
        quantiles = {f"p{round(q * 100)}": float(np.quantile(array, q)) for q in QUANTILES}
        return FeatureProfile("numeric", len(array), [float(x) for x in sample], quantiles)
    counts = Counter(category(v) for v in present)
    kept = dict(counts.most_common(MAX_CATEGORIES))
    rest = sum(counts.values()) - sum(kept.values())
    if rest:
        kept[OTHER] = kept.get(OTHER, 0) + rest
    return FeatureProfile("categorical", len(present), counts=kept)


def build_profile(features: Sequence[Mapping[str, Any] | None], predictions: Sequence[Any],
                  seed: int = 0) -> Profile:
    """The profile of held-out rows: ``features[i]`` as the app's monitor computes them for a request, and
    ``predictions[i]`` the model's answer to it (its score, value or label)."""
    names = sorted({name for row in features if row for name in row})
    profiles = {name: feature_profile((row.get(name) if row else None for row in features), seed)
                for name in names}
    return Profile({k: v for k, v in profiles.items() if v is not None}, feature_profile(predictions, seed))


def load_profile(folder: Path) -> Profile | None:
    """The profile registered with a version, or None for a version trained before profiles existed."""
    path = folder / PROFILE_FILE
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    prediction = raw.get(PREDICTION)
    return Profile({k: FeatureProfile(**v) for k, v in raw.get("features", {}).items()},
                   FeatureProfile(**prediction) if prediction else None)
