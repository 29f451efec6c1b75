"""Typed configurations of ``lepton recommender train`` and ``evaluate``.

One field per option of ``RecommenderApp.add_arguments``, named as its argparse destination and with
the same default. The CLI builds them with ``lepton_shared.config.from_args``; the page, the tests
and the benchmarks build them directly, e.g. ``RecommenderTrainConfig(tiny=True, epochs=1)``.
``epochs`` counts ALS sweeps (BPR runs 8x as many SGD epochs; EASE and item-kNN are closed-form).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lepton_shared.config import EvaluateConfig, TrainConfig


@dataclass
class RecommenderEvaluateConfig(EvaluateConfig):
    #: item catalogue CSV (item_id, title, category); None: items.csv or movies.csv / u.item beside ``data``
    items: Path | None = None


@dataclass
class RecommenderTrainConfig(TrainConfig):
    items: Path | None = None  #: see :class:`RecommenderEvaluateConfig`
    tiny: bool = False  #: without ``data``: a tiny built-in shop and small search grids (seconds)
    #: without ``data``: a built-in shop of about this many interactions (e.g. 1 000 000 for the benchmark)
    synthetic_interactions: int | None = None
    use_events: bool = True  #: add the interactions posted to the service (``POST /v1/events``)
