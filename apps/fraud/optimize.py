"""``lepton fraud optimize``: int8, pruned, ONNX, ONNX-int8 and bf16 forms of the fraud MLP.

Only a version whose served model is the MLP can be optimised; a LightGBM version is refused with a
one-line error (its trees have no torch network to quantise, prune or export). What each method
writes is described in :mod:`apps.fraud.variants`:

* ``int8``: ``torch.ao`` dynamic quantisation of the Linear layers (the whole MLP);
* ``prune``: global L1 magnitude pruning of the Linear weights (``torch.nn.utils.prune``), a short
  fine-tune through the shared ``Trainer`` while the masks hold, masks folded in;
* ``onnx``: ``torch.onnx`` export run by ONNX Runtime;
* ``onnx-int8``: that export with int8 weights from ONNX Runtime's dynamic quantiser (the MLP is all
  Linear layers, where dynamic quantisation is what pays; there is no convolution to calibrate);
* ``bf16``: the weights cast to bfloat16. fp16 is not offered: the fraud predictor scores on the CPU.

The data is ``--data``, else the data the source was trained on (the built-in simulation it names,
or its file when that still exists). The key metric (average precision) is measured on the source's
test week, which training never chose anything on; the fine-tune reads its training week. When
``--data`` does not cover the source's periods, the protocol's default periods of that data are used
(what ``evaluate`` scores).
"""

from __future__ import annotations

import json
import shutil
import sys
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from lepton_shared.errors import UserError
from lepton_shared.optimize import AppOptimizer, read_optimisation, write_optimisation
from lepton_shared.registry import ModelInfo

#: Share of the Linear weights the ``prune`` method zeroes.
PRUNE_AMOUNT = 0.5
#: The short fine-tune after pruning, on the training week.
FINE_TUNE_EPOCHS = 2
FINE_TUNE_LR = 1e-3
#: Files of the source artifact that are not copied (the network is written anew; the registry writes its own meta).
NOT_COPIED = ("optimisation.json", "lepton_meta.json", "report.html")


def _note(message: str) -> None:
    print(f"[optimize] {message}", file=sys.stderr, flush=True)


