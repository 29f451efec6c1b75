"""Training and evaluation of the fraud scorer: data -> features -> protocol split -> candidates -> metrics.

``train``: the transactions (a file or the built-in simulation, plus the labelled transactions the
service has scored with ``with_feedback``), their features, the candidate (LightGBM, or the torch MLP
through the shared ``Trainer``) with the best average precision on the protocol one step earlier,
refitted on the training week, scored with the handbook's baselines on the test week, and registered
with its cost policy, reference score distribution and report.

``evaluate``: a registered version and freshly fitted baselines on one protocol split of the data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from tqdm.auto import tqdm

from apps.fraud.app import FraudApp
from apps.fraud.config import FraudEvaluateConfig, FraudTrainConfig
from apps.fraud.data import load_data
from apps.fraud.features import BASELINE_FEATURES, FEATURES, FeatureConfig, offline_features
from apps.fraud.model import FraudModel, make_mlp, signed_log
from apps.fraud.policy import CostPolicy, Rule
from apps.fraud.protocol import Periods, resolve_periods, score_metrics, split
from lepton_shared.errors import UserError

if TYPE_CHECKING:
    from lepton_shared.registry import ModelInfo

CANDIDATES = ("lightgbm", "mlp")
"""The models ``train`` may register (``models`` option), the best by validation average precision."""

LGBM_PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 7, "min_child_samples": 20,
    "bagging_fraction": 0.8, "bagging_freq": 1, "feature_fraction": 0.8, "lambda_l2": 10.0,
    "verbose": -1, "num_threads": 1, "deterministic": True,
}
LGBM_ROUNDS = 400
"""Small trees, strong L2: chosen by mean average precision over 3 seeds on the protocol's validation
periods (training weeks from 2018-04-17 and 2018-04-24, i.e. before both test weeks) among leaves 4-15,
min_child_samples 5-100, lambda_l2 1-30, 300-800 rounds, bagging on/off, class weights, 5-seed averaging.
``Hyperparameters`` (from the train config, which ``tune`` searches) overrides the searched ones."""


@dataclass(frozen=True)
class Hyperparameters:
    """The candidates' hyperparameters; the defaults are the hand-tuned ones above (and the config's)."""

    lgbm_leaves: int = 7
    lgbm_learning_rate: float = 0.05
    lgbm_min_child_samples: int = 20
    lgbm_lambda_l2: float = 10.0
    lgbm_feature_fraction: float = 0.8
    lgbm_rounds: int = LGBM_ROUNDS
    mlp_hidden: int = 64
    mlp_lr: float = 3e-3
    mlp_weight_decay: float = 1e-4

    @classmethod
    def from_config(cls, config: FraudTrainConfig) -> Hyperparameters:
        return cls(**{name: getattr(config, name) for name in cls.__dataclass_fields__})

    def lgbm_params(self) -> dict[str, Any]:
        """``LGBM_PARAMS`` with these values."""
        return {**LGBM_PARAMS, "num_leaves": int(self.lgbm_leaves), "learning_rate": float(self.lgbm_learning_rate),
                "min_child_samples": int(self.lgbm_min_child_samples), "lambda_l2": float(self.lgbm_lambda_l2),
                "feature_fraction": float(self.lgbm_feature_fraction)}


# -- LightGBM ---------------------------------------------------------------
def fit_lightgbm(x: np.ndarray, y: np.ndarray, features: list[str], seed: int = 42,
                 rounds: int = LGBM_ROUNDS, params: dict[str, Any] | None = None) -> FraudModel:
    """Gradient-boosted trees; unweighted so the scores stay calibrated probabilities
    (boosting copes with the ~1% fraud rate, and AP / AUC do not need reweighting).
    ``params``: LightGBM parameters instead of ``LGBM_PARAMS``."""
    import lightgbm as lgb

    data = lgb.Dataset(np.asarray(x, dtype=np.float64), label=y, feature_name=features, free_raw_data=True)
    booster = lgb.train({**(params or LGBM_PARAMS), "seed": seed}, data, num_boost_round=rounds)
    return FraudModel("lightgbm", list(features), booster=booster)


def fit_mlp(x: np.ndarray, y: np.ndarray, features: list[str], x_val: np.ndarray, y_val: np.ndarray,
            epochs: int = 5, seed: int = 42, device: str | None = "auto", hidden: int = 64, lr: float = 3e-3,
            weight_decay: float = 1e-4, on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
            quiet: bool = False) -> FraudModel:
    """An MLP on log-scaled, standardised features; the rare class is up-weighted in the loss
    (``pos_weight``) and the weight's log is subtracted from the logits at scoring time.
    ``on_epoch_end`` sees every epoch's validation metrics (a tuning pruner); ``quiet``: no progress,
    no training-run rows (a tuning trial)."""
    import torch
    from torch.utils.data import TensorDataset

    from lepton_shared.training import Trainer, TrainerConfig, seed_everything

    logged = signed_log(np.asarray(x, dtype=np.float64))
    mean, std = logged.mean(axis=0), logged.std(axis=0) + 1e-6
    model = FraudModel("mlp", list(features), mean=mean, std=std, hidden=hidden)
    n_pos = max(1, int(y.sum()))
    pos_weight = float(min(20.0, (len(y) - n_pos) / n_pos))
    model.logit_shift = math.log(pos_weight)
    weight = torch.tensor([pos_weight])

    def loss_fn(net: torch.nn.Module, batch: Any) -> torch.Tensor:
        xb, yb = batch
        return torch.nn.functional.binary_cross_entropy_with_logits(net(xb).squeeze(-1), yb,
                                                                    pos_weight=weight.to(xb.device))

    def eval_fn(net: torch.nn.Module, loader: Any) -> dict[str, float]:
        scores, labels = [], []
        for xb, yb in loader:
            scores.append(net(xb).squeeze(-1).float().cpu().numpy())
            labels.append(yb.cpu().numpy())
        labels_all = np.concatenate(labels)
        if labels_all.min() == labels_all.max():
            return {}
        return {"average_precision": float(skm.average_precision_score(labels_all, np.concatenate(scores)))}

    seed_everything(seed)  # the initial weights too: torch seeds itself at random on start-up
    net = make_mlp(len(features), hidden)
    train_ds = TensorDataset(torch.from_numpy(model.scaled(x)), torch.from_numpy(y.astype(np.float32)))
    val_ds = TensorDataset(torch.from_numpy(model.scaled(x_val)), torch.from_numpy(y_val.astype(np.float32)))
    config = TrainerConfig(epochs=epochs, batch_size=1024, lr=lr, weight_decay=weight_decay, device=device,
                           seed=seed, monitor="average_precision", mode="max", patience=3, best_possible=1.0,
                           app="fraud", show_progress=not quiet, log_to_db=not quiet)
    result = Trainer(net, config, loss_fn, eval_fn, on_epoch_end=on_epoch_end).fit(train_ds, val_ds)
    model.net = net.cpu().eval()
    model.info = {"epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
                  "samples_per_second": round(result.samples_per_second, 1)}
    return model



# -- baselines ------------------------------------------------------------------
def fit_baselines(x: np.ndarray, y: np.ndarray, seed: int = 42) -> dict[str, Any]:
    """The handbook's comparison models, fitted on its baseline features."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    models = {
        "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000)),
        "random_forest": RandomForestClassifier(n_estimators=100, max_depth=20, min_samples_leaf=2, n_jobs=2,
                                                random_state=seed),
        "gradient_boosting": HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_depth=3,
                                                            random_state=seed),
    }
    for model in models.values():
        model.fit(x, y)
    return models


