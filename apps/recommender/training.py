"""Training and evaluation of the recommender: the protocol end to end.

train: load (or generate) the data, add the events posted to the service,
split 80/20 (seed 42), tune every family on a validation split carved from
the 80 %, refit the best item-to-item model (EASE or item-kNN) on the whole
80 %, score it and the tuned baselines on the 20 %, and register it.

evaluate: rebuild the same split from the file and score the registered
model and freshly fitted baselines on it; it prints the same numbers as the
training run did for the same data.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse

from apps.recommender.app import RecommenderApp
from apps.recommender.config import RecommenderEvaluateConfig, RecommenderTrainConfig
from apps.recommender.data import Interactions, builtin_spec, load_or_generate
from apps.recommender.model import Artifact, trending_scores
from apps.recommender.models import BASELINES, ItemItemModel, fit_model, item_weights, quiet_implicit, resolve_device
from apps.recommender.protocol import (
    Trial,
    baseline_metrics,
    best_of,
    build,
    candidate_grid,
    encode,
    relative_gain,
    score,
    split,
    tune,
)
from lepton_shared.errors import UserError

if TYPE_CHECKING:
    from lepton_shared.registry import ModelInfo

APP = RecommenderApp.name
SERVING_FAMILIES = ("ease", "item_knn_bm25")
METRIC_KEYS = ("precision_at_10", "map_at_10", "ndcg_at_10", "auc_at_10")


def _pad(matrix: sparse.csr_matrix, shape: tuple[int, int]) -> sparse.csr_matrix:
    coo = matrix.tocoo()
    return sparse.csr_matrix((coo.data, (coo.row, coo.col)), shape=shape, dtype=np.float32)


def in_file_space(model: ItemItemModel, model_items: np.ndarray, file_items: np.ndarray) -> ItemItemModel:
    """The model re-indexed to a data file's item order; items it never saw cannot be recommended."""
    index = pd.Index(model_items)
    pos = index.get_indexer(file_items)
    n = len(file_items)
    if n <= len(model_items) and np.array_equal(pos, np.arange(n)):
        w = model.weights[:n, :n]
        active = None if model.active is None else model.active[:n]
        return ItemItemModel(sparse.csr_matrix(w) if sparse.issparse(w) else w, active)
    known = np.flatnonzero(pos >= 0)
    if len(known) == 0:
        raise UserError("none of the data's items is known to this model: was it trained on other data? "
                        "Pass the --data it was trained on, or train on this data first")
    sub = model.weights[pos[known]][:, pos[known]]
    if sparse.issparse(sub):
        coo = sub.tocoo()
        w2: Any = sparse.csr_matrix((coo.data, (known[coo.row], known[coo.col])), shape=(n, n))
    else:
        w2 = np.zeros((n, n), dtype=np.float32)
        w2[np.ix_(known, known)] = sub
    active = np.zeros(n, dtype=bool)
    active[known] = True if model.active is None else model.active[pos[known]]
    return ItemItemModel(w2, active)


def protocol_scores(model: ItemItemModel, model_items: np.ndarray, data: Interactions,
                    baseline_params: dict[str, dict[str, Any]], seed: int, device: str,
                    show_progress: bool = True) -> dict[str, Any]:
    """The fixed protocol on ``data``: the model and the baselines on the same 80/20 split."""
    enc = encode(data.frame)
    train, test = split(enc.matrix)
    metrics = score(in_file_space(model, model_items, enc.item_ids), train, test)
    baselines = baseline_metrics(train, test, baseline_params, seed, device, show_progress)
    strongest, gain = relative_gain(metrics["ndcg_at_10"], baselines)
    return {**metrics, "baselines": baselines, "strongest_baseline": strongest,
            "ndcg_gain_over_best_baseline": round(gain, 4), "n_users": int(enc.matrix.shape[0]),
            "n_items": int(enc.matrix.shape[1]), "n_interactions": int(enc.matrix.nnz),
            "n_test_interactions": int(test.nnz)}


def _data_spec(config: RecommenderTrainConfig) -> dict[str, Any]:
    """Where the training data comes from, as the artifact records it (``evaluate`` reads it back)."""
    if config.data is not None:
        return {"path": str(Path(config.data).resolve()),
                "items": str(Path(config.items).resolve()) if config.items else None}
    return {"builtin": builtin_spec(config.tiny, config.synthetic_interactions, seed=42)}


def _load(spec: dict[str, Any]) -> Interactions:
    if "builtin" in spec:
        return load_or_generate(None, spec["builtin"])
    return load_or_generate(Path(spec["path"]), {}, Path(spec["items"]) if spec.get("items") else None)


@dataclass
class Prepared:
    """The data of a training run: the file (or built-in shop), the stored events, their encodings and the
    protocol's 80 % training part with the events added (what tuning and the refit see)."""

    spec: dict[str, Any]
    data: Interactions
    events: pd.DataFrame
    all_enc: Any
    train_all: sparse.csr_matrix

    @property
    def mean_item_count(self) -> float:
        """Interactions per item in the training part: the scale of a good EASE λ."""
        return max(1.0, self.train_all.nnz / max(1, self.train_all.shape[1]))


