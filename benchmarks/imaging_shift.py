"""Is an imaging model's test miscalibration a shift between the validation and test images?

Reads the models that ``benchmarks.seeds`` trained (``var/bench/seeds/imaging-<seed>``) and prints, per seed, one
JSON line with:

* each split's ROC AUC, accuracy at 0.5, ECE and mean calibrated probability (a calibrated model's mean equals the
  positive share);
* split-half site calibration: a calibrator chosen and fitted as training does, but on one stratified half of the
  test images, scored on the other half (5 repeats), beside the validation-fitted calibrator on the same halves;
* the ECE floor: ECE of labels drawn from the model's own calibrated test probabilities, i.e. of a perfectly
  calibrated model with this score distribution, over as many images as the test split holds.

    python -m benchmarks.imaging_shift --data ../shared/datasets/medmnist/pneumoniamnist.npz --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.seeds import HOMES


def _split_figures(model: Any, cfg: Any, split: Any) -> dict[str, float]:
    from apps.imaging.training import score

    metrics, _, cal = score(model, cfg, split)
    return {"roc_auc": round(metrics["roc_auc"], 4), "accuracy": round(metrics["accuracy"], 4),
            "ece": round(metrics["ece"], 4), "mean_calibrated_proba": round(float(cal[:, 1].mean()), 3),
            "positive_share": round(float(np.mean(split.labels)), 3), "n": len(split)}


def site_calibration(logits: np.ndarray, labels: np.ndarray, validation_fitted: Any, seed: int,
                     repeats: int = 5) -> dict[str, float]:
    """Mean over 2-fold stratified splits of the test images: ECE and operating point of a calibrator fitted on
    one half, scored on the other, and the validation-fitted calibrator's ECE on the same halves."""
    from sklearn.model_selection import StratifiedKFold

    from apps.imaging.probability_calibration import choose_calibration, operating_point, threshold_for_sensitivity
    from lepton_shared.evaluation import expected_calibration_error

    site, fixed, accuracy, sensitivity = [], [], [], []
    for rep in range(repeats):
        for fit_idx, score_idx in StratifiedKFold(2, shuffle=True, random_state=rep).split(logits, labels):
            calibrator, _ = choose_calibration(logits[fit_idx], labels[fit_idx], seed)
            proba = calibrator.proba(logits[score_idx])
            site.append(expected_calibration_error(labels[score_idx], proba))
            fixed.append(expected_calibration_error(labels[score_idx], validation_fitted.proba(logits[score_idx])))
            threshold = threshold_for_sensitivity(labels[fit_idx], calibrator.proba(logits[fit_idx])[:, 1], 0.95)
            point = operating_point(labels[score_idx], proba[:, 1], threshold)
            accuracy.append(point["accuracy"])
            sensitivity.append(point["sensitivity"])
    return {"ece_site_fitted": round(float(np.mean(site)), 4), "ece_validation_fitted": round(float(np.mean(fixed)), 4),
            "accuracy_at_site_threshold": round(float(np.mean(accuracy)), 4),
            "sensitivity_at_site_threshold": round(float(np.mean(sensitivity)), 4)}


def ece_floor(positive_proba: np.ndarray, draws: int = 2000, seed: int = 0) -> dict[str, float]:
    """ECE of a perfectly calibrated model: labels drawn from its own probabilities (images resampled)."""
    from lepton_shared.evaluation import expected_calibration_error

    rng = np.random.default_rng(seed)
    n = len(positive_proba)
    values = []
    for _ in range(draws):
        p = positive_proba[rng.integers(0, n, n)]
        values.append(expected_calibration_error((rng.random(n) < p).astype(int), p))
    return {"mean": round(float(np.mean(values)), 4), "p95": round(float(np.percentile(values, 95)), 4),
            "share_above_0.03": round(float(np.mean(np.asarray(values) > 0.03)), 3)}


def one_seed(data: Path, seed: int) -> dict[str, Any]:
    from apps.imaging.model import load_model, predict_logits
    from apps.imaging.training import load
    from lepton_shared.registry import Registry
    from lepton_shared.testing.env import lepton_env

    with lepton_env(HOMES / f"imaging-{seed}"):
        info = Registry().get("imaging", None)
        model, cfg = load_model(info.path, "cpu")
    images = load(data, cfg.image_size, seed, 400)
    test = images.split("test")
    logits = predict_logits(model, test.images)
    calibrator = cfg.calibrator()
    return {"seed": seed, "version": info.version, "calibration": calibrator.method,
            "val": _split_figures(model, cfg, images.split("val")), "test": _split_figures(model, cfg, test),
            "split_half_site_calibration": site_calibration(logits, test.labels, calibrator, seed),
            "perfectly_calibrated_ece": ece_floor(calibrator.proba(logits)[:, 1])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the .npz the seeds were trained on")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    for seed in args.seeds:
        print(json.dumps(one_seed(args.data, seed)), flush=True)


if __name__ == "__main__":
    main()