# -- the protocol -------------------------------------------------------------

def periods_from(config: FraudTrainConfig | FraudEvaluateConfig, df: pd.DataFrame) -> Periods:
    """The protocol's periods from the configuration, checked against the data's dates."""
    return resolve_periods(df, config.train_start, config.train_days, config.delay_days, config.test_days)


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
    """The registered candidate, its test metrics and what the report draws."""

    model: FraudModel
    metrics: dict[str, Any]
    validation: dict[str, float]
    periods: Periods
    test_scores: np.ndarray
    test_frame: pd.DataFrame
    baseline_scores: dict[str, np.ndarray] = field(default_factory=dict)


def baseline_results(df: pd.DataFrame, x: pd.DataFrame, train: np.ndarray, test: np.ndarray,
                     seed: int) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """The baselines fitted on the training rows: their test metrics and test scores, by name."""
    y = df["TX_FRAUD"].to_numpy()
    models = fit_baselines(x.iloc[train][BASELINE_FEATURES].to_numpy(), y[train], seed)
    out, scores = {}, {}
    for name, model in models.items():
        scores[name] = model.predict_proba(x.iloc[test][BASELINE_FEATURES].to_numpy())[:, 1]
        out[name] = score_metrics(df.iloc[test], scores[name])
    return out, scores


