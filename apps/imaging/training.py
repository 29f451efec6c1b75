"""Training and evaluation of the imaging model: train, calibrate, choose the threshold, score, register.

The loop is the shared ``Trainer`` (mixed precision and ``channels_last`` on
GPU, early stopping on validation AUC, a progress bar); this module adds what
is specific to diagnosis: class-weighted loss, a calibrator (temperature, Platt or isotonic, chosen by
cross-validation within the validation split) and the sensitivity-target threshold on calibrated
scores, and a report with ROC, calibration and threshold plots. ``train`` and ``evaluate`` are what
``lepton imaging train`` and ``evaluate`` run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from apps.imaging.app import ImagingApp
from apps.imaging.config import (
    BUILTIN_IMAGES,
    TINY_IMAGES,
    ImagingEvaluateConfig,
    ImagingTrainConfig,
    auto_batch_size,
)
from apps.imaging.data import ImageSet, Split, load
from apps.imaging.model import ImageDataset, ModelConfig, build_network, predict_logits
from apps.imaging.probability_calibration import (
    choose_calibration,
    fit_temperature,
    operating_point,
    softmax,
    threshold_for_sensitivity,
)

if TYPE_CHECKING:
    from lepton_shared.registry import ModelInfo


@dataclass
class TrainSettings:
    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 5e-4
    device: str | None = "auto"  #: auto | cpu | cuda; None: the LEPTON_DEVICE setting
    seed: int = 42
    augment: bool = True
    augment_strength: float = 1.0
    weights_path: Path | None = None
    show_progress: bool = True


def class_weights(labels: np.ndarray) -> torch.Tensor:
    """Inverse-frequency weights so the rarer class counts as much as the common one."""
    counts = np.bincount(labels, minlength=2).astype(np.float64)
    counts[counts == 0] = 1
    weights = counts.sum() / (2 * counts)
    return torch.as_tensor(weights, dtype=torch.float32)


def calibrate(cfg: ModelConfig, val_logits: np.ndarray, val_labels: np.ndarray, seed: int) -> dict[str, float]:
    """Set ``cfg``'s calibrator and the threshold on its calibrated scores, from validation logits only;
    returns each candidate's cross-validated ECE (empty when the split is too small to choose)."""
    chosen, cv_ece = choose_calibration(val_logits, val_labels, seed)
    cfg.temperature = float(chosen.params["temperature"]) if chosen.method == "temperature" \
        else fit_temperature(val_logits, val_labels)
    cfg.calibration = chosen.to_json()
    cfg.threshold = threshold_for_sensitivity(val_labels, chosen.proba(val_logits)[:, 1], cfg.target_sensitivity)
    return cv_ece


