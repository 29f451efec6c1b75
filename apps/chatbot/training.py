"""Training and evaluation of the intent model: data -> fine-tuning -> blend -> threshold -> registry.

``fit`` fine-tunes through the shared ``Trainer`` (``scoring.py`` measures and stores the model);
``finish`` adds the neighbour vote, the TF-IDF blend and the out-of-scope threshold, all chosen on
validation data, and registers it all. ``train`` and ``evaluate`` are what ``lepton chatbot train``
and ``evaluate`` run. The steps after fine-tuning import their modules only once ``fit`` has returned.

Speed on a 2-core CPU comes from: frozen word embeddings (no update of the 12M
embedding rows), length-grouped batches with dynamic padding, and few epochs
with a linear warm-up/decay schedule. Accuracy comes from a small encoder
learning rate, a larger head rate and label smoothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from apps.chatbot.app import ChatbotApp
from apps.chatbot.config import ChatbotEvaluateConfig, ChatbotTrainConfig
from apps.chatbot.model import Collate, IntentModel, LengthBatches, new_model
from lepton_shared.training import FitResult, Trainer, TrainerConfig, seed_everything
from lepton_shared.transfer import freeze, param_groups

if TYPE_CHECKING:
    from apps.chatbot.ensemble import IntentScorer
    from apps.chatbot.neighbours import NeighbourVote
    from lepton_shared.registry import ModelInfo

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
    device: str | None = "auto"  #: auto | cpu | cuda; None: the LEPTON_DEVICE setting
    seed: int = 42
    threads: int | None = None

    @classmethod
    def from_config(cls, config: ChatbotTrainConfig, default_epochs: int) -> FitSettings:
        return cls(epochs=config.epochs or default_epochs, batch_size=config.batch_size,
                   encoder_lr=config.encoder_lr, head_lr=config.head_lr, label_smoothing=config.label_smoothing,
                   device=config.device, seed=config.seed, threads=config.threads)


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


def fit(train: pd.DataFrame, val: pd.DataFrame, settings: FitSettings, show_progress: bool = True,
        on_epoch_end: Callable[[int, dict[str, float]], None] | None = None
        ) -> tuple[Any, IntentModel, list[str], FitResult]:
    """Fine-tune on ``train`` (in-scope rows), early-stop on validation accuracy; ``on_epoch_end`` sees each
    epoch's metrics (``tune`` reports them to its pruner)."""
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
        best_possible=1.0,
        scheduler="linear", warmup_ratio=settings.warmup_ratio, app=APP, show_progress=show_progress,
    )
    groups = param_groups(model, {"encoder.": settings.encoder_lr}, settings.head_lr)
    for group in groups:
        group["weight_decay"] = settings.weight_decay if group["lr"] == settings.encoder_lr else 0.0
    def epoch_end(epoch: int, metrics: dict[str, float]) -> None:
        train_ds.reshuffle(epoch + 1)
        if on_epoch_end is not None:
            on_epoch_end(epoch, metrics)

    trainer = Trainer(model, config, loss_fn=_loss(settings.label_smoothing), eval_fn=_accuracy,
                      param_groups=groups, on_epoch_end=epoch_end)
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


# -- after fine-tuning: blend, threshold, artifact, registration -----------------------
@dataclass
class FittedRun:
    """What ``fit`` produced plus the data it saw (``started``: perf_counter before fitting)."""

    tokenizer: Any
    model: IntentModel
    labels: list[str]
    result: FitResult
    train: pd.DataFrame
    val: pd.DataFrame
    frame: pd.DataFrame
    source: str
    faq: pd.DataFrame
    settings: FitSettings
    started: float


def fit_vote(run: FittedRun, temperature: float) -> tuple[NeighbourVote, np.ndarray, np.ndarray, np.ndarray]:
    """The neighbour vote over the training messages, and the validation part's logits, L2-normalised
    embeddings and label ids (-1: out-of-scope rows)."""
    from apps.chatbot.model import infer
    from apps.chatbot.neighbours import NeighbourVote
    from apps.chatbot.scoring import label_ids

    _, train_emb = infer(run.model, run.tokenizer, list(run.train["text"]))
    vote = NeighbourVote(train_emb, label_ids(run.labels, run.train), len(run.labels), temperature)
    logits, val_emb = infer(run.model, run.tokenizer, list(run.val["text"]))
    return vote, logits, val_emb, label_ids(run.labels, run.val)


