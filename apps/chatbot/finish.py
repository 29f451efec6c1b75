"""Everything after fine-tuning: the out-of-scope threshold, the neighbour vote,
validation metrics, the artifact and its registration.

It is a module of its own (imported by ``ChatbotApp.train`` only once ``fit``
has returned) so the slow fine-tuning and these cheap, validation-driven steps
stay separate; it uses only modules that ``fit`` does not import.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from apps.chatbot.model import IntentModel
    from apps.chatbot.neighbours import NeighbourVote
    from apps.chatbot.training import FitSettings
    from lepton_shared.registry import ModelInfo
    from lepton_shared.training import FitResult


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


def fit_vote(run: FittedRun) -> tuple[NeighbourVote, float, np.ndarray, np.ndarray, np.ndarray]:
    """The neighbour vote over the training messages, its weight chosen on the validation part, and the
    validation part's head and vote probabilities and label ids (-1: out-of-scope rows)."""
    from apps.chatbot.model import infer, softmax
    from apps.chatbot.neighbours import NeighbourVote, choose_weight
    from apps.chatbot.scoring import label_ids

    _, train_emb = infer(run.model, run.tokenizer, list(run.train["text"]))
    vote = NeighbourVote(train_emb, label_ids(run.labels, run.train), len(run.labels))
    y = label_ids(run.labels, run.val)
    logits, val_emb = infer(run.model, run.tokenizer, list(run.val["text"]))
    head, votes = softmax(logits), vote.proba(val_emb)
    in_scope = y >= 0
    weight = choose_weight(head[in_scope], votes[in_scope], y[in_scope])
    return vote, weight, head, votes, y


def finish(run: FittedRun, args: argparse.Namespace, promote: bool = True) -> ModelInfo:
    """Blend in the neighbour vote and choose the threshold on validation data, write the artifact, register it."""
    from apps.chatbot.baselines import BASELINE_NAME, baseline_metrics, fit_baseline, save_baseline
    from apps.chatbot.calibration import choose_threshold
    from apps.chatbot.faq import DEFAULT_FAQ_THRESHOLD
    from apps.chatbot.neighbours import blend
    from apps.chatbot.scoring import build_artifact_writer, figures, metrics_for
    from lepton_shared.data import fingerprint
    from lepton_shared.registry import Registry

    vote, weight, head, votes, y = fit_vote(run)
    proba = blend(head, votes, weight)
    threshold = choose_threshold(proba[y >= 0], args.max_drop)
    train_seconds = time.perf_counter() - run.started  # fine-tuning, vote and threshold: all of training
    metrics = metrics_for(proba, y, threshold)
    result = run.result
    metrics.update({"train_seconds": round(train_seconds, 1), "epochs_run": result.epochs_run,
                    "best_epoch": result.best_epoch, "samples_per_second": round(result.samples_per_second, 1),
                    "train_rows": len(run.train), "intents": len(run.labels), "neighbour_weight": weight,
                    "head_only_accuracy": metrics_for(head, y, threshold).get("accuracy", 0.0)})
    baseline = fit_baseline(run.train, args.seed)
    metrics["baselines"] = {BASELINE_NAME: baseline_metrics(baseline, run.val)}
    faq_threshold = args.faq_threshold if args.faq_threshold is not None else DEFAULT_FAQ_THRESHOLD
    write_model = build_artifact_writer(run.model, run.tokenizer, run.labels, threshold, run.faq, faq_threshold,
                                        metrics, figures(proba, y, run.labels, threshold, result.history), vote,
                                        weight)

    def write(folder: Path) -> None:
        write_model(folder)
        save_baseline(baseline, folder)

    params = {"source": run.source, "tiny": bool(args.tiny), "val_fraction": args.val_fraction, "seed": args.seed,
              **dict(vars(run.settings)), "max_drop": args.max_drop, "faq_rows": len(run.faq),
              "device": str(run.settings.device)}
    return Registry().register("chatbot", write, metrics=metrics, params=params,
                               data_fingerprint=fingerprint(run.frame), promote=promote)