def fit(image_set: ImageSet, cfg: ModelConfig, settings: TrainSettings,
        on_epoch_end: Callable[[int, dict[str, float]], None] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Train on ``train``, early-stop and calibrate on ``val``; returns the model and training facts.
    ``on_epoch_end`` sees each epoch's metrics (``tune`` reports them to its pruner)."""
    from sklearn.metrics import roc_auc_score

    from lepton_shared.errors import UserError
    from lepton_shared.training import Trainer, TrainerConfig, seed_everything

    train, val = image_set.split("train"), image_set.splits.get("val")
    if len(np.unique(train.labels)) < 2:
        raise UserError(f"{image_set.source}: the training split holds only one class; both are needed")
    if val is None or len(val) == 0:
        raise UserError(f"{image_set.source}: a validation split is needed to calibrate the model")
    seed_everything(settings.seed)  # the initial weights too: torch seeds itself at random on start-up
    model = build_network(cfg.arch, settings.weights_path, cfg.small_input)
    weights = class_weights(train.labels)

    def loss_fn(m: nn.Module, batch: Any) -> torch.Tensor:
        x, y = batch
        return nn.functional.cross_entropy(m(x), y, weight=weights.to(x.device))

    def eval_fn(m: nn.Module, loader: Any) -> dict[str, float]:
        scores, ys = [], []
        for x, y in loader:
            scores.append(torch.softmax(m(x).float(), 1)[:, 1].cpu())
            ys.append(y.cpu())
        y_all, s_all = torch.cat(ys).numpy(), torch.cat(scores).numpy()
        return {"val_roc_auc": float(roc_auc_score(y_all, s_all)) if len(np.unique(y_all)) > 1 else 0.5}

    tcfg = TrainerConfig(
        epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
        weight_decay=settings.weight_decay, device=settings.device, seed=settings.seed, monitor="val_roc_auc",
        mode="max", patience=4, best_possible=1.0, scheduler="cosine", warmup_ratio=0.05, channels_last=True,
        app="imaging", show_progress=settings.show_progress,
    )
    trainer = Trainer(model, tcfg, loss_fn=loss_fn, eval_fn=eval_fn, on_epoch_end=on_epoch_end)
    result = trainer.fit(ImageDataset(train.images, train.labels, augment=settings.augment,
                                      strength=settings.augment_strength),
                         ImageDataset(val.images, val.labels))
    model = trainer.model
    calibration_cv_ece = calibrate(cfg, predict_logits(model, val.images), val.labels, settings.seed)
    facts = {
        "calibration_method": cfg.calibrator().method,
        "calibration_cv_ece": calibration_cv_ece,
        "train_images_per_s": round(result.samples_per_second, 1),
        "train_seconds": round(result.seconds, 1),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "device": str(trainer.device),
        "mixed_precision": trainer.use_amp,
        "history": result.history,
    }
    return model, facts


def reliability(labels: np.ndarray, positive_proba: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    """The reliability diagram's points: mean predicted probability and observed frequency per quantile bin."""
    from sklearn.calibration import calibration_curve

    if len(np.unique(labels)) < 2:
        return {"predicted": [], "observed": []}
    observed, predicted = calibration_curve(labels, positive_proba, n_bins=bins, strategy="quantile")
    return {"predicted": [round(float(v), 4) for v in predicted], "observed": [round(float(v), 4) for v in observed]}


def score(model: nn.Module, cfg: ModelConfig, split: Split) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Metrics on one labelled split: AUC, accuracy at 0.5 and at the operating threshold, ECE before/after
    calibration with bootstrap 95 % intervals, and the reliability diagram's points."""
    from lepton_shared.evaluation import classification_metrics, ece_interval, expected_calibration_error

    logits = predict_logits(model, split.images)
    raw = softmax(logits, 1.0)
    cal = cfg.calibrator().proba(logits)
    metrics = classification_metrics(split.labels, cal, labels=cfg.class_names)
    metrics.pop("labels", None)
    op = operating_point(split.labels, cal[:, 1], cfg.threshold)
    out: dict[str, Any] = {
        "roc_auc": metrics.get("roc_auc", float("nan")),
        "average_precision": metrics.get("average_precision", float("nan")),
        "accuracy": metrics["accuracy"],
        "f1_macro": metrics["f1_macro"],
        "ece": metrics["ece"],
        "ece_ci95": [round(v, 4) for v in ece_interval(split.labels, cal)],
        "ece_uncalibrated": expected_calibration_error(split.labels, raw),
        "ece_uncalibrated_ci95": [round(v, 4) for v in ece_interval(split.labels, raw)],
        "calibration_method": cfg.calibrator().method,
        "threshold": cfg.threshold,
        "temperature": cfg.temperature,
        "target_sensitivity": cfg.target_sensitivity,
        "accuracy_at_threshold": op["accuracy"],
        "sensitivity_at_threshold": op["sensitivity"],
        "specificity_at_threshold": op["specificity"],
        "confusion_matrix_at_threshold": op["confusion_matrix"],
        "confusion_matrix": metrics["confusion_matrix"],
        "n_images": len(split),
        "reliability": {"uncalibrated": reliability(split.labels, raw[:, 1]),
                        "calibrated": reliability(split.labels, cal[:, 1])},
    }
    return out, raw, cal


def report_figures(labels: np.ndarray, raw: np.ndarray, cal: np.ndarray, cfg: ModelConfig,
                   history: list[dict[str, float]]) -> dict[str, Any]:
    """ROC with the operating point, reliability before/after calibration, and the training curves."""
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_curve

    from apps.imaging.report import reliability_figure
    from lepton_shared.evaluation import expected_calibration_error

    figs: dict[str, Any] = {}
    fig = Figure(figsize=(4.5, 4))
    ax = fig.subplots()
    if len(np.unique(labels)) > 1:
        fpr, tpr, _ = roc_curve(labels, cal[:, 1])
        ax.plot(fpr, tpr, label="ROC")
        op = operating_point(labels, cal[:, 1], cfg.threshold)
        ax.scatter([1 - op["specificity"]], [op["sensitivity"]], color="red", zorder=3,
                   label=f"threshold {cfg.threshold:.3f}")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.legend(loc="lower right")
    figs["ROC curve (test) with the operating point"] = fig
    figs["Reliability diagram (test)"] = reliability_figure({
        f"{name}, ECE {expected_calibration_error(labels, proba):.3f}": reliability(labels, proba[:, 1])
        for name, proba in (("uncalibrated", raw), (f"calibrated ({cfg.calibrator().method})", cal))})
    if history:
        fig = Figure(figsize=(4.5, 4))
        ax = fig.subplots()
        epochs = [h["epoch"] for h in history]
        ax.plot(epochs, [h["train_loss"] for h in history], label="train loss")
        ax.plot(epochs, [h.get("val_loss", np.nan) for h in history], label="val loss")
        ax.plot(epochs, [h.get("val_roc_auc", np.nan) for h in history], label="val AUC")
        ax.set_xlabel("epoch")
        ax.legend()
        figs["Training curves"] = fig
    return figs


# -- train / evaluate ------------------------------------------------------------------
def builtin_size(config: ImagingTrainConfig) -> int:
    """Images of the built-in set ``config`` asks for."""
    return TINY_IMAGES if config.tiny else config.builtin_images


def model_config(config: ImagingTrainConfig, image_set: ImageSet) -> ModelConfig:
    return ModelConfig(arch=config.arch, image_size=config.image_size, class_names=image_set.class_names,
                       target_sensitivity=config.target_sensitivity)


def train_settings(config: ImagingTrainConfig, image_set: ImageSet, show_progress: bool = True) -> TrainSettings:
    batch_size = config.batch_size or auto_batch_size(len(image_set.split("train")))
    return TrainSettings(epochs=config.epochs or ImagingApp.default_epochs, batch_size=batch_size,
                         lr=config.lr, device=config.device, seed=config.seed, augment=not config.no_augment,
                         augment_strength=config.augment_strength, weights_path=config.weights,
                         show_progress=show_progress)


def validation_auc(image_set: ImageSet, config: ImagingTrainConfig,
                   on_epoch_end: Callable[[int, dict[str, float]], None] | None = None) -> float:
    """ROC AUC on the validation split of a model trained with ``config``: what ``tune`` maximises (``train``
    early-stops and calibrates on the same split; the test split stays unseen)."""
    cfg = model_config(config, image_set)
    model, _ = fit(image_set, cfg, train_settings(config, image_set, show_progress=False), on_epoch_end)
    return float(score(model, cfg, image_set.split("val"))[0]["roc_auc"])


def train(config: ImagingTrainConfig) -> ModelInfo:
    """Train on ``config.data`` (the built-in synthetic set when None), calibrate, score the held-out split
    with the pixel baseline, register."""
    from apps.imaging.baselines import pixel_baseline
    from apps.imaging.model import save_model
    from lepton_shared.data import fingerprint
    from lepton_shared.errors import UserError
    from lepton_shared.evaluation import write_report
    from lepton_shared.promotion import register_trained

    if not 0.5 <= config.target_sensitivity < 1.0:
        raise UserError("--target-sensitivity must be between 0.5 and 1 (e.g. 0.95)")
    if not 8 <= config.image_size <= 512:
        raise UserError("--image-size must be between 8 and 512 pixels")
    if config.arch == "densenet121" and config.image_size < 64:
        raise UserError("densenet121 downsamples 32-fold: use --image-size 64 or more with it")
    if config.batch_size is not None and config.batch_size < 2:
        raise UserError("--batch-size must be at least 2")
    if config.augment_strength < 0:
        raise UserError("--augment-strength must be 0 or more")
    builtin = builtin_size(config)
    if config.data is None and builtin < 20:
        raise UserError("--builtin-images must be at least 20")
    image_set = load(config.data, config.image_size, config.seed, builtin)
    cfg, settings = model_config(config, image_set), train_settings(config, image_set)
    model, facts = fit(image_set, cfg, settings)
    held_out = image_set.splits.get("test") or image_set.split("val")
    metrics, raw, cal = score(model, cfg, held_out)
    metrics.update({k: v for k, v in facts.items() if k != "history"})
    metrics["baselines"] = pixel_baseline(image_set.split("train"), held_out, config.seed)
    figures = report_figures(held_out.labels, raw, cal, cfg, facts["history"])
    params = {"arch": cfg.arch, "image_size": cfg.image_size, "epochs": settings.epochs,
              "batch_size": settings.batch_size, "lr": settings.lr, "seed": config.seed,
              "augment": settings.augment, "augment_strength": settings.augment_strength,
              "pretrained": config.weights is not None,
              "data": str(config.data) if config.data else f"built-in ({builtin} synthetic images)",
              "builtin_images": builtin if config.data is None else None,
              "class_names": cfg.class_names}

    def write(folder: Path) -> None:
        save_model(folder, model, cfg)
        write_monitoring_profile(folder, cfg, cal)
        write_report(folder / "report.html", "Imaging model report", metrics, figures,
                     notes=f"Data: {params['data']}. Held-out split: "
                           f"{'test' if 'test' in image_set.splits else 'val'}. Calibrator "
                           f"({cfg.calibrator().method}) chosen by cross-validated ECE within the validation "
                           f"split; threshold chosen on its calibrated validation scores for sensitivity >= "
                           f"{cfg.target_sensitivity}. ECE intervals: 95 % bootstrap over the held-out images.")

    data_fp = fingerprint(config.data) if config.data else fingerprint({"builtin": builtin, "seed": 0})
    return register_trained(ImagingApp.name, write, metrics=metrics, params=params, data_fingerprint=data_fp,
                            promote=config.promote, tolerance=config.tolerance)


def write_monitoring_profile(folder: Path, cfg: ModelConfig, calibrated: np.ndarray) -> None:
    """The held-out images' answers (label at the chosen threshold, calibrated probability) as the reference
    ``lepton monitor`` compares served answers with."""
    from lepton_shared.monitoring import write_reference

    names, positive = cfg.class_names, calibrated[:, 1]
    outputs = [{"label": names[1] if p >= cfg.threshold else names[0], "positive_probability": float(p)}
               for p in positive]
    write_reference(ImagingApp.name, folder, [None] * len(outputs), outputs)


def evaluate(config: ImagingEvaluateConfig) -> dict[str, Any]:
    """Metrics of version ``config.model`` (production when None) on the test (else validation) split of
    ``config.data``, else of the built-in set of the size the model was trained on."""
    from apps.imaging.baselines import pixel_baseline
    from apps.imaging.model import load_model
    from lepton_shared.registry import Registry

    info = Registry().get(ImagingApp.name, config.model)
    model, cfg = load_model(info.path, config.device)
    builtin = int(info.params.get("builtin_images") or BUILTIN_IMAGES)
    image_set = load(config.data, cfg.image_size, config.seed, builtin)
    split = image_set.splits.get("test") or image_set.split("val")
    metrics, _, _ = score(model, cfg, split)
    if "train" in image_set.splits:
        metrics["baselines"] = pixel_baseline(image_set.split("train"), split, config.seed)
    metrics["model_version"] = info.version
    return metrics
