"""``FraudModel``: a fitted scorer as registered and served, LightGBM (strong tabular model) or a
torch MLP; ``training.py`` fits them, and registers the candidate with the best average precision
on a validation period.

Both kinds expose ``predict_proba`` and ``contributions`` (per-feature contributions
to the log-odds, used for reason codes): LightGBM's exact tree SHAP values
(``pred_contrib=True``), and gradient x (input - mean) for the MLP. An optimised MLP
(``lepton fraud optimize``, :mod:`apps.fraud.variants`) loads here too; when its scoring net has
no gradients (int8, ONNX) the fp32 net it was made from explains its scores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


def signed_log(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log(1 + |x|)``: the MLP's input scale (amounts and counts span orders of magnitude)."""
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
    explainer: Any = None  # a differentiable net for reason codes when ``net`` has no gradients

    # -- scoring ----------------------------------------------------------
    def scaled(self, x: np.ndarray) -> np.ndarray:
        """The MLP's inputs: log-scaled features standardised with the training mean and std."""
        assert self.mean is not None and self.std is not None
        return ((signed_log(x) - self.mean) / self.std).astype(np.float32)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "lightgbm":
            return np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)
        import torch

        with torch.no_grad():
            logits = self.net(torch.from_numpy(self.scaled(x))).squeeze(-1).double().numpy()
        return 1.0 / (1.0 + np.exp(-(logits - self.logit_shift)))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(n, n_features) contributions to the log-odds of fraud."""
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "lightgbm":
            return np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=1))[:, :-1]
        import torch

        inputs = torch.from_numpy(self.scaled(x)).requires_grad_(True)
        (self.net if self.explainer is None else self.explainer)(inputs).sum().backward()
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
                    hidden=meta["hidden"], info=meta["info"])
        if model.kind == "lightgbm":
            import lightgbm as lgb

            model.booster = lgb.Booster(model_file=str(folder / "lightgbm.txt"))
        else:
            from apps.fraud.variants import load_variant
            from lepton_shared.optimize.base import read_optimisation

            model.mean, model.std = np.asarray(meta["mean"]), np.asarray(meta["std"])
            record = read_optimisation(folder) or {"method": "fp32"}
            model.net, model.explainer = load_variant(folder, record, len(model.features), model.hidden)
        return model


def make_mlp(n_features: int, hidden: int = 64) -> Any:
    """The MLP's layers (its weights come from ``training.fit_mlp`` or a saved ``mlp.pt``)."""
    from torch import nn

    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Dropout(0.1),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))