def fit_scorer(run: FittedRun, seed: int, temperature: float
               ) -> tuple[IntentScorer, np.ndarray, np.ndarray, np.ndarray]:
    """The blend of head, neighbour vote and TF-IDF model with weights chosen on the validation part, and
    that part's head probabilities, blended probabilities and out-of-scope scores."""
    from apps.chatbot.baselines import fit_baseline
    from apps.chatbot.ensemble import SIMILARITY, IntentScorer, choose_weights, text_proba
    from apps.chatbot.model import softmax

    vote, logits, val_emb, y = fit_vote(run, temperature)
    text_model = fit_baseline(run.train, seed)
    texts = list(run.val["text"])
    head, (votes, _) = softmax(logits), vote.analyse(val_emb)
    text = text_proba(text_model, texts, run.labels)
    in_scope = y >= 0
    vote_weight, text_weight = choose_weights(head[in_scope], votes[in_scope], text[in_scope], y[in_scope])
    scorer = IntentScorer(labels=run.labels, vote=vote, text_model=text_model, vote_weight=vote_weight,
                          text_weight=text_weight, oos_score=SIMILARITY)
    proba, oos_scores = scorer.score(logits, val_emb, texts)
    return scorer, head, proba, oos_scores


def write_monitoring_profile(folder: Path, run: FittedRun, proba: np.ndarray, oos_scores: np.ndarray,
                             threshold: float) -> None:
    """The validation messages and the answers the registered scorer gives them, as the reference that
    ``lepton monitor`` compares served traffic with."""
    from lepton_shared.monitoring import write_reference

    best = proba.argmax(axis=1)
    outputs = [{"intent": run.labels[int(i)], "confidence": float(row[i]), "out_of_scope": bool(score < threshold)}
               for i, row, score in zip(best, proba, oos_scores, strict=True)]
    write_reference("chatbot", folder, [{"text": t} for t in run.val["text"]], outputs)


def finish(run: FittedRun, config: ChatbotTrainConfig) -> ModelInfo:
    """Blend in the neighbour vote and the TF-IDF model and choose the out-of-scope threshold on validation
    data, write the artifact, register it."""
    from apps.chatbot.baselines import BASELINE_NAME, baseline_metrics, save_baseline
    from apps.chatbot.faq import DEFAULT_FAQ_THRESHOLD
    from apps.chatbot.oos import choose_score_threshold
    from apps.chatbot.scoring import build_artifact_writer, figures, label_ids, metrics_for
    from lepton_shared.data import fingerprint
    from lepton_shared.promotion import register_trained
    from lepton_shared.training.trainer import resolve_device

    scorer, head, proba, oos_scores = fit_scorer(run, config.seed, config.neighbour_temperature)
    y = label_ids(run.labels, run.val)
    threshold = choose_score_threshold(oos_scores[y >= 0], config.max_drop)
    train_seconds = time.perf_counter() - run.started  # fine-tuning, blend and threshold: all of training
    metrics = metrics_for(proba, y, threshold, oos_scores)
    result = run.result
    metrics.update({"train_seconds": round(train_seconds, 1), "epochs_run": result.epochs_run,
                    "best_epoch": result.best_epoch, "samples_per_second": round(result.samples_per_second, 1),
                    "train_rows": len(run.train), "intents": len(run.labels), **scorer.config(),
                    "head_only_accuracy": metrics_for(head, y, 0.0).get("accuracy", 0.0)})
    baseline = scorer.text_model
    metrics["baselines"] = {BASELINE_NAME: baseline_metrics(baseline, run.val)}
    faq_threshold = config.faq_threshold if config.faq_threshold is not None else DEFAULT_FAQ_THRESHOLD
    write_model = build_artifact_writer(run.model, run.tokenizer, run.labels, threshold, run.faq, faq_threshold,
                                        metrics, figures(proba, y, run.labels, threshold, result.history,
                                                         oos_scores, "similarity to the nearest training message"),
                                        scorer)

    def write(folder: Path) -> None:
        write_model(folder)
        save_baseline(baseline, folder)
        write_monitoring_profile(folder, run, proba, oos_scores, threshold)

    params = {"source": run.source, "tiny": bool(config.tiny), "val_fraction": config.val_fraction,
              "seed": config.seed, **dict(vars(run.settings)), "max_drop": config.max_drop, "faq_rows": len(run.faq),
              "device": str(resolve_device(run.settings.device))}
    return register_trained("chatbot", write, metrics=metrics, params=params,
                            data_fingerprint=fingerprint(run.frame), promote=config.promote,
                            tolerance=config.tolerance)


