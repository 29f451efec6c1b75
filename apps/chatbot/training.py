"""Fine-tune the intent model through the shared ``Trainer``, pick the
out-of-scope threshold on validation data, embed the FAQ and register it all.

Speed on a 2-core CPU comes from: frozen word embeddings (no update of the 12M
embedding rows), length-grouped batches with dynamic padding, and few epochs
with a linear warm-up/decay schedule. Accuracy comes from a small encoder
learning rate, a larger head rate and label smoothing.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from apps.chatbot.data import OOS_LABEL
from apps.chatbot.faq import FaqIndex
from apps.chatbot.intents import BANK_INTENTS
from apps.chatbot.model import Collate, IntentModel, LengthBatches, infer, new_model, save_model, softmax
from apps.chatbot.oos import oos_metrics
from lepton_shared.errors import UserError
from lepton_shared.evaluation import classification_metrics
from lepton_shared.training import FitResult, Trainer, TrainerConfig
from lepton_shared.transfer import freeze, param_groups

APP = "chatbot"


@dataclass(frozen=True)
class FitSettings:
    epochs: int = 3
    batch_size: int = 32
    encoder_lr: float = 8e-5
    head_lr: float = 3e-3
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    warmup_ratio: float = 0.1
    patience: int = 2
    device: str = "auto"
    seed: int = 42
    threads: int | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace, default_epochs: int) -> FitSettings:
        return cls(epochs=args.epochs or default_epochs, batch_size=args.batch_size, encoder_lr=args.encoder_lr,
                   head_lr=args.head_lr, label_smoothing=args.label_smoothing, device=args.device,
                   seed=args.seed, threads=args.threads)


def training_threads() -> int:
    """CPU threads for training: the cores not already busy with other processes.

    On a shared machine, oversubscribed OpenMP threads spin against each other: measured
    here, one thread trained 3x faster than two while other jobs kept the 2 cores busy.
    """
    import os

    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(torch.get_num_threads(), cores - round(busy)))


def _loss(smoothing: float) -> Any:
    def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = model(batch["input_ids"], batch["attention_mask"])
        return nn.functional.cross_entropy(logits.float(), batch["labels"], label_smoothing=smoothing)
    return loss_fn


def _accuracy(model: nn.Module, loader: DataLoader) -> dict[str, float]:
    correct = total = 0
    device = next(model.parameters()).device
    for batch in loader:
        logits = model(batch["input_ids"].to(device), batch["attention_mask"].to(device))
        correct += int((logits.argmax(1).cpu() == batch["labels"].cpu()).sum())
        total += len(batch["labels"])
    return {"accuracy": correct / max(1, total)}


def fit(train: pd.DataFrame, val: pd.DataFrame, settings: FitSettings,
        show_progress: bool = True) -> tuple[Any, IntentModel, list[str], FitResult]:
    """Fine-tune on ``train`` (in-scope rows), early-stop on validation accuracy."""
    labels = sorted(train["label"].unique())
    index = {name: i for i, name in enumerate(labels)}
    tokenizer, model = new_model(len(labels))
    freeze(model.encoder.embeddings)  # type: ignore[arg-type]
    val_in = val[val["label"].isin(index)]
    train_ds = LengthBatches(list(train["text"]), [index[y] for y in train["label"]], settings.batch_size,
                             seed=settings.seed)
    val_ds = LengthBatches(list(val_in["text"]), [index[y] for y in val_in["label"]], settings.batch_size,
                           shuffle=False)
    config = TrainerConfig(
        epochs=settings.epochs, batch_size=1, lr=settings.head_lr, weight_decay=settings.weight_decay,
        device=settings.device, seed=settings.seed, monitor="accuracy", mode="max", patience=settings.patience,
        scheduler="linear", warmup_ratio=settings.warmup_ratio, app=APP, show_progress=show_progress,
    )
    groups = param_groups(model, {"encoder.": settings.encoder_lr}, settings.head_lr)
    for group in groups:
        group["weight_decay"] = settings.weight_decay if group["lr"] == settings.encoder_lr else 0.0
    trainer = Trainer(model, config, loss_fn=_loss(settings.label_smoothing), eval_fn=_accuracy,
                      param_groups=groups, on_epoch_end=lambda epoch, _: train_ds.reshuffle(epoch + 1))
    previous = torch.get_num_threads()
    threads = settings.threads or training_threads()
    torch.set_num_threads(threads)  # only for this fit; restored below
    try:
        result = trainer.fit(train_ds, val_ds if len(val_ds) else None, collate_fn=Collate(tokenizer))
    finally:
        torch.set_num_threads(previous)
    model.to("cpu").eval()
    return tokenizer, model, labels, result


def score(model: IntentModel, tokenizer: Any, labels: list[str], frame: pd.DataFrame,
          threshold: float) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Metrics of the model on ``frame`` (rows labelled ``oos`` are out-of-scope messages).

    ``accuracy``/``f1_macro`` are over in-scope rows without the threshold;
    with ``oos`` rows present, ``in_scope_accuracy`` and ``oos_recall`` say what the threshold does.
    """
    index = {name: i for i, name in enumerate(labels)}
    unknown = sorted(set(frame["label"]) - set(index) - {OOS_LABEL})
    if unknown:
        raise UserError(f"the evaluation data has {len(unknown)} label(s) this model does not know: "
                        f"{', '.join(unknown[:5])}; use rows labelled with the model's intents or 'oos'")
    y = np.array([index.get(label, -1) for label in frame["label"]])
    logits, _embeddings = infer(model, tokenizer, list(frame["text"]))
    proba = softmax(logits)
    in_scope = y >= 0
    metrics: dict[str, Any] = {"rows": len(y), "in_scope_rows": int(in_scope.sum())}
    if in_scope.any():
        cls = classification_metrics(y[in_scope], proba[in_scope])
        metrics.update({k: cls[k] for k in ("accuracy", "f1_macro", "ece") if k in cls})
    extra = oos_metrics(proba, y, threshold)
    if not (y < 0).any():
        extra.pop("in_scope_accuracy", None)
        metrics["accuracy_with_threshold"] = oos_metrics(proba, y, threshold).get("in_scope_accuracy", 0.0)
    metrics.update(extra)
    metrics["oos_threshold"] = threshold
    return metrics, proba, y