def prepare(config: RecommenderTrainConfig, verbose: bool = True) -> Prepared:
    """Load the configured data and events and build the protocol's training part (never its 20 % test)."""
    from apps.recommender.storage import load_events

    spec = _data_spec(config)
    data = _load(spec)
    events = load_events() if config.use_events else pd.DataFrame()
    if verbose:
        print(f"recommender: {len(data)} interactions, {data.n_users} users, {data.n_items} items from "
              f"{data.source}" + (f", plus {len(events)} stored events" if len(events) else ""), file=sys.stderr)
    file_enc = encode(data.frame)
    train_part, _ = split(file_enc.matrix)
    all_enc = encode(events, file_enc.user_ids, file_enc.item_ids) if len(events) else file_enc
    train_all = _pad(train_part, all_enc.matrix.shape)
    if len(events):
        train_all = train_all + all_enc.matrix
        train_all.data[:] = 1.0
    return Prepared(spec, data, events, all_enc, train_all)


def chosen_model(config: RecommenderTrainConfig, mean_item_count: float) -> dict[str, list[dict[str, Any]]] | None:
    """The served family and its parameters when the config fixes them (``train --params best``), as a
    one-candidate grid; None when train should search its grid of both families."""
    if config.family is None:
        return None
    if config.family == "ease":
        l2 = config.ease_l2 if config.ease_l2 is not None else round(2.0 * mean_item_count, 1)
        return {"ease": [{"l2": float(l2)}]}
    if config.family == "item_knn_bm25":
        return {"item_knn_bm25": [{"k": int(config.knn_k), "k1": float(config.knn_k1), "b": float(config.knn_b)}]}
    raise UserError(f"family {config.family!r} is not a served model; use one of: {', '.join(SERVING_FAMILIES)}")


def validation_ndcg(prepared: Prepared, config: RecommenderTrainConfig) -> float:
    """NDCG@10 of the config's model fitted on the fit part and scored on the validation part of the training
    split, as ``train`` scores its candidates (what ``tune`` maximises); the test split stays unseen."""
    grid = chosen_model(config, prepared.mean_item_count)
    if grid is None:
        raise UserError("validation_ndcg needs a family")
    device = resolve_device(config.device)
    with quiet_implicit():
        trials = tune(prepared.train_all, grid, config.seed, device, show_progress=False)
    return float(trials[0].metrics["ndcg_at_10"])


def train(config: RecommenderTrainConfig) -> ModelInfo:
    """Tune every family on validation, refit the best item-to-item model, score it against the baselines,
    register it."""
    from lepton_shared.data import fingerprint
    from lepton_shared.promotion import register_trained

    started = time.perf_counter()
    device = resolve_device(config.device)
    epochs = config.epochs or RecommenderApp.default_epochs
    prepared = prepare(config)
    spec, data, events, all_enc, train_all = (prepared.spec, prepared.data, prepared.events, prepared.all_enc,
                                              prepared.train_all)
    shape = all_enc.matrix.shape
    fixed = chosen_model(config, prepared.mean_item_count)
    with quiet_implicit():
        t0 = time.perf_counter()
        grid = candidate_grid(shape[1], train_all.nnz, config.tiny, epochs)
        if fixed is not None:  # the served family with its tuned parameters; the baselines keep their grids
            grid = {**grid, **fixed}
        trials = tune(train_all, grid, config.seed, device)
        tune_s = time.perf_counter() - t0
        best = best_of(trials, grid.keys())
        family = next(iter(fixed)) if fixed is not None else max(SERVING_FAMILIES,
                                                                 key=lambda f: best[f].metrics["ndcg_at_10"])
        chosen = best[family]
        t0 = time.perf_counter()
        model = item_weights(fit_model(build(family, chosen.params, config.seed, device), train_all))
        fit_s = time.perf_counter() - t0
        baseline_params = {name: best[name].params for name in BASELINES if name in best}
        result = protocol_scores(model, all_enc.item_ids, data, baseline_params, config.seed, device)

    full = pd.concat([data.frame, events], ignore_index=True) if len(events) else data.frame
    history = encode(full, all_enc.user_ids, all_enc.item_ids).matrix
    catalogue = pd.DataFrame({"item_id": all_enc.item_ids}).merge(data.catalogue, on="item_id", how="left")
    catalogue["title"] = catalogue["title"].fillna(catalogue["item_id"])
    catalogue["category"] = catalogue["category"].fillna("unknown")
    popularity = np.asarray(history.sum(axis=0), dtype=np.float32).ravel()
    info = {"family": family, "params": chosen.params, "baseline_params": baseline_params, "data": spec,
            "source": data.source}
    artifact = Artifact(model=model, catalogue=catalogue, user_ids=[str(u) for u in all_enc.user_ids],
                        history=history, popularity=popularity,
                        trending=trending_scores(full, all_enc.item_ids), info=info)
    metrics = {key: result[key] for key in METRIC_KEYS}
    metrics.update({
        "val_ndcg_at_10": chosen.metrics["ndcg_at_10"],
        "strongest_baseline": result["strongest_baseline"],
        "ndcg_gain_over_best_baseline": result["ndcg_gain_over_best_baseline"],
        "baselines": result["baselines"],
    })
    timings = {"tune_s": round(tune_s, 2), "fit_s": round(fit_s, 2),
               "total_s": round(time.perf_counter() - started, 2)}
    params = {"family": family, **chosen.params, "epochs": epochs, "seed": config.seed, "device": device, "data": spec,
              "events_used": len(events), "timings": timings, "n_users": shape[0], "n_items": shape[1],
              "validation": [{"family": t.family, "params": t.params, "ndcg_at_10": t.metrics["ndcg_at_10"]}
                             for t in trials]}

    def write(folder: Path) -> None:
        artifact.save(folder)
        write_monitoring_profile(folder, artifact, config.seed)
        _write_report(folder / "report.html", metrics, trials, popularity, family, chosen, data.source)

    return register_trained(APP, write, metrics=metrics, params=params,
                            data_fingerprint=fingerprint(data.frame), promote=config.promote,
                            tolerance=config.tolerance)


