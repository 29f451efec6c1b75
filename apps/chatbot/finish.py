"""Everything after fine-tuning: the blend (neighbour vote, TF-IDF model), the
out-of-scope threshold, validation metrics, the artifact and its registration.

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

    from apps.chatbot.ensemble import IntentScorer
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


def fit_vote(run: FittedRun) -> tuple[NeighbourVote, np.ndarray, np.ndarray, np.ndarray]:
    """The neighbour vote over the training messages, and the validation part's logits, L2-normalised
    embeddings and label ids (-1: out-of-scope rows)."""
    from apps.chatbot.model import infer
    from apps.chatbot.neighbours import NeighbourVote
    from apps.chatbot.scoring import label_ids

    _, train_emb = infer(run.model, run.tokenizer, list(run.train["text"]))
    vote = NeighbourVote(train_emb, label_ids(run.labels, run.train), len(run.labels))
    logits, val_emb = infer(run.model, run.tokenizer, list(run.val["text"]))
    return vote, logits, val_emb, label_ids(run.labels, run.val)


def fit_scorer(run: FittedRun, seed: int) -> tuple[IntentScorer, np.ndarray, np.ndarray, np.ndarray]:
    """The blend of head, neighbour vote and TF-IDF model with weights chosen on the validation part, and
    that part's head probabilities, blended probabilities and out-of-scope scores."""
    from apps.chatbot.baselines import fit_baseline
    from apps.chatbot.ensemble import SIMILARITY, IntentScorer, choose_weights, text_proba
    from apps.chatbot.model import softmax

    vote, logits, val_emb, y = fit_vote(run)
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


def finish(run: FittedRun, args: argparse.Namespace, promote: bool = True) -> ModelInfo:
    """Blend in the neighbour vote and the TF-IDF model and choose the out-of-scope threshold on validation
    data, write the artifact, register it."""
    from apps.chatbot.baselines import BASELINE_NAME, baseline_metrics, save_baseline
    from apps.chatbot.calibration import choose_score_threshold
    from apps.chatbot.faq import DEFAULT_FAQ_THRESHOLD
    from apps.chatbot.scoring import build_artifact_writer, figures, label_ids, metrics_for
    from lepton_shared.data import fingerprint
    from lepton_shared.registry import Registry
    from lepton_shared.training.trainer import resolve_device

    scorer, head, proba, oos_scores = fit_scorer(run, args.seed)
    y = label_ids(run.labels, run.val)
    threshold = choose_score_threshold(oos_scores[y >= 0], args.max_drop)
    train_seconds = time.perf_counter() - run.started  # fine-tuning, blend and threshold: all of training
    metrics = metrics_for(proba, y, threshold, oos_scores)
    result = run.result
    metrics.update({"train_seconds": round(train_seconds, 1), "epochs_run": result.epochs_run,
                    "best_epoch": result.best_epoch, "samples_per_second": round(result.samples_per_second, 1),
                    "train_rows": len(run.train), "intents": len(run.labels), **scorer.config(),
                    "head_only_accuracy": metrics_for(head, y, 0.0).get("accuracy", 0.0)})
    baseline = scorer.text_model
    metrics["baselines"] = {BASELINE_NAME: baseline_metrics(baseline, run.val)}
    faq_threshold = args.faq_threshold if args.faq_threshold is not None else DEFAULT_FAQ_THRESHOLD
    write_model = build_artifact_writer(run.model, run.tokenizer, run.labels, threshold, run.faq, faq_threshold,
                                        metrics, figures(proba, y, run.labels, threshold, result.history,
                                                         oos_scores, "similarity to the nearest training message"),
                                        scorer)

    def write(folder: Path) -> None:
        write_model(folder)
        save_baseline(baseline, folder)

    params = {"source": run.source, "tiny": bool(args.tiny), "val_fraction": args.val_fraction, "seed": args.seed,
              **dict(vars(run.settings)), "max_drop": args.max_drop, "faq_rows": len(run.faq),
              "device": str(resolve_device(run.settings.device))}
    return Registry().register("chatbot", write, metrics=metrics, params=params,
                               data_fingerprint=fingerprint(run.frame), promote=promote)