def figures(proba: np.ndarray, y: np.ndarray, labels: list[str], threshold: float,
            history: list[dict[str, float]]) -> dict[str, Any]:
    """Plots for the HTML report: confidence histogram with the threshold, per-intent accuracy, learning curve."""
    from matplotlib.figure import Figure

    figs: dict[str, Any] = {}
    conf = proba.max(axis=1)
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    ax.hist(conf[y >= 0], bins=30, alpha=0.7, label="in-scope")
    if (y < 0).any():
        ax.hist(conf[y < 0], bins=30, alpha=0.7, label="out-of-scope")
    ax.axvline(threshold, color="k", linestyle="--", label=f"threshold {threshold:.2f}")
    ax.set_xlabel("top softmax probability")
    ax.set_ylabel("messages")
    ax.legend()
    figs["Confidence and the out-of-scope threshold"] = fig
    mask = y >= 0
    if mask.any():
        pred = proba.argmax(axis=1)
        acc = pd.Series(pred[mask] == y[mask]).groupby(y[mask]).mean().sort_values()
        worst = acc.head(15)
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        ax.barh([labels[int(i)] for i in worst.index], worst.to_numpy(dtype=float))
        ax.set_xlabel("accuracy")
        ax.set_title("hardest intents")
        figs["Per-intent accuracy (15 hardest)"] = fig
    if history:
        fig = Figure(figsize=(6, 3.5))
        ax = fig.subplots()
        epochs = [h["epoch"] for h in history]
        ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train loss")
        if "val_loss" in history[0]:
            ax.plot(epochs, [h["val_loss"] for h in history], marker="o", label="validation loss")
        if "accuracy" in history[0]:
            ax.plot(epochs, [h["accuracy"] for h in history], marker="s", label="validation accuracy")
        ax.set_xlabel("epoch")
        ax.legend()
        figs["Learning curve"] = fig
    return figs


def policies_for(labels: list[str]) -> dict[str, dict[str, Any]]:
    """Canned answers / needs-agent flags for intents the demo bank knows; others get none."""
    known = {spec.name: spec for spec in BANK_INTENTS}
    return {label: {"answer": known[label].answer if label in known else "",
                    "needs_agent": known[label].needs_agent if label in known else False}
            for label in labels}


def build_artifact_writer(model: IntentModel, tokenizer: Any, labels: list[str], threshold: float,
                          faq: pd.DataFrame, faq_threshold: float, metrics: dict[str, Any],
                          report_figures: dict[str, Any]) -> Any:
    from lepton_shared.evaluation import write_report

    _, faq_emb = infer(model, tokenizer, list(faq["question"])) if len(faq) else (None, np.zeros((0, 384)))
    index = FaqIndex(list(faq["question"]), list(faq["answer"]), faq_emb, faq_threshold)

    def write(folder: Path) -> None:
        save_model(folder, model, tokenizer, labels, {"oos_threshold": threshold, "faq_threshold": faq_threshold})
        index.save(folder)
        (folder / "policies.json").write_text(json.dumps(policies_for(labels), indent=2))
        write_report(folder / "report.html", "Chatbot intent model", metrics, report_figures,
                     notes="all-MiniLM-L6-v2 fine-tuned with a linear head; metrics on the validation part.")

    return write


def elapsed_since(start: float) -> float:
    return round(time.perf_counter() - start, 1)
