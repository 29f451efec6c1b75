"""The fraud models: LightGBM (strong tabular model), a torch MLP trained with the shared
``Trainer``, and the handbook's baselines. The candidate with the best average precision
on a validation period is the one registered.

Both models expose ``predict_proba`` and ``contributions`` (per-feature contributions
to the log-odds, used for reason codes): LightGBM's exact tree SHAP values
(``pred_contrib=True``), and gradient x (input - mean) for the MLP.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn import metrics as skm

LGBM_PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 7, "min_child_samples": 20,
    "bagging_fraction": 0.8, "bagging_freq": 1, "feature_fraction": 0.8, "lambda_l2": 10.0,
    "verbose": -1, "num_threads": 1, "deterministic": True,
}
LGBM_ROUNDS = 400
"""Small trees, strong L2: chosen by mean average precision over 3 seeds on the protocol's validation
periods (training weeks from 2018-04-17 and 2018-04-24, i.e. before both test weeks) among leaves 4-15,
min_child_samples 5-100, lambda_l2 1-30, 300-800 rounds, bagging on/off, class weights, 5-seed averaging."""


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class FraudModel:
    """A fitted scorer over a fixed list of features."""

    kind: str  # "lightgbm" | "mlp"
    features: list[str]
    booster: Any = None
    net: Any = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    logit_shift: float = 0.0  # undoes the positive-class weight so scores stay probabilities
    hidden: int = 64
    info: dict[str, Any] = field(default_factory=dict)

    # -- scoring ----------------------------------------------------------
    def _scaled(self, x: np.ndarray) -> np.ndarray:
        assert self.mean is not None and self.std is not None
        return ((_signed_log(x) - self.mean) / self.std).astype(np.float32)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "lightgbm":
            return np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)
        import torch

        with torch.no_grad():
            logits = self.net(torch.from_numpy(self._scaled(x))).squeeze(-1).double().numpy()
        return 1.0 / (1.0 + np.exp(-(logits - self.logit_shift)))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(n, n_features) contributions to the log-odds of fraud."""
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "lightgbm":
            return np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=1))[:, :-1]
        import torch

        inputs = torch.from_numpy(self._scaled(x)).requires_grad_(True)
        self.net(inputs).sum().backward()
        assert inputs.grad is not None
        return (inputs.grad * inputs).detach().double().numpy()

    # -- persistence ------------------------------------------------------
    def save(self, folder: Path) -> None:
        meta = {"kind": self.kind, "features": self.features, "logit_shift": self.logit_shift,
                "hidden": self.hidden, "info": self.info}
        if self.kind == "lightgbm":
            self.booster.save_model(str(folder / "lightgbm.txt"))
        else:
            import torch

            torch.save(self.net.state_dict(), folder / "mlp.pt")
            assert self.mean is not None and self.std is not None
            meta["mean"], meta["std"] = self.mean.tolist(), self.std.tolist()
        (folder / "model.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path) -> FraudModel:
        meta = json.loads((folder / "model.json").read_text())
        model = cls(kind=meta["kind"], features=meta["features"], logit_shift=meta["logit_shift"],
                    hidden=meta.get("hidden", 64), info=meta.get("info", {}))
        if model.kind == "lightgbm":
            import lightgbm as lgb

            model.booster = lgb.Booster(model_file=str(folder / "lightgbm.txt"))
        else:
            import torch

            model.mean, model.std = np.asarray(meta["mean"]), np.asarray(meta["std"])
            model.net = make_mlp(len(model.features), model.hidden)
            model.net.load_state_dict(torch.load(folder / "mlp.pt", map_location="cpu", weights_only=True))
            model.net.eval()
        return model


# -- LightGBM ---------------------------------------------------------------
def fit_lightgbm(x: np.ndarray, y: np.ndarray, features: list[str], seed: int = 42,
                 rounds: int = LGBM_ROUNDS) -> FraudModel:
    """Gradient-boosted trees; unweighted so the scores stay calibrated probabilities
    (boosting copes with the ~1% fraud rate, and AP / AUC do not need reweighting)."""
    import lightgbm as lgb

    data = lgb.Dataset(np.asarray(x, dtype=np.float64), label=y, feature_name=features, free_raw_data=True)
    booster = lgb.train({**LGBM_PARAMS, "seed": seed}, data, num_boost_round=rounds)
    return FraudModel("lightgbm", list(features), booster=booster)


# -- torch MLP ----------------------------------------------------------------
def make_mlp(n_features: int, hidden: int = 64) -> Any:
    from torch import nn

    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Dropout(0.1),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))


def fit_mlp(x: np.ndarray, y: np.ndarray, features: list[str], x_val: np.ndarray, y_val: np.ndarray,
            epochs: int = 5, seed: int = 42, device: str = "auto", hidden: int = 64) -> FraudModel:
    """An MLP on log-scaled, standardised features; the rare class is up-weighted in the loss
    (``pos_weight``) and the weight's log is subtracted from the logits at scoring time."""
    import torch
    from torch.utils.data import TensorDataset

    from lepton_shared.training import Trainer, TrainerConfig, seed_everything

    logged = _signed_log(np.asarray(x, dtype=np.float64))
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
    train_ds = TensorDataset(torch.from_numpy(model._scaled(x)), torch.from_numpy(y.astype(np.float32)))
    val_ds = TensorDataset(torch.from_numpy(model._scaled(x_val)), torch.from_numpy(y_val.astype(np.float32)))
    config = TrainerConfig(epochs=epochs, batch_size=1024, lr=3e-3, weight_decay=1e-4, device=device, seed=seed,
                           monitor="average_precision", mode="max", patience=3, app="fraud")
    result = Trainer(net, config, loss_fn, eval_fn).fit(train_ds, val_ds)
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
