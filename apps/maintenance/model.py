"""The RUL model: a 1D-CNN over a sensor window, trained as a seed ensemble.

Two architectures share one interface (``ARCHS``):

* ``dcnn`` (default): the deep CNN of Li, Ding and Sun (2018), four tanh conv
  layers of 10 filters with kernel 10 along time, a one-filter conv, dropout and
  a 100-unit dense layer. Few weights (about 8k), so it does not overfit the ~85
  training engines of C-MAPSS FD001; chosen on held-out *training* engines
  (validation RMSE about 13.3 against 15.2 for ``cnn`` on the same split).
* ``cnn``: a wider ReLU CNN without smoothing: the simulator estimator the RL policy reads
  when the RUL model itself learned other sensors (recorded data).

Each member is trained through the shared ``Trainer``: on simulator data with early
stopping on the validation RMSE of held-out machines; on recorded run-to-failure data
(C-MAPSS) for a fixed number of epochs on *all* machines, the recipe having been chosen on
held-out machines beforehand, with ``cross_fit`` supplying out-of-fold estimates for the
honest error, the band and the policy replay. The ensemble mean is the estimate; the
band combines the members' disagreement with the error measured on held-out machines at
that level of the estimate (``band_profile``), so it is honest even when the members agree.

On recorded data the nets also read the machine's age, and the ensemble is blended with
boosted trees (``trees.py``) whose weight is chosen on the out-of-fold estimates: on FD001
the trees carry most of the accuracy (out-of-fold test-like RMSE 9.6 against the nets' 12.0).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import TensorDataset

from apps.maintenance.baselines import RidgeRul
from apps.maintenance.costs import CostModel
from apps.maintenance.features import FeatureSpec, estimate_rows, make_windows
from apps.maintenance.trees import TreeRul
from apps.maintenance.variants import FP32_FILE, StackedMembers, load_members
from lepton_shared.training import Trainer, TrainerConfig, seed_everything

if TYPE_CHECKING:
    from lepton_shared.registry import ModelInfo

BAND_Z = 1.645  # 90 % two-sided normal band (the members' disagreement; the residual spread without a profile)
BAND_LEVEL = 0.90
BAND_BINS = 5  # bins of the estimate, each a fifth of the cap
MIN_BAND_POINTS = 30  # a bin with fewer held-out points borrows its neighbours' widths (interpolation)
TREES_FILE = "trees.txt"


class RulCNN(nn.Module):
    """Conv layers slide along time and mix sensors; a small MLP reads the whole window."""

    def __init__(self, n_features: int, window: int, width: int = 32) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(n_features, width, 5, padding=2), nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=2), nn.ReLU(),
            nn.Conv1d(width, width, 3, padding=1), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(width * window, 64), nn.ReLU(), nn.Dropout(0.2),
                                  nn.Linear(64, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, W, F) -> (N,) in units of the cap
        return self.head(self.conv(x.transpose(1, 2))).squeeze(-1)


class RulDCNN(nn.Module):
    """Li et al. (2018) DCNN: small kernels-along-time conv stack; tanh keeps the z-scored inputs in range."""

    def __init__(self, n_features: int, window: int, width: int = 10, kernel: int = 10, layers: int = 4,
                 dropout: float = 0.5) -> None:
        super().__init__()
        same = (kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2  # zero "same" padding, even kernel included
        mods: list[nn.Module] = []
        channels = n_features
        for _ in range(layers):
            mods += [nn.ConstantPad1d(same, 0.0), nn.Conv1d(channels, width, kernel), nn.Tanh()]
            channels = width
        mods += [nn.Conv1d(channels, 1, 3, padding=1), nn.Tanh()]
        self.conv = nn.Sequential(*mods)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(window, 100), nn.Tanh(),
                                  nn.Linear(100, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, W, F) -> (N,) in units of the cap
        return self.head(self.conv(x.transpose(1, 2))).squeeze(-1)


ARCHS: dict[str, type[nn.Module]] = {"dcnn": RulDCNN, "cnn": RulCNN}
DEFAULT_ARCH = "dcnn"
DEFAULT_WIDTH = {"dcnn": 10, "cnn": 32}


def build_net(arch: str, n_features: int, window: int, width: int | None = None) -> nn.Module:
    """One ensemble member of architecture ``arch`` (a key of ``ARCHS``)."""
    if arch not in ARCHS:
        raise ValueError(f"unknown RUL architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    net: nn.Module = ARCHS[arch](n_features, window, width or DEFAULT_WIDTH[arch])
    return net


def rul_loss(model: nn.Module, batch: Any) -> torch.Tensor:
    """Mean squared error of the estimate in units of the cap (the training loss of every member)."""
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


class RulEnsemble:
    """The seed ensemble of nets, optionally blended with boosted trees (``trees``, weight ``tree_weight``)."""

    def __init__(self, spec: FeatureSpec, states: list[dict[str, torch.Tensor]], residual_sd: float = 0.0,
                 width: int | None = None, arch: str = DEFAULT_ARCH, trees: TreeRul | None = None,
                 tree_weight: float = 0.0, band: tuple[list[float], list[float]] | None = None,
                 network: nn.Module | None = None, variant: dict[str, Any] | None = None) -> None:
        """``states`` are the fp32 members' weights; an optimised ensemble passes ``network`` (its members in
        another form, see ``variants.py``) and the ``variant`` record instead."""
        self.spec = spec
        self.arch = arch
        self.width = width or DEFAULT_WIDTH[arch]
        self.residual_sd = residual_sd
        self.band = band  # (knots, half-widths) from ``band_profile``; None: a normal band of ``residual_sd``
        self.trees = trees
        self.tree_weight = tree_weight if trees is not None else 0.0
        self.members: list[nn.Module] = []
        for state in states:
            net = build_net(arch, spec.net_channels, spec.window, self.width)
            net.load_state_dict(state)
            net.eval()
            self.members.append(net)
        self.variant: dict[str, Any] = dict(variant or {})
        self.network: nn.Module = network if network is not None else StackedMembers(self.members).eval()
        self.n_members = len(self.members) if network is None else int(self.variant.get("members", 0))

    # -- inference ----------------------------------------------------------------
    def predict_windows(self, x: np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean RUL and the 90 % band for windows (N, W, C).

        The band's half-width combines, in quadrature, the held-out error at this estimate (``half_width``)
        and the members' disagreement (scaled by their weight in the blend); the trees add no spread of
        their own.
        """
        if len(x) == 0:
            empty = np.zeros(0)
            return empty, empty, empty
        w = self.tree_weight
        if self.trees is not None and w >= 1.0:  # the nets weigh nothing in the estimate or its band: skip them
            mean = self.trees.predict(x)
            half = self.half_width(mean)
            return mean, np.clip(mean - half, 0, None), mean + half
        preds = self.net_predictions(x, batch)
        mean = preds.mean(axis=0)
        if self.trees is not None and w > 0:
            mean = (1 - w) * mean + w * self.trees.predict(x)
        half = self.half_width(mean, (1 - w) * preds.std(axis=0))
        return mean, np.clip(mean - half, 0, None), mean + half

    def net_predictions(self, x: np.ndarray, batch: int = 4096) -> np.ndarray:
        """Each net's RUL for windows (N, W, C): an array (members, N), before any blending with the trees."""
        with torch.no_grad():
            tx = torch.from_numpy(np.array(x[..., :self.spec.net_channels], dtype=np.float32))
            out = torch.cat([self.network(tx[i:i + batch]) for i in range(0, len(tx), batch)], dim=1).numpy()
        return np.clip(out * self.spec.cap, 0, self.spec.cap)

    def half_width(self, mean: np.ndarray, member_sd: np.ndarray | float = 0.0) -> np.ndarray:
        """Half-width of the 90 % band around estimates ``mean`` (see ``band_profile`` for why it varies)."""
        if self.band is None:
            return BAND_Z * np.sqrt(np.square(member_sd) + self.residual_sd**2) + np.zeros_like(mean)
        knots, half = self.band
        return np.sqrt(np.interp(mean, knots, half) ** 2 + np.square(BAND_Z * np.asarray(member_sd)))

    def predict_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """RUL estimate at every row of a canonical table (windows per unit)."""
        return estimate_rows(frame, self.spec, lambda x: self.predict_windows(x)[0])

    def life_estimator(self, columns: list[str]) -> Any:
        """A ``RulEstimator`` for ``MaintenanceEnv``: raw rows with ``columns`` -> RUL per row."""

        def estimate(rows: np.ndarray) -> np.ndarray:
            frame = pd.DataFrame(rows, columns=columns)
            return self.predict_windows(self.spec.windows_of(self.spec.normalise(frame)))[0]

        return estimate

    # -- persistence ----------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write the fp32 ensemble (an optimised one is written by ``optimize.py`` with ``write_spec``)."""
        if self.variant:
            raise ValueError("an optimised RUL ensemble is written by its optimizer, not saved")
        folder.mkdir(parents=True, exist_ok=True)
        torch.save([m.state_dict() for m in self.members], folder / FP32_FILE)
        if self.trees is not None:
            self.trees.save(folder / TREES_FILE)
        self.write_spec(folder)

    def write_spec(self, folder: Path, variant: dict[str, Any] | None = None) -> None:
        """``spec.json``: the features, the band, the architecture and (optimised) the nets' ``variant``."""
        meta = {"spec": self.spec.as_dict(), "residual_sd": self.residual_sd, "width": self.width,
                "arch": self.arch, "tree_weight": self.tree_weight, "band": self.band}
        if variant:
            meta["variant"] = variant
        (folder / "spec.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, folder: Path) -> RulEnsemble:
        meta = json.loads((folder / "spec.json").read_text())
        spec = FeatureSpec(**meta["spec"])
        trees = TreeRul.load(folder / TREES_FILE, spec) if (folder / TREES_FILE).exists() else None
        band = meta["band"]
        variant = meta.get("variant") or {}
        states: list[dict[str, torch.Tensor]] = []
        network = None
        if variant:
            network = load_members(folder, variant, lambda: build_net(meta["arch"], spec.net_channels, spec.window,
                                                                      meta["width"]), variant.get("members"))
        else:
            states = torch.load(folder / FP32_FILE, map_location="cpu", weights_only=True)
        return cls(spec, states, meta["residual_sd"], meta["width"], meta["arch"], trees, meta["tree_weight"],
                   (band[0], band[1]) if band else None, network=network, variant=variant)


def band_profile(estimate: np.ndarray, truth: np.ndarray, cap: float) -> tuple[list[float], list[float]]:
    """The band's half-width as a function of the estimate: the 90th percentile of the held-out absolute
    error in each fifth of ``[0, cap]``, at the bin's centre (interpolated between, flat beyond).

    Why not one width: errors grow with the estimate. Near failure the wear shows clearly in the sensors;
    mid-life it does not. On FD001 (out of fold, test-like points) that 90th percentile was 4 cycles for
    estimates under 25 and 21 for estimates of 75-100, so a single normal width (15.5) covered 1.00 of the
    first and 0.77 of the second: too wide where a planner acts, too narrow where the estimate is vague.
    """
    estimate, err = np.asarray(estimate, dtype=float), np.abs(np.asarray(estimate, dtype=float) - truth)
    if len(err) == 0:
        return [cap / 2], [0.0]
    bins = np.minimum((np.clip(estimate, 0, cap) / cap * BAND_BINS).astype(int), BAND_BINS - 1)
    knots, half = [], []
    for b in range(BAND_BINS):
        in_bin = bins == b
        if in_bin.sum() >= MIN_BAND_POINTS:
            knots.append(float((b + 0.5) * cap / BAND_BINS))
            half.append(float(np.quantile(err[in_bin], BAND_LEVEL)))
    if not knots:
        return [cap / 2], [float(np.quantile(err, BAND_LEVEL))]
    return knots, half


def train_ensemble(train: pd.DataFrame, val: pd.DataFrame | None, spec: FeatureSpec, members: int = 3,
                   epochs: int = 30,
                   seed: int = 42, device: str = "auto", batch_size: int = 256, lr: float = 1e-3,
                   show_progress: bool = True, arch: str = DEFAULT_ARCH, patience: int | None = None,
                   width: int | None = None, on_epoch_end: Callable[[int, dict[str, float]], None] | None = None
                   ) -> tuple[RulEnsemble, list[dict[str, Any]]]:
    """Train ``members`` nets with different seeds; returns the ensemble and each member's fit summary.

    ``patience`` (epochs without a better validation RMSE before stopping) defaults to a quarter of
    ``epochs``: the cosine schedule keeps improving late, so stopping too eagerly costs accuracy.
    With ``val=None`` every member runs exactly ``epochs`` epochs (the recipe chosen beforehand on
    held-out machines) and ``residual_sd`` is left at 0 for the caller to set (e.g. from ``cross_fit``).
    ``on_epoch_end`` sees the first member's metrics after each epoch (``tune`` reports them to its pruner).
    """
    net_in = spec.net_channels
    xtr, ytr, _ = make_windows(train, spec)
    train_ds = TensorDataset(torch.from_numpy(np.ascontiguousarray(xtr[..., :net_in])),
                             torch.from_numpy(ytr / spec.cap))
    val_ds = None
    if val is not None:
        xva, yva, _ = make_windows(val, spec)
        val_ds = TensorDataset(torch.from_numpy(np.ascontiguousarray(xva[..., :net_in])),
                               torch.from_numpy(yva / spec.cap))

    def val_rmse(model: nn.Module, loader: Any) -> dict[str, float]:
        sq, n = 0.0, 0
        for x, y in loader:
            sq += float(((model(x) - y) * spec.cap).pow(2).sum())
            n += len(y)
        return {"val_rmse": (sq / max(1, n)) ** 0.5}

    states, summaries = [], []
    for m in range(members):
        seed_everything(seed + m)  # the initial weights too: torch seeds itself at random on start-up
        net = build_net(arch, net_in, spec.window, width)
        cfg = TrainerConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=1e-4, device=device,
                            seed=seed + m, monitor="val_rmse", mode="min",
                            patience=None if val_ds is None else patience if patience is not None
                            else max(3, epochs // 4),
                            app="maintenance", scheduler="cosine", show_progress=show_progress)
        result = Trainer(net, cfg, loss_fn=rul_loss, eval_fn=val_rmse,
                         on_epoch_end=on_epoch_end if m == 0 else None).fit(train_ds, val_ds)
        states.append({k: v.detach().cpu() for k, v in net.state_dict().items()})
        summaries.append({"member": m, "val_rmse": result.best_metrics.get("val_rmse"),
                          "epochs_run": result.epochs_run, "seconds": round(result.seconds, 1)})
    ensemble = RulEnsemble(spec, states, width=width, arch=arch)
    if val is not None:
        estimate = ensemble.predict_windows(xva)[0]
        ensemble.residual_sd = float(np.std(estimate - yva))
        ensemble.band = band_profile(estimate, yva, spec.cap)
    return ensemble, summaries


def fold_ids(frame: pd.DataFrame, folds: int, seed: int) -> np.ndarray:
    """The fold (0..folds-1) of every row; whole machines go to one fold, chosen by a seeded shuffle."""
    units = np.sort(frame["unit"].unique())
    if len(units) < folds:
        raise ValueError(f"need at least {folds} machines for {folds}-fold cross-fitting")
    fold_of = dict(zip(np.random.default_rng(seed).permutation(units), np.arange(len(units)) % folds, strict=True))
    return frame["unit"].map(fold_of).to_numpy()


def out_of_fold(frame: pd.DataFrame, folds: int, seed: int,
                fit_predict: Callable[[pd.DataFrame, pd.DataFrame, int], np.ndarray]) -> np.ndarray:
    """Estimates at every row from ``fit_predict(train_part, held_part, fold)``, each machine held out once
    (the same folds for every model given the same ``seed``, so their out-of-fold figures compare)."""
    fold = fold_ids(frame, folds, seed)
    out = np.full(len(frame), np.nan)
    for k in range(folds):
        held = fold == k
        out[held] = fit_predict(frame[~held], frame[held], k)
    return out


def cross_fit(frame: pd.DataFrame, make_spec: Any, folds: int = 5, members: int = 1, epochs: int = 40,
              seed: int = 42, device: str = "auto", arch: str = DEFAULT_ARCH, show_progress: bool = True,
              lr: float = 1e-3, width: int | None = None) -> np.ndarray:
    """Out-of-fold RUL estimates at every row: each machine scored by a model that never saw it.

    Why: the final ensemble trains on *all* machines (more data, no early-stopping split), so its
    honest error, its band width and a replay of the policies all need estimates from models that
    held each machine out. ``make_spec(train_frame)`` fits the features on each fold's training part.
    """
    def fit_predict(train: pd.DataFrame, held: pd.DataFrame, k: int) -> np.ndarray:
        model, _ = train_ensemble(train, None, make_spec(train), members=members, epochs=epochs,
                                  seed=seed + 100 * (k + 1), device=device, arch=arch, show_progress=show_progress,
                                  lr=lr, width=width)
        return model.predict_frame(held)

    return out_of_fold(frame, folds, seed, fit_predict)


class Bundle:
    """A registered version loaded for use. Its folder (written by ``training.register``) holds:

    * ``rul/``: the RUL ensemble (``RulEnsemble``) and ``ridge.npz``, the ridge baseline on the same windows;
    * ``policy_rul/``: the simulator estimator the policies read, when the RUL model learned other sensors;
    * ``ppo.json`` and ``ppo.pt``: the PPO agent trained in the simulator (``rl.save_agent``: no pickle);
    * ``policy.json``: the costs, the tuned baselines, ``decide_below``, the policy the version acts with (the
      agent, or the best rule when the agent lost to it on the tuning seeds) and the replay's setup (empty
      unless trained on recorded lives);
    * ``ppo_replay.json|pt`` and ``replay.npz``: for recorded lives, the agent trained on replays of the tuning
      engines and every engine's out-of-fold RUL estimates.
    """

    def __init__(self, info: ModelInfo) -> None:
        self.info = info
        self.rul = RulEnsemble.load(info.path / "rul")
        self.ridge = RidgeRul.load(info.path / "rul" / "ridge.npz")
        policy_dir = info.path / "policy_rul"
        self.policy_rul = RulEnsemble.load(policy_dir) if policy_dir.exists() else self.rul
        policy = json.loads((info.path / "policy.json").read_text())
        self.costs = CostModel(**policy["costs"])
        self.baselines: dict[str, dict[str, Any]] = policy["baselines"]
        self.decide_below = float(policy["decide_below"])
        self.replay: dict[str, Any] = policy["replay"]
        #: the policy the version acts with (``policies.choose_policy``); versions saved before the check: the agent
        self.choice: dict[str, Any] = policy.get("policy") or {"policy": "rl", "fallback": False}
        self._ppo: Any = None

    @property
    def ppo(self) -> Any:
        """The simulator agent, loaded on first use (stable-baselines3 is slow to import)."""
        if self._ppo is None:
            from apps.maintenance.rl import load_agent

            self._ppo = load_agent(self.info.path, "ppo")
        return self._ppo

    def replay_agent(self) -> Any:
        from apps.maintenance.rl import load_agent

        return load_agent(self.info.path, "ppo_replay")

    def replay_lives(self) -> list[np.ndarray]:
        """Every recorded engine's out-of-fold RUL estimates, cycle by cycle."""
        saved = np.load(self.info.path / "replay.npz")
        return np.split(saved["estimates"], np.cumsum(saved["lengths"])[:-1])