@dataclass
class Prepared:
    """The features of the data and the protocol's rows: training and test weeks, and the validation
    split one step earlier (what candidates are chosen, and trials scored, on)."""

    df: pd.DataFrame
    x: pd.DataFrame
    xs: np.ndarray
    y: np.ndarray
    train: np.ndarray
    test: np.ndarray
    v_train: np.ndarray
    v_val: np.ndarray


def prepare(df: pd.DataFrame, periods: Periods) -> Prepared:
    """Features and the protocol's rows of ``df``; a UserError when the validation period holds no fraud."""
    x = offline_features(df, FeatureConfig())
    y = df["TX_FRAUD"].to_numpy()
    train, test = split(df, periods)
    v_train, v_val = _validation_split(df, periods)
    if y[v_train].sum() == 0 or y[v_val].sum() == 0:
        raise UserError("the validation period holds no fraud; give more data or a later --train-start")
    return Prepared(df, x, x[FEATURES].to_numpy(), y, train, test, v_train, v_val)


def fit_candidate(name: str, p: Prepared, fit_rows: np.ndarray, epochs: int, seed: int, device: str | None,
                  hyper: Hyperparameters,
                  on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
                  quiet: bool = False) -> FraudModel:
    """Candidate ``name`` fitted on ``fit_rows`` (the MLP's early stopping watches the validation rows)."""
    if name == "lightgbm":
        return fit_lightgbm(p.xs[fit_rows], p.y[fit_rows], FEATURES, seed, hyper.lgbm_rounds, hyper.lgbm_params())
    return fit_mlp(p.xs[fit_rows], p.y[fit_rows], FEATURES, p.xs[p.v_val], p.y[p.v_val], epochs, seed, device,
                   hidden=hyper.mlp_hidden, lr=hyper.mlp_lr, weight_decay=hyper.mlp_weight_decay,
                   on_epoch_end=on_epoch_end, quiet=quiet)


def validation_average_precision(p: Prepared, name: str, epochs: int, seed: int, device: str | None,
                                 hyper: Hyperparameters,
                                 on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
                                 quiet: bool = False) -> tuple[float, FraudModel]:
    """Candidate ``name`` fitted on the validation split's training rows and its average precision on its
    validation rows: how ``train`` chooses a candidate, and what ``tune`` maximises (the test week stays
    unseen)."""
    model = fit_candidate(name, p, p.v_train, epochs, seed, device, hyper, on_epoch_end, quiet)
    return float(score_metrics(p.df.iloc[p.v_val], model.predict_proba(p.xs[p.v_val]))["average_precision"]), model


def train_models(df: pd.DataFrame, periods: Periods, epochs: int, seed: int = 42, device: str | None = "auto",
                 candidates: tuple[str, ...] = CANDIDATES, hyper: Hyperparameters | None = None) -> TrainResult:
    """Pick the best candidate by validation AP, refit it on the training week, test it and the baselines."""
    hyper = hyper or Hyperparameters()
    steps = tqdm(total=3 + len(candidates), desc="fraud", leave=False, dynamic_ncols=True)
    steps.set_postfix_str("features")
    p = prepare(df, periods)
    x, xs, y, train, test = p.x, p.xs, p.y, p.train, p.test
    steps.update()
    validation: dict[str, float] = {}
    fitted: dict[str, FraudModel] = {}
    for name in candidates:
        steps.set_postfix_str(f"validating {name}")
        validation[name], fitted[name] = validation_average_precision(p, name, epochs, seed, device, hyper)
        steps.update()
    best = max(validation, key=lambda k: validation[k])
    steps.set_postfix_str(f"refitting {best}")
    epochs_best = int(fitted[best].info.get("best_epoch", epochs)) or epochs
    model = fit_candidate(best, p, train, epochs_best, seed, device, hyper)
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
    """Precision-recall and ROC curves (model vs baselines), feature contributions, score distributions."""
    from matplotlib.figure import Figure

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