# -- train / evaluate ------------------------------------------------------------
def training_data(config: ChatbotTrainConfig) -> tuple[pd.DataFrame, str]:
    """The intents to train on and where they come from: ``config.data``, else the built-in bank."""
    from apps.chatbot.data import MIN_EXAMPLES, builtin_frame, load_intents

    if config.data is not None:
        return load_intents(config.data, min_examples=MIN_EXAMPLES), str(config.data)
    return builtin_frame(config.tiny), "built-in"


def default_epochs(config: ChatbotTrainConfig) -> int:
    """Epochs when ``--epochs`` is not given: one for the tiny bank (seconds), else the app's default."""
    return 1 if config.tiny else ChatbotApp.default_epochs


def validation_accuracy(train_part: pd.DataFrame, val: pd.DataFrame, config: ChatbotTrainConfig,
                        on_epoch_end: Callable[[int, dict[str, float]], None] | None = None) -> float:
    """Blended intent accuracy on the validation part after fine-tuning with ``config``: ``train``'s own
    ``accuracy`` (the out-of-scope threshold does not change it), and what ``tune`` maximises."""
    from apps.chatbot.scoring import label_ids, metrics_for

    settings = FitSettings.from_config(config, default_epochs(config))
    started = time.perf_counter()
    tokenizer, model, labels, result = fit(train_part, val, settings, show_progress=False, on_epoch_end=on_epoch_end)
    run = FittedRun(tokenizer=tokenizer, model=model, labels=labels, result=result, train=train_part, val=val,
                    frame=train_part, source="tune", faq=pd.DataFrame(), settings=settings, started=started)
    _, _, proba, _ = fit_scorer(run, config.seed, config.neighbour_temperature)
    return float(metrics_for(proba, label_ids(labels, val), 0.0)["accuracy"])


def train(config: ChatbotTrainConfig) -> ModelInfo:
    """Fine-tune on ``config.data`` (the built-in bank when None), blend, choose the threshold, register."""
    from apps.chatbot.data import builtin_faq, load_faq, split
    from lepton_shared.errors import UserError

    if not 0.0 < config.val_fraction < 0.5:
        raise UserError("--val-fraction must be between 0 and 0.5")
    if config.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    if not 0.0 <= config.max_drop < 1.0:
        raise UserError("--max-drop must be between 0 and 1")
    frame, source = training_data(config)
    faq = load_faq(config.faq) if config.faq is not None else builtin_faq()
    train_part, val = split(frame, config.val_fraction, config.seed)
    settings = FitSettings.from_config(config, default_epochs(config))
    started = time.perf_counter()
    tokenizer, model, labels, result = fit(train_part, val, settings)
    run = FittedRun(tokenizer=tokenizer, model=model, labels=labels, result=result, train=train_part, val=val,
                    frame=frame, source=source, faq=faq, settings=settings, started=started)
    return finish(run, config)


def evaluate(config: ChatbotEvaluateConfig) -> dict[str, Any]:
    """Metrics of version ``config.model`` (production when None) on ``config.data``, else on the held-out
    part of the built-in data, split exactly as at training time."""
    from apps.chatbot.scoring import evaluate_version
    from lepton_shared.registry import Registry

    info = Registry().get(ChatbotApp.name, config.model)
    return {"model_version": info.version, **evaluate_version(info, config.data, config.device)}
