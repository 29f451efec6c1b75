"""The recommender's search space and objective for ``lepton recommender tune``.

Only the families the service can serve are searched: EASE (its λ) and item-kNN with BM25 weighting
(neighbours, k1, b). ALS and BPR stay the protocol's baselines: the served model must be item-to-item
(``scores = history @ W``) to score new sessions without retraining. The objective is ``train``'s own
validation score (``training.validation_ndcg``): fitted on the fit part of the 80 % training split,
scored on its validation part. All of it is closed-form, so there is nothing per-epoch to prune.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from apps.recommender.config import RecommenderTrainConfig
from apps.recommender.training import SERVING_FAMILIES, Prepared, prepare, validation_ndcg
from lepton_shared.tuning.base import AppTuner
from lepton_shared.tuning.best import apply_params

#: EASE's λ is searched on a log scale around the mean item count (the scale of a good λ).
EASE_L2_RANGE = (0.1, 50.0)


class RecommenderTuner(AppTuner):
    app: ClassVar[str] = "recommender"
    config: RecommenderTrainConfig

    @cached_property
    def prepared(self) -> Prepared:
        """The training part, loaded once per worker and shared by its trials."""
        return prepare(self.config, verbose=False)

    def _l2_bounds(self) -> tuple[float, float]:
        mean = self.prepared.mean_item_count
        return round(mean * EASE_L2_RANGE[0], 3), round(mean * EASE_L2_RANGE[1], 3)

    def defaults(self) -> dict[str, Any]:
        """EASE with λ = twice the mean item count: the middle of ``train``'s grid and its usual choice."""
        return {"family": "ease", "ease_l2": round(2.0 * self.prepared.mean_item_count, 3)}

    def suggest(self, trial: Any) -> dict[str, Any]:
        family = trial.suggest_categorical("family", list(SERVING_FAMILIES))
        if family == "ease":
            low, high = self._l2_bounds()
            return {"family": family, "ease_l2": trial.suggest_float("ease_l2", low, high, log=True)}
        return {"family": family, "knn_k": trial.suggest_int("knn_k", 10, 500, log=True),
                "knn_k1": trial.suggest_float("knn_k1", 0.5, 2.5),
                "knn_b": trial.suggest_float("knn_b", 0.2, 1.0)}

    def objective(self, params: dict[str, Any], trial: Any) -> float:
        return validation_ndcg(self.prepared, apply_params(self.config, params))

    def data_key(self) -> str:
        """The built-in shop comes in sizes (tiny, default, ``synthetic_interactions``): each is its own data."""
        if self.config.data is None and self.config.tiny:
            return "builtin-tiny"
        if self.config.data is None and self.config.synthetic_interactions:
            return f"builtin-{self.config.synthetic_interactions}"
        return super().data_key()


TUNER_CLASS = RecommenderTuner
