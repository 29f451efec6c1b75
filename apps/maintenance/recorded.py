"""The RUL recipe for recorded run-to-failure histories (C-MAPSS training files and the like).

Why a recipe of its own: recorded lives are few (100 engines in FD001), so the final models
train on *every* machine for a fixed number of epochs (the recipe was chosen on held-out
training engines beforehand, docs/benchmarks/maintenance.md) and 5-fold cross-fitting
supplies what a held-out split would have: the honest error, the blend weight between the
DCNN ensemble and the boosted trees, the band's residual spread and the lives that the
policy replay scores. ``fit_recorded`` is that whole step; the train command and the seed
benchmark both call it, so they measure the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from apps.maintenance.baselines import RidgeRul, ridge_cross_fit
from apps.maintenance.baselines import fit_frame as fit_ridge
from apps.maintenance.features import FeatureSpec
from apps.maintenance.model import RulEnsemble, band_profile, cross_fit, train_ensemble
from apps.maintenance.trees import fit_frame as fit_trees
from apps.maintenance.trees import trees_cross_fit
from lepton_shared.evaluation import regression_metrics

CV_FOLDS = 5
# chosen on held-out FD001 *training* engines (3 splits of 15 engines, test-like truncation RMSE of one DCNN:
# 40 fixed epochs 12.66 vs 25 epochs 13.30; window 40 12.42, 50 12.41, 30 12.66; smoothing 0.1 with window 40
# 12.04; see docs/benchmarks/maintenance.md)
FIXED_EPOCHS = 40
RECORDED_WINDOW = 40
RECORDED_SMOOTH = 0.1
# the blend's inputs, chosen on 5-fold out-of-fold FD001 training estimates (test-like RMSE): the machine's age
# (net 12.5 -> 12.0, trees 11.1 -> 9.4 with it) and each sensor's drift from its first 20 readings (trees only)
RECORDED_BASELINE = 20
TREE_WEIGHTS = np.round(np.linspace(0, 1, 11), 2)


def recorded_lives(frame: pd.DataFrame) -> bool:
    """True when every machine's history is complete up to its failure (C-MAPSS training files)."""
    return bool(frame["rul"].notna().all() and (frame.groupby("unit")["rul"].min() == 0).all())


def uses_recorded_recipe(frame: pd.DataFrame) -> bool:
    """Complete lives and enough machines for every cross-fitting fold to hold two out."""
    return recorded_lives(frame) and frame["unit"].nunique() >= CV_FOLDS * 2


def truncation_points(frame: pd.DataFrame, cuts: int = 10, seed: int = 0) -> np.ndarray:
    """Row positions of ``cuts`` random truncation points per machine (from cycle 31 on), as the C-MAPSS test
    set is cut (its shortest engine has 31 cycles)."""
    rng = np.random.default_rng(seed)
    picks: list[int] = []
    for _, rows in frame.groupby("unit", sort=True).indices.items():
        idx = np.asarray(rows)
        picks.extend(idx[rng.integers(min(31, len(idx) - 1), len(idx), cuts)].tolist())
    return np.asarray(picks)


def truncation_rmse(frame: pd.DataFrame, estimate: np.ndarray, cap: float, cuts: int = 10, seed: int = 0) -> float:
    """RMSE at the test-like ``truncation_points``.

    Every-cycle RMSE is optimistic (many early, capped cycles are easy). On FD001 this figure was
    within 0.1 of the test RMSE for one recipe and 1.0 optimistic for another
    (docs/benchmarks/maintenance.md): a guide for choosing, not a promise.
    """
    picks = truncation_points(frame, cuts, seed)
    y = np.minimum(frame["rul"].to_numpy(dtype=float)[picks], cap)
    return float(np.sqrt(np.mean((estimate[picks] - y) ** 2)))