def write_monitoring_profile(folder: Path, result: TrainResult) -> None:
    """The test week's payments and scores as the reference ``lepton monitor`` compares served traffic with."""
    from lepton_shared.monitoring import write_reference

    frame = result.test_frame
    inputs = [{"tx_amount": float(a), "tx_datetime": t.isoformat()}
              for a, t in zip(frame["TX_AMOUNT"], frame["TX_DATETIME"], strict=True)]
    write_reference("fraud", folder, inputs, [{"score": float(s)} for s in result.test_scores])


def write_artifact(folder: Path, result: TrainResult, policy: dict[str, Any], source: str) -> None:
    """The model, its cost policy, its feature settings, the monitoring profile and the HTML report."""
    from lepton_shared.evaluation import write_report

    result.model.save(folder)
    (folder / "policy.json").write_text(json.dumps(policy, indent=2))
    (folder / "features.json").write_text(json.dumps({"delay": FeatureConfig().delay, "features": FEATURES}))
    write_monitoring_profile(folder, result)
    flat = {k: v for k, v in result.metrics.items() if k != "baselines"}
    for name, values in result.metrics["baselines"].items():
        flat.update({f"baseline {name} {k}": v for k, v in values.items()})
    write_report(folder / "report.html", "Fraud model report", flat, report_figures(result),
                 notes=f"Data: {source}. Protocol: train {result.periods.describe()['train']}, "
                       f"{result.periods.delay_days}-day delay, test {result.periods.describe()['test']}.")


# -- train and evaluate -------------------------------------------------------
def train(config: FraudTrainConfig) -> ModelInfo:
    """Check the options, train on the configured data, register the best candidate with its cost policy."""
    from lepton_shared.data import fingerprint
    from lepton_shared.promotion import register_trained

    candidates = tuple(m.strip() for m in config.models.split(",") if m.strip())
    unknown = [m for m in candidates if m not in CANDIDATES]
    if unknown or not candidates:
        raise UserError(f"--models: unknown {', '.join(unknown) or 'empty list'}; use lightgbm and/or mlp")
    policy = CostPolicy(chargeback_fee=config.chargeback_fee, review_cost=config.review_cost,
                        decline_cost=config.decline_cost, rules=tuple(config.rule))
    for rule in policy.rules:
        Rule.parse(rule, FEATURES)  # fail before training, not at the first request
    df, source = load_data(config.data, config.tiny, config.seed, config.with_feedback)
    periods = periods_from(config, df)
    epochs = config.epochs or FraudApp.default_epochs
    hyper = Hyperparameters.from_config(config)
    result = train_models(df, periods, epochs, config.seed, config.device, candidates, hyper)
    params = {"data": source, "candidates": list(candidates), "epochs": epochs, "seed": config.seed,
              "policy": policy.as_dict(), "hyperparameters": asdict(hyper), **result.periods.describe()}
    return register_trained(
        FraudApp.name, lambda folder: write_artifact(folder, result, policy.as_dict(), source),
        metrics=result.metrics, params=params, data_fingerprint=fingerprint(df), promote=config.promote,
        tolerance=config.tolerance)


def evaluate(config: FraudEvaluateConfig) -> dict[str, Any]:
    """Metrics of the configured version (production by default) and fresh baselines on the configured data."""
    from lepton_shared.registry import Registry

    info = Registry().get(FraudApp.name, config.model)
    model = FraudModel.load(Path(info.path))
    df, _ = load_data(config.data, config.tiny, config.seed)
    metrics = evaluate_model(model, df, periods_from(config, df), config.seed)
    return {"model_version": info.version, **metrics}
