"""Typed configurations of ``lepton recommender train`` and ``evaluate``.

One field per option of ``RecommenderApp.add_arguments``, named as its argparse destination and with
the same default. The CLI builds them with ``lepton_shared.config.from_args``; the page, the tests
and the benchmarks build them directly, e.g. ``RecommenderTrainConfig(tiny=True, epochs=1)``.
``epochs`` counts ALS sweeps (BPR runs 8x as many SGD epochs; EASE and item-kNN are closed-form).
The served-model fields (``family`` …) are what ``tune`` searches; ``train --params best`` sets them.
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
    #: the served model's family (ease or item_knn_bm25) and its parameters, as ``tune`` found them
    #: (``train --params best``); None: train searches a small grid of both families on validation
    family: str | None = None
    ease_l2: float | None = None  #: EASE's λ; None: twice the mean item count (the grid's middle)
    knn_k: int = 100  #: item-kNN (BM25): neighbours kept per item
    knn_k1: float = 1.2  #: BM25's term-frequency saturation
    knn_b: float = 0.75  #: BM25's length normalisation
