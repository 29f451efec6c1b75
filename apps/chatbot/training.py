"""Fine-tune the intent model through the shared ``Trainer`` (``scoring.py``
measures and stores it; ``finish.py`` adds the neighbour vote, the TF-IDF blend and the
out-of-scope threshold, all chosen on validation data, and registers it all).

Speed on a 2-core CPU comes from: frozen word embeddings (no update of the 12M
embedding rows), length-grouped batches with dynamic padding, and few epochs
with a linear warm-up/decay schedule. Accuracy comes from a small encoder
learning rate, a larger head rate and label smoothing.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from apps.chatbot.model import Collate, IntentModel, LengthBatches, new_model
from lepton_shared.training import FitResult, Trainer, TrainerConfig, seed_everything
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
    seed_everything(settings.seed)  # the new head's weights too: torch seeds itself at random on start-up
    tokenizer, model = new_model(len(labels))
    freeze(model.encoder.embeddings)  # type: ignore[arg-type]
    pooler = getattr(model.encoder, "pooler", None)
    if isinstance(pooler, nn.Module):  # unused by mean pooling; trainable unused weights break DDP under torchrun
        freeze(pooler)
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


def elapsed_since(start: float) -> float:
    return round(time.perf_counter() - start, 1)
