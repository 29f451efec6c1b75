"""Metrics, report figures and the artifact of a fine-tuned intent model.

Kept apart from ``training.py`` (the slow fine-tuning) so evaluation, the
post-fit steps and the service share one scoring path (``IntentScorer``): head
probabilities blended with the neighbour vote and the TF-IDF model, then the
out-of-scope threshold on the out-of-scope score.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from apps.chatbot.data import OOS_LABEL
from apps.chatbot.ensemble import IntentScorer
from apps.chatbot.faq import FaqIndex
from apps.chatbot.intents import BANK_INTENTS
from apps.chatbot.model import IntentModel, IntentNetwork, infer, save_model
from apps.chatbot.oos import oos_metrics
from lepton_shared.errors import UserError
from lepton_shared.evaluation import classification_metrics

if TYPE_CHECKING:
    import torch

    from lepton_shared.registry import ModelInfo


def label_ids(labels: list[str], frame: pd.DataFrame) -> np.ndarray:
    """Row labels as intent indices (-1 for ``oos``); unknown labels are a user error."""
    index = {name: i for i, name in enumerate(labels)}
    unknown = sorted(set(frame["label"]) - set(index) - {OOS_LABEL})
    if unknown:
        raise UserError(f"the evaluation data has {len(unknown)} label(s) this model does not know: "
                        f"{', '.join(unknown[:5])}; use rows labelled with the model's intents or 'oos'")
    return np.array([index.get(label, -1) for label in frame["label"]], dtype=np.int64)


def metrics_for(proba: np.ndarray, y: np.ndarray, threshold: float,
                oos_scores: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics of probabilities ``proba`` against ``y`` (-1: out-of-scope rows).

    ``accuracy``/``f1_macro`` are over in-scope rows without the threshold;
    with ``oos`` rows present, ``in_scope_accuracy`` and ``oos_recall`` say what the threshold does.
    """
    in_scope = y >= 0
    metrics: dict[str, Any] = {"rows": len(y), "in_scope_rows": int(in_scope.sum())}
    if in_scope.any():
        cls = classification_metrics(y[in_scope], proba[in_scope])
        metrics.update({k: cls[k] for k in ("accuracy", "f1_macro", "ece") if k in cls})
    extra = oos_metrics(proba, y, threshold, oos_scores)
    if not (y < 0).any():
        metrics["accuracy_with_threshold"] = extra.pop("in_scope_accuracy", 0.0)
    metrics.update(extra)
    metrics["oos_threshold"] = threshold
    return metrics


def score(model: IntentNetwork, tokenizer: Any, frame: pd.DataFrame, threshold: float,
          scorer: IntentScorer) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """(metrics, probabilities, label ids) of the model and its ``scorer`` on ``frame``; rows labelled
    ``oos`` are out-of-scope messages."""
    y = label_ids(scorer.labels, frame)
    texts = list(frame["text"])
    logits, embeddings = infer(model, tokenizer, texts)
    proba, oos_scores = scorer.score(logits, embeddings, texts)
    return metrics_for(proba, y, threshold, oos_scores), proba, y


def evaluation_frame(info: ModelInfo, data: Path | None = None) -> pd.DataFrame:
    """The rows ``lepton chatbot evaluate`` scores: the file ``data`` (text,label CSV or JSON; ``oos`` rows are
    out-of-scope), else the held-out part of the built-in data, split exactly as at training time."""
    from apps.chatbot.data import builtin_frame, load_intents, split

    if data is not None:
        return load_intents(data)
    params = info.params
    full = builtin_frame(bool(params.get("tiny")))
    return split(full, float(params.get("val_fraction", 0.1)), int(params.get("seed", 42)))[1]


def evaluate_version(info: ModelInfo, data: Path | None = None, device: str | torch.device | None = None,
                     baselines: bool = True) -> dict[str, Any]:
    """What ``lepton chatbot evaluate`` reports for registered model ``info`` (fp32 or optimised) on
    :func:`evaluation_frame`: the blended scorer's metrics, plus the TF-IDF baseline's with ``baselines``."""
    from apps.chatbot.baselines import BASELINE_NAME, baseline_metrics, load_baseline
    from apps.chatbot.model import load_model

    frame = evaluation_frame(info, data)
    tokenizer, model, config = load_model(info.path, device)
    scorer = IntentScorer.load(info.path, config)
    metrics, _, _ = score(model, tokenizer, frame, float(config["oos_threshold"]), scorer)
    if baselines:
        baseline = scorer.text_model if scorer.text_model is not None else load_baseline(info.path)
        if baseline is not None:
            metrics["baselines"] = {BASELINE_NAME: baseline_metrics(baseline, frame)}
    return metrics


def figures(proba: np.ndarray, y: np.ndarray, labels: list[str], threshold: float,
            history: list[dict[str, float]], oos_scores: np.ndarray | None = None,
            score_name: str = "top probability") -> dict[str, Any]:
    """Plots for the HTML report: out-of-scope score histogram with the threshold, per-intent accuracy,
    learning curve."""
    from matplotlib.figure import Figure

    figs: dict[str, Any] = {}
    conf = proba.max(axis=1) if oos_scores is None else np.asarray(oos_scores)
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    ax.hist(conf[y >= 0], bins=30, alpha=0.7, label="in-scope")
    if (y < 0).any():
        ax.hist(conf[y < 0], bins=30, alpha=0.7, label="out-of-scope")
    ax.axvline(threshold, color="k", linestyle="--", label=f"threshold {threshold:.2f}")
    ax.set_xlabel(score_name)
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
                          report_figures: dict[str, Any], scorer: IntentScorer) -> Any:
    from lepton_shared.evaluation import write_report

    _, faq_emb = infer(model, tokenizer, list(faq["question"])) if len(faq) else (None, np.zeros((0, 384)))
    index = FaqIndex(list(faq["question"]), list(faq["answer"]), faq_emb, faq_threshold)

    def write(folder: Path) -> None:
        save_model(folder, model, tokenizer, labels, {"oos_threshold": threshold, "faq_threshold": faq_threshold,
                                                      **scorer.config()})
        if scorer.vote is not None:  # also the out-of-scope score when its weight is 0
            scorer.vote.save(folder)
        index.save(folder)
        (folder / "policies.json").write_text(json.dumps(policies_for(labels), indent=2))
        write_report(folder / "report.html", "Chatbot intent model", metrics, report_figures,
                     notes="all-MiniLM-L6-v2 fine-tuned with a linear head, blended with a nearest-neighbour vote "
                     f"and a TF-IDF model ({json.dumps(scorer.config())}); metrics on the validation part.")

    return write
