"""Training and evaluation runs: data -> features -> protocol split -> candidates -> metrics."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from apps.fraud.features import BASELINE_FEATURES, FEATURES, FeatureConfig, offline_features
from apps.fraud.model import FraudModel, fit_baselines, fit_lightgbm, fit_mlp
from apps.fraud.protocol import Periods, resolve_periods, score_metrics, split
from lepton_shared.errors import UserError

CANDIDATES = ("lightgbm", "mlp")


def load_data(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    """The transactions of ``--data``, or the built-in simulation; plus a short description."""
    if args.data is not None:
        from apps.fraud.loaders import load_transactions

        df, source = load_transactions(args.data), str(args.data)
    else:
        from apps.fraud.simulator import builtin_config, simulate

        cfg = builtin_config(tiny=getattr(args, "tiny", False), seed=args.seed)
        df = simulate(cfg)
        source = f"built-in simulation ({cfg.n_customers} customers, {cfg.n_terminals} terminals, " \
                 f"{cfg.n_days} days, seed {cfg.seed})"
    if getattr(args, "with_feedback", False):
        from apps.fraud.online import feedback_frame

        extra = feedback_frame()
        if len(extra):
            extra = extra.assign(TRANSACTION_ID=extra["TRANSACTION_ID"] + int(df["TRANSACTION_ID"].max()) + 1)
            df = pd.concat([df, extra], ignore_index=True).sort_values(
                ["TX_DATETIME", "TRANSACTION_ID"], kind="stable").reset_index(drop=True)
            source += f" + {len(extra)} labelled served transactions"
    return df, source


def periods_from(args: argparse.Namespace, df: pd.DataFrame) -> Periods:
    return resolve_periods(df, getattr(args, "train_start", None), getattr(args, "train_days", 7),
                           getattr(args, "delay_days", 7), getattr(args, "test_days", 7))


def _validation_split(df: pd.DataFrame, periods: Periods) -> tuple[np.ndarray, np.ndarray]:
    """The same protocol one step earlier (its test week is our training week, all labels known);
    without enough history, the last two training days validate a model fitted on the others."""
    earlier = periods.shifted(-(periods.train_days + periods.delay_days))
    if earlier.train_start >= df["TX_DATETIME"].min().normalize():
        try:
            return split(df, earlier)
        except UserError:
            pass
    dt = df["TX_DATETIME"]
    cut = periods.train_end - pd.Timedelta(days=min(2, periods.train_days - 1) or 1)
    tr = np.flatnonzero(((dt >= periods.train_start) & (dt < cut)).to_numpy())
    va = np.flatnonzero(((dt >= cut) & (dt < periods.train_end)).to_numpy())
    return tr, va


@dataclass
class TrainResult:
    model: FraudModel
    metrics: dict[str, Any]
    validation: dict[str, float]
    periods: Periods
    test_scores: np.ndarray
    test_frame: pd.DataFrame
    baseline_scores: dict[str, np.ndarray] = field(default_factory=dict)


def baseline_results(df: pd.DataFrame, x: pd.DataFrame, train: np.ndarray, test: np.ndarray,
                     seed: int) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    y = df["TX_FRAUD"].to_numpy()
    models = fit_baselines(x.iloc[train][BASELINE_FEATURES].to_numpy(), y[train], seed)
    out, scores = {}, {}
    for name, model in models.items():
        scores[name] = model.predict_proba(x.iloc[test][BASELINE_FEATURES].to_numpy())[:, 1]
        out[name] = score_metrics(df.iloc[test], scores[name])
    return out, scores


def train_models(df: pd.DataFrame, periods: Periods, epochs: int, seed: int = 42, device: str = "auto",
                 candidates: tuple[str, ...] = CANDIDATES) -> TrainResult:
    """Pick the best candidate by validation AP, refit it on the training week, test it and the baselines."""
    steps = tqdm(total=3 + len(candidates), desc="fraud", leave=False, dynamic_ncols=True)
    steps.set_postfix_str("features")
    x = offline_features(df, FeatureConfig())
    y = df["TX_FRAUD"].to_numpy()
    train, test = split(df, periods)
    v_train, v_val = _validation_split(df, periods)
    if y[v_train].sum() == 0 or y[v_val].sum() == 0:
        raise UserError("the validation period holds no fraud; give more data or a later --train-start")
    steps.update()
    xs = x[FEATURES].to_numpy()
    validation: dict[str, float] = {}
    fitted: dict[str, FraudModel] = {}
    for name in candidates:
        steps.set_postfix_str(f"validating {name}")
        if name == "lightgbm":
            fitted[name] = fit_lightgbm(xs[v_train], y[v_train], FEATURES, seed)
        else:
            fitted[name] = fit_mlp(xs[v_train], y[v_train], FEATURES, xs[v_val], y[v_val], epochs, seed, device)
        validation[name] = float(score_metrics(df.iloc[v_val], fitted[name].predict_proba(xs[v_val]))
                                 ["average_precision"])
        steps.update()
    best = max(validation, key=lambda k: validation[k])
    steps.set_postfix_str(f"refitting {best}")
    if best == "lightgbm":
        model = fit_lightgbm(xs[train], y[train], FEATURES, seed)
    else:
        epochs_best = int(fitted[best].info.get("best_epoch", epochs)) or epochs
        model = fit_mlp(xs[train], y[train], FEATURES, xs[v_val], y[v_val], epochs_best, seed, device)
    model.info.update({"validation_average_precision": validation, "selected": best})
    steps.update()
    steps.set_postfix_str("baselines")
    scores = model.predict_proba(xs[test])
    contrib = np.abs(model.contributions(xs[test][:2000])).mean(axis=0)
    model.info["mean_abs_contribution"] = {f: round(float(c), 5) for f, c in zip(FEATURES, contrib, strict=True)}
    metrics: dict[str, Any] = score_metrics(df.iloc[test], scores)
    baselines, baseline_scores = baseline_results(df, x, train, test, seed)
    metrics["baselines"] = baselines
    metrics["model"] = best
    metrics["validation_average_precision"] = validation
    metrics["n_train"] = len(train)
    metrics["n_test"] = len(test)
    metrics["test_fraud_rate"] = float(y[test].mean())
    metrics.update({f"{k}_period": v for k, v in periods.describe().items()})
    steps.update()
    steps.close()
    return TrainResult(model, metrics, validation, periods, scores, df.iloc[test], baseline_scores)


def evaluate_model(model: FraudModel, df: pd.DataFrame, periods: Periods, seed: int = 42) -> dict[str, Any]:
    """A registered model and freshly fitted baselines on one protocol split of ``df``."""
    x = offline_features(df, FeatureConfig())
    train, test = split(df, periods)
    scores = model.predict_proba(x.iloc[test][model.features].to_numpy())
    metrics: dict[str, Any] = score_metrics(df.iloc[test], scores)
    metrics["baselines"] = baseline_results(df, x, train, test, seed)[0]
    metrics["n_test"] = len(test)
    metrics.update({f"{k}_period": v for k, v in periods.describe().items()})
    return metrics


def report_figures(result: TrainResult) -> dict[str, Any]:
    """Precision-recall and ROC curves (model vs baselines), feature contributions, daily card precision."""
    from matplotlib.figure import Figure
    from sklearn import metrics as skm

    y = result.test_frame["TX_FRAUD"].to_numpy()
    curves = {f"{result.metrics['model']} (ours)": result.test_scores, **result.baseline_scores}
    pr, roc = Figure(figsize=(5, 4)), Figure(figsize=(5, 4))
    ax_pr, ax_roc = pr.subplots(), roc.subplots()
    for name, s in curves.items():
        p, r, _ = skm.precision_recall_curve(y, s)
        ax_pr.plot(r, p, label=f"{name} AP={skm.average_precision_score(y, s):.3f}")
        fpr, tpr, _ = skm.roc_curve(y, s)
        ax_roc.plot(fpr, tpr, label=f"{name} AUC={skm.roc_auc_score(y, s):.3f}")
    ax_pr.set(xlabel="recall", ylabel="precision", title="Precision-recall on the test week")
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC on the test week")
    ax_pr.legend(fontsize=7)
    ax_roc.legend(fontsize=7)
    imp = Figure(figsize=(6, 6))
    ax = imp.subplots()
    contrib = result.model.info.get("mean_abs_contribution", {})
    if contrib:
        names = sorted(contrib, key=lambda k: contrib[k])
        ax.barh(names, [contrib[n] for n in names])
        ax.set(title="Mean |contribution| to the log-odds (test week)")
        ax.tick_params(labelsize=7)
    hist = Figure(figsize=(5, 4))
    axh = hist.subplots()
    axh.hist(result.test_scores[y == 0], bins=50, alpha=0.6, label="genuine", density=True, log=True)
    axh.hist(result.test_scores[y == 1], bins=50, alpha=0.6, label="fraud", density=True, log=True)
    axh.set(xlabel="fraud score", title="Score distribution on the test week")
    axh.legend()
    return {"Precision-recall": pr, "ROC": roc, "Feature contributions": imp, "Scores": hist}


def write_artifact(folder: Path, result: TrainResult, policy: dict[str, Any], source: str) -> None:
    from lepton_shared.evaluation import write_report

    result.model.save(folder)
    (folder / "policy.json").write_text(json.dumps(policy, indent=2))
    (folder / "features.json").write_text(json.dumps({"delay": FeatureConfig().delay, "features": FEATURES}))
    # reference score distribution for drift monitoring
    quantiles = np.quantile(result.test_scores, np.linspace(0, 1, 11)).tolist()
    (folder / "reference.json").write_text(json.dumps({"score_deciles": quantiles,
                                                       "mean_score": float(result.test_scores.mean())}))
    flat = {k: v for k, v in result.metrics.items() if k != "baselines"}
    for name, values in result.metrics["baselines"].items():
        flat.update({f"baseline {name} {k}": v for k, v in values.items()})
    write_report(folder / "report.html", "Fraud model report", flat, report_figures(result),
                 notes=f"Data: {source}. Protocol: train {result.periods.describe()['train']}, "
                       f"{result.periods.delay_days}-day delay, test {result.periods.describe()['test']}.")