def choose_tree_weight(frame: pd.DataFrame, net: np.ndarray, trees: np.ndarray, cap: float
                       ) -> tuple[float, dict[str, float]]:
    """The trees' share of the blend with the lowest out-of-fold test-like RMSE (mean of 5 truncation draws)."""
    scores = {f"{w:.1f}": float(np.mean([truncation_rmse(frame, (1 - w) * net + w * trees, cap, seed=s)
                                         for s in range(5)])) for w in TREE_WEIGHTS}
    best = min(scores, key=scores.__getitem__)
    return float(best), {k: round(v, 3) for k, v in scores.items()}


def make_spec(part: pd.DataFrame) -> FeatureSpec:
    """Features of the recorded recipe, fitted on ``part`` (each fold's training machines, or all)."""
    return FeatureSpec.fit(part, window=RECORDED_WINDOW, smooth=RECORDED_SMOOTH, baseline=RECORDED_BASELINE,
                           age=True)


@dataclass
class RecordedFit:
    """The fitted models and their out-of-fold evidence (every array has one value per row of the frame)."""

    rul: RulEnsemble
    ridge: RidgeRul
    summaries: list[dict[str, Any]]
    oof: np.ndarray  # the blend, out of fold
    ridge_oof: np.ndarray
    target: np.ndarray  # capped true RUL
    blend: dict[str, Any] = field(default_factory=dict)

    def lives(self, frame: pd.DataFrame) -> list[np.ndarray]:
        """Out-of-fold estimates split per machine, in unit order (what the policy replay scores)."""
        return [self.oof[idx] for _, idx in frame.groupby("unit", sort=True).indices.items()]


def fit_recorded(frame: pd.DataFrame, members: int, epochs: int, seed: int, device: str = "auto",
                 show_progress: bool = True, lr: float = 1e-3, width: int | None = None,
                 tree_params: dict[str, Any] | None = None) -> RecordedFit:
    """Cross-fit the nets and the trees, choose the blend weight, then fit the final models on every machine
    (``lr``, ``width``: the nets'; ``tree_params``: LightGBM's, default ``trees.TREE_PARAMS``)."""
    spec = make_spec(frame)
    net_oof = cross_fit(frame, make_spec, folds=CV_FOLDS, members=1, epochs=epochs, seed=seed, device=device,
                        show_progress=show_progress, lr=lr, width=width)
    tree_oof = trees_cross_fit(frame, make_spec, CV_FOLDS, seed, tree_params)
    weight, scores = choose_tree_weight(frame, net_oof, tree_oof, spec.cap)
    oof = (1 - weight) * net_oof + weight * tree_oof
    rul, summaries = train_ensemble(frame, None, spec, members=members, epochs=epochs, seed=seed, device=device,
                                    show_progress=show_progress, lr=lr, width=width)
    rul.trees, rul.tree_weight = fit_trees(frame, spec, seed, tree_params), weight
    target = np.minimum(frame["rul"].to_numpy(dtype=float), spec.cap)
    # the band is measured where the estimate is used, at test-like points (5 draws pooled): over every cycle
    # (many easy, capped early ones) a band covered 0.86 of the out-of-fold test-like points, not 0.90
    points = np.concatenate([truncation_points(frame, seed=seed + 1 + k) for k in range(5)])
    rul.residual_sd = float(np.std((oof - target)[points]))
    rul.band = band_profile(oof[points], target[points], spec.cap)
    blend = {"tree_weight": weight, "test_like_rmse_by_tree_weight": scores,
             "net_only": {"rmse": regression_metrics(target, net_oof)["rmse"],
                          "test_like_rmse": truncation_rmse(frame, net_oof, spec.cap)},
             "trees_only": {"rmse": regression_metrics(target, tree_oof)["rmse"],
                            "test_like_rmse": truncation_rmse(frame, tree_oof, spec.cap)}}
    return RecordedFit(rul, fit_ridge(frame, spec), summaries, oof, ridge_cross_fit(frame, make_spec, CV_FOLDS, seed),
                       target, blend)