@lru_cache(maxsize=2)
def _features(data: str | None, tiny: bool, seed: int, stamp: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The transactions and their offline features, computed once per process (optimize scores two versions,
    and the tests optimise one source with every method)."""
    from apps.fraud.data import load_data
    from apps.fraud.features import FeatureConfig, offline_features

    df, _ = load_data(Path(data) if data else None, tiny, seed)
    return df, offline_features(df, FeatureConfig())


def _periods(spans: dict[str, Any]) -> dict[str, Any] | None:
    """``resolve_periods`` arguments from a version's params (``train``/``test`` as ``YYYY-MM-DD..YYYY-MM-DD``)."""
    try:
        train = [pd.Timestamp(d) for d in str(spans["train"]).split("..")]
        test = [pd.Timestamp(d) for d in str(spans["test"]).split("..")]
    except (KeyError, ValueError):
        return None
    day = pd.Timedelta(days=1)
    return {"train_start": f"{train[0]:%Y-%m-%d}", "train_days": (train[1] - train[0]) // day + 1,
            "delay_days": (test[0] - train[1]) // day - 1, "test_days": (test[1] - test[0]) // day + 1}


class FraudOptimizer(AppOptimizer):
    methods: ClassVar[tuple[str, ...]] = ("int8", "prune", "onnx", "onnx-int8", "bf16")
    batch_size: ClassVar[int] = 32  # transactions per /v1/score/batch call of a payment gateway

    def __init__(self, source: ModelInfo, data: Path | None, device: str = "cpu") -> None:
        super().__init__(source, data, device)
        meta = json.loads((source.path / "model.json").read_text())
        if meta["kind"] != "mlp":
            raise UserError(f"fraud {source.version} serves a {meta['kind']} model; optimize applies to the MLP: "
                            "train one with `lepton fraud train --models mlp` and pass its version with --model")
        record = read_optimisation(source.path)
        if record is not None:
            raise UserError(f"fraud {source.version} is already optimised ({record.get('method')}); "
                            f"optimise its fp32 source {record.get('optimised_from')} instead")
        self.meta = meta

    # -- data -------------------------------------------------------------------
    @cached_property
    def frame(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The transactions and their features: ``--data``, else the data the source was trained on."""
        from apps.fraud.data import builtin_source

        seed = int(self.source.params.get("seed") or 42)
        if self.data is not None:
            return _features(str(self.data), False, seed, Path(self.data).stat().st_mtime)
        trained_on = str(self.source.params.get("data") or "")
        for tiny in (False, True):
            if trained_on == builtin_source(tiny, seed):
                return _features(None, tiny, seed, 0.0)
        if trained_on and Path(trained_on).exists():
            _note(f"using the data {self.source.version} was trained on: {trained_on} (pass --data to choose)")
            return _features(trained_on, False, seed, Path(trained_on).stat().st_mtime)
        raise UserError(f"the data fraud {self.source.version} was trained on ({trained_on or 'not recorded'}) is "
                        "not available; pass --data with transactions covering its training and test weeks")

    @cached_property
    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Row indices of the training week and of the test week of the source's protocol."""
        from apps.fraud.protocol import resolve_periods, split

        df, _ = self.frame
        spans = _periods(self.source.params)
        try:
            periods = resolve_periods(df, **spans) if spans else resolve_periods(df, None)
        except UserError:
            if self.data is None:
                raise
            _note(f"--data does not cover the periods of {self.source.version}; using its default periods")
            periods = resolve_periods(df, None)
        return split(df, periods)

    def _x(self, rows: np.ndarray) -> np.ndarray:
        _, x = self.frame
        return np.asarray(x.iloc[rows][self.meta["features"]].to_numpy(), dtype=np.float64)

    # -- the AppOptimizer interface -----------------------------------------------
    def sample_items(self, n: int) -> list[Any]:
        """Test-week payments as the gateway sends them (different cards, terminals, times, amounts)."""
        from apps.fraud.predictor import TransactionIn

        df, _ = self.frame
        _, test = self.rows
        picked = np.sort(np.random.default_rng(0).choice(test, min(n, len(test)), replace=False))
        rows = df.iloc[picked][["TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT"]]
        items = [TransactionIn.model_validate({"tx_datetime": when, "customer_id": customer, "terminal_id": terminal,
                                               "tx_amount": amount})
                 for when, customer, terminal, amount in zip(rows["TX_DATETIME"].dt.to_pydatetime(),
                                                             rows["CUSTOMER_ID"].tolist(), rows["TERMINAL_ID"].tolist(),
                                                             rows["TX_AMOUNT"].tolist(), strict=True)]
        return (items * (n // max(len(items), 1) + 1))[:n] if items else []

    def metric(self, version: str) -> float:
        """Average precision of ``version`` on the test week, through the ``FraudModel.load`` the predictor uses."""
        from apps.fraud.model import FraudModel
        from apps.fraud.protocol import score_metrics
        from lepton_shared.registry import Registry

        model = FraudModel.load(Registry().get("fraud", version).path)
        df, _ = self.frame
        _, test = self.rows
        return float(score_metrics(df.iloc[test], model.predict_proba(self._x(test)))["average_precision"])

    def write(self, method: str, folder: Path) -> None:
        from apps.fraud.variants import FP32_FILE

        if method not in self.methods:
            raise UserError(f"the fraud app does not support --method {method}")
        for path in self.source.path.iterdir():
            if path.name not in NOT_COPIED:
                (shutil.copytree if path.is_dir() else shutil.copy2)(path, folder / path.name)
        write = {"int8": self._write_int8, "prune": self._write_pruned, "onnx": self._write_onnx,
                 "onnx-int8": self._write_onnx, "bf16": self._write_bf16}[method]
        extra = write(folder, method)
        if method not in ("prune", "bf16"):
            extra["explanations"] = f"gradient x input of the fp32 {FP32_FILE} this net was made from"
        write_optimisation(folder, method, self.source, **extra)

    # -- the methods ----------------------------------------------------------------
    def _network(self) -> Any:
        """The source's fp32 MLP on the CPU."""
        from apps.fraud.variants import load_fp32

        return load_fp32(self.source.path, len(self.meta["features"]), int(self.meta["hidden"]))

    def _write_int8(self, folder: Path, method: str) -> dict[str, Any]:
        import torch

        from apps.fraud.variants import INT8_FILE
        from lepton_shared.optimize.methods import quantize_dynamic_int8

        torch.save(quantize_dynamic_int8(self._network()).state_dict(), folder / INT8_FILE)
        return {"backend": "torch.ao dynamic (Linear layers)"}

    def _write_onnx(self, folder: Path, method: str) -> dict[str, Any]:
        import tempfile

        import torch

        from apps.fraud.variants import ONNX_FILE
        from lepton_shared.optimize.methods import export_onnx, quantize_onnx_int8

        example = (torch.zeros(2, len(self.meta["features"])),)
        axes = {"features": {0: "batch"}, "logits": {0: "batch"}}
        if method == "onnx":
            export_onnx(self._network(), example, folder / ONNX_FILE, ["features"], ["logits"], axes)
            return {"runtime": "onnxruntime"}
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = Path(tmp) / "fp32.onnx"
            export_onnx(self._network(), example, fp32, ["features"], ["logits"], axes)
            quantize_onnx_int8(fp32, folder / ONNX_FILE)
        return {"runtime": "onnxruntime", "quantization": "dynamic int8 weights (ONNX Runtime quantize_dynamic)"}

    def _write_bf16(self, folder: Path, method: str) -> dict[str, Any]:
        import torch

        from apps.fraud.variants import FP32_FILE

        state = self._network().to(torch.bfloat16).state_dict()
        torch.save({k: v.cpu() for k, v in state.items()}, folder / FP32_FILE)
        return {"dtype": "bfloat16"}

    def _write_pruned(self, folder: Path, method: str) -> dict[str, Any]:
        import torch

        from apps.fraud.variants import FP32_FILE
        from lepton_shared.optimize.methods import make_pruning_permanent, prune_magnitude, sparsity

        network = prune_magnitude(self._network(), PRUNE_AMOUNT, structured=False, permanent=False)
        network = make_pruning_permanent(self.fine_tune(network)).cpu().eval()
        torch.save({k: v.cpu() for k, v in network.state_dict().items()}, folder / FP32_FILE)
        return {"amount": PRUNE_AMOUNT, "structured": False, "sparsity": round(sparsity(network), 4),
                "fine_tune": {"epochs": FINE_TUNE_EPOCHS, "lr": FINE_TUNE_LR, "rows": len(self.rows[0])}}

    def fine_tune(self, module: Any, **kwargs: Any) -> Any:
        """``FINE_TUNE_EPOCHS`` epochs of the training loss (the positive class up-weighted as in training: the
        weight is ``exp(logit_shift)``) on the training week through the shared ``Trainer``."""
        import math

        import torch
        from torch.utils.data import TensorDataset

        from apps.fraud.model import FraudModel
        from lepton_shared.training import Trainer, TrainerConfig

        model = FraudModel.load(self.source.path)
        df, _ = self.frame
        train, _ = self.rows
        x = torch.from_numpy(model.scaled(self._x(train)))
        y = torch.from_numpy(df["TX_FRAUD"].to_numpy()[train].astype(np.float32))
        weight = torch.tensor([math.exp(model.logit_shift)])

        def loss_fn(net: torch.nn.Module, batch: Any) -> torch.Tensor:
            xb, yb = batch
            return torch.nn.functional.binary_cross_entropy_with_logits(net(xb).squeeze(-1), yb,
                                                                        pos_weight=weight.to(xb.device))

        config = TrainerConfig(epochs=FINE_TUNE_EPOCHS, batch_size=1024, lr=FINE_TUNE_LR, weight_decay=1e-4,
                               device="cuda" if self.device == "cuda" else "cpu", patience=None, app="fraud",
                               show_progress=True, seed=int(self.source.params.get("seed") or 42))
        trainer = Trainer(module, config, loss_fn=loss_fn)
        trainer.fit(TensorDataset(x, y))
        return trainer.model.eval()


OPTIMIZER_CLASS = FraudOptimizer
