"""Would another blend of the chatbot's parts do better? Checked on the models ``benchmarks.seeds`` trained.

For each seed's model (``var/bench/seeds/chatbot-<seed>``) this scores its three parts (fine-tuned head, nearest-
neighbour vote, TF-IDF model) on the validation rows that training held out (the same split, rebuilt from the
seed) and on the test file, then chooses each candidate blend's weights on validation exactly as training does
(accuracy smoothed over neighbouring grid points) and reports validation and test accuracy. Candidates: the linear
mixture training uses, at several neighbour-vote temperatures, and a log-linear mixture. Prints one JSON line per
seed; no test figure feeds any choice.

    python -m benchmarks.chatbot_blends --data ../shared/datasets/banking77 --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.seeds import HOMES

TEMPERATURES = (0.02, 0.03, 0.05, 0.08)
VOTE_GRID = tuple(round(0.1 * i, 1) for i in range(9))
TEXT_GRID = tuple(round(0.05 * i, 2) for i in range(13))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _accuracy(proba: np.ndarray, y: np.ndarray) -> float:
    return float((proba.argmax(axis=1) == y).mean())


def log_linear(head: np.ndarray, vote: np.ndarray, text: np.ndarray, wv: float, wt: float) -> np.ndarray:
    """A product of experts: ``softmax((1 - wv - wt) log head + wv log vote + wt log text)``."""
    def log(p: np.ndarray) -> np.ndarray:
        return np.asarray(np.log(p + 1e-9))

    return _softmax((1.0 - wv - wt) * log(head) + wv * log(vote) + wt * log(text))


def choose_on_grid(blend: Callable[[float, float], np.ndarray], y: np.ndarray) -> tuple[float, float]:
    """The (vote, text) weights with the best validation accuracy averaged over neighbouring grid points, as
    ``ensemble.choose_weights`` does for the linear mixture."""
    accuracy = {(i, j): _accuracy(blend(wv, wt), y) for i, wv in enumerate(VOTE_GRID)
                for j, wt in enumerate(TEXT_GRID) if wv + wt <= 0.9 + 1e-9}

    def smoothed(cell: tuple[int, int]) -> float:
        near = [accuracy[n] for n in ((cell[0] + a, cell[1] + b) for a in (-1, 0, 1) for b in (-1, 0, 1))
                if n in accuracy]
        return sum(near) / len(near)

    best = max(accuracy, key=lambda c: (round(smoothed(c), 9), -(VOTE_GRID[c[0]] + TEXT_GRID[c[1]])))
    return VOTE_GRID[best[0]], TEXT_GRID[best[1]]


def parts(seed: int, data: Path) -> dict[str, dict[str, np.ndarray]]:
    """Per split (val, test): head probabilities, per-intent nearest-neighbour similarity, TF-IDF
    probabilities and label ids."""
    from apps.chatbot.baselines import load_baseline
    from apps.chatbot.data import MIN_EXAMPLES, load_intents, split
    from apps.chatbot.ensemble import IntentScorer, text_proba
    from apps.chatbot.model import infer, load_model
    from apps.chatbot.scoring import label_ids
    from lepton_shared.registry import Registry
    from lepton_shared.testing.env import lepton_env

    with lepton_env(HOMES / f"chatbot-{seed}"):
        info = Registry().get("chatbot", None)
        tokenizer, model, config = load_model(info.path, "cpu")
        scorer = IntentScorer.load(info.path, config)
        text_model = load_baseline(info.path)
    assert scorer.vote is not None and text_model is not None
    frame = load_intents(data / "train.csv", min_examples=MIN_EXAMPLES)
    _, val = split(frame, float(info.params["val_fraction"]), seed)
    out = {}
    for name, rows in (("val", val), ("test", load_intents(data / "test.csv"))):
        texts = list(rows["text"])
        logits, embeddings = infer(model, tokenizer, texts)
        sims = embeddings.astype(np.float32) @ scorer.vote.embeddings.T
        out[name] = {"head": _softmax(logits.astype(np.float64)),
                     "nearest": np.maximum.reduceat(sims, scorer.vote.starts, axis=1),
                     "text": text_proba(text_model, texts, scorer.labels), "y": label_ids(scorer.labels, rows)}
    return out


def compare(p: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    from apps.chatbot.ensemble import choose_weights, combine

    val, test = p["val"], p["test"]
    out: dict[str, Any] = {"head alone": [_accuracy(val["head"], val["y"]), _accuracy(test["head"], test["y"])]}
    for t in TEMPERATURES:
        vote = {name: _softmax(s["nearest"] / t) for name, s in (("val", val), ("test", test))}
        wv, wt = choose_weights(val["head"], vote["val"], val["text"], val["y"])
        out[f"linear, vote temperature {t}"] = [
            _accuracy(combine(s["head"], vote[n], s["text"], wv, wt), s["y"]) for n, s in (("val", val), ("test", test))
        ] + [wv, wt]
        wv, wt = choose_on_grid(partial(log_linear, val["head"], vote["val"], val["text"]), val["y"])
        out[f"log-linear, vote temperature {t}"] = [
            _accuracy(log_linear(s["head"], vote[n], s["text"], wv, wt), s["y"]) for n, s in (("val", val),
                                                                                              ("test", test))
        ] + [wv, wt]
    return {k: [round(v, 4) for v in vals] for k, vals in out.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the banking77 folder (train.csv, test.csv)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    for seed in args.seeds:
        print(json.dumps({"seed": seed, "validation / test accuracy (and weights)": compare(parts(seed, args.data))}),
              flush=True)


if __name__ == "__main__":
    main()