def write_monitoring_profile(folder: Path, artifact: Artifact, seed: int, users: int = 1000) -> None:
    """Answers to up to ``users`` of the training users (10 items, any category) as the reference
    ``lepton monitor`` compares served answers with."""
    from apps.recommender.engine import Engine
    from lepton_shared.monitoring import write_reference

    engine = Engine(artifact, "reference")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(artifact.user_ids), min(users, len(artifact.user_ids)), replace=False)
    users_chosen = [artifact.user_ids[int(i)] for i in chosen]
    write_reference(APP, folder, [{"user_id": u, "k": 10} for u in users_chosen],
                    [engine.for_user(u, 10) for u in users_chosen])


def evaluate(config: RecommenderEvaluateConfig) -> dict[str, Any]:
    """The registered version and its tuned baselines on the protocol split of ``config.data``, or of the
    data it was trained on."""
    from lepton_shared.registry import Registry

    info = Registry().get(APP, config.model)
    artifact = Artifact.load(info.path)
    spec = artifact.info["data"]
    if config.data is not None:
        spec = {"path": str(config.data), "items": str(config.items) if config.items else None}
    elif "path" in spec and not Path(spec["path"]).exists():
        raise UserError(f"model {info.version} was trained on {spec['path']}, which no longer exists; pass --data")
    data = _load(spec)
    device = resolve_device(config.device)
    item_ids = artifact.catalogue["item_id"].to_numpy(dtype=object)
    with quiet_implicit():
        result = protocol_scores(artifact.model, item_ids, data, artifact.info["baseline_params"], config.seed,
                                 device)
    return {**result, "model": artifact.info["family"], "model_version": info.version, "data": data.source}


def _write_report(path: Path, metrics: dict[str, Any], trials: list[Trial], popularity: np.ndarray, family: str,
                  chosen: Trial, source: str) -> None:
    from matplotlib.figure import Figure

    from lepton_shared.evaluation import write_report

    figures = {}
    names = [family, *metrics["baselines"].keys()]
    values = [metrics["ndcg_at_10"], *(m["ndcg_at_10"] for m in metrics["baselines"].values())]
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    bars = ax.bar(names, values, color=["#2a7"] + ["#999"] * (len(names) - 1))
    ax.bar_label(bars, fmt="%.3f")
    ax.set_ylabel("NDCG@10 on the 20 % test split")
    ax.set_title("Registered model against the baselines")
    figures["ndcg_vs_baselines"] = fig

    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    for fam in sorted({t.family for t in trials}):
        ts = [t for t in trials if t.family == fam]
        ax.plot(range(len(ts)), [t.metrics["ndcg_at_10"] for t in ts], marker="o", label=fam)
    ax.set_xlabel("candidate (grid order)")
    ax.set_ylabel("validation NDCG@10")
    ax.set_title("Hyperparameter search (validation split of the 80 %)")
    ax.legend(fontsize=7)
    figures["validation_search"] = fig

    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    ax.loglog(np.arange(1, len(popularity) + 1), np.sort(popularity)[::-1] + 1e-9)
    ax.set_xlabel("item rank")
    ax.set_ylabel("interactions")
    ax.set_title("Item popularity (long tail)")
    figures["popularity_long_tail"] = fig
    summary = {k: v for k, v in metrics.items() if k != "baselines"}
    for name, m in metrics["baselines"].items():
        summary[f"baseline {name} ndcg_at_10"] = m["ndcg_at_10"]
    write_report(path, f"Recommender ({family})", {**summary, "chosen_params": chosen.params},
                 figures=figures, notes=f"Data: {source}. Protocol: random 80/20 split of interactions (seed 42), "
                                        f"training items filtered, K=10; tuning on a validation split of the 80 %.")
