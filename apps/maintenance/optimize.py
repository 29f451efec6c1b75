"""``lepton maintenance optimize``: int8, pruned, ONNX, ONNX-int8 and bf16 forms of the RUL nets.

Only the served RUL ensemble's nets (``rul/``) change; the boosted trees, the band, the ridge
baseline, the policies and the simulator estimator (``policy_rul/``) are copied as they are. What
each method writes is described in :mod:`apps.maintenance.variants`:

* ``int8``: ``torch.ao`` dynamic quantisation of the Linear layers (the dense head);
* ``prune``: global L1 magnitude pruning of conv and linear weights (``torch.nn.utils.prune``), then a
  short fine-tune of each member through the shared ``Trainer`` while the masks hold, masks folded in;
* ``onnx``: every member exported into one graph and run by ONNX Runtime (one call per batch);
* ``onnx-int8``: that graph statically quantised by ONNX Runtime, calibrated on training windows;
* ``bf16``: the members' weights cast to bfloat16.

Calibration and fine-tuning read the data the source was trained on (the simulated training fleet,
or its recorded file); the key metric (RMSE) is measured on the data ``evaluate`` uses: ``--data``,
else the built-in simulated evaluation fleet, never the training data.
"""

from __future__ import annotations

import shutil
import sys
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from lepton_shared.errors import UserError
from lepton_shared.optimize import AppOptimizer, write_optimisation

#: Share of the conv/linear weights the ``prune`` method zeroes.
PRUNE_AMOUNT = 0.5
#: The short fine-tune after pruning, per member.
FINE_TUNE_EPOCHS = 2
FINE_TUNE_LR = 2e-4
#: Training windows that calibrate the int8 activation ranges of ``onnx-int8``.
CALIBRATION_WINDOWS = 2048
#: Readings per sample request (a little more than a window, as a page or a client sends them).
SAMPLE_READINGS = 60


def _note(message: str) -> None:
    print(f"[optimize] {message}", file=sys.stderr, flush=True)


class MaintenanceOptimizer(AppOptimizer):
    methods: ClassVar[tuple[str, ...]] = ("int8", "prune", "onnx", "onnx-int8", "bf16")
    batch_size: ClassVar[int] = 32  # machines assessed per predict_batch (a fleet page or a batch client)

    # -- data -----------------------------------------------------------------------
    @property
    def _seed(self) -> int:
        return int(self.source.params.get("seed") or 42)

    @cached_property
    def evaluation(self) -> tuple[pd.DataFrame, bool]:
        """What ``evaluate`` scores on: ``--data``, else the built-in simulated evaluation fleet."""
        from apps.maintenance.config import MaintenanceEvaluateConfig
        from apps.maintenance.data import SIMULATOR, load_evaluation_data
        from apps.maintenance.training import budget_of

        if self.data is None and self.source.params.get("source", SIMULATOR) != SIMULATOR:
            raise UserError(f"maintenance {self.source.version} was trained on {self.source.params['source']}, "
                            "not the simulator: pass --data with held-out histories of the same sensors "
                            "(e.g. C-MAPSS test_FD001.txt)")
        defaults = MaintenanceEvaluateConfig()
        return load_evaluation_data(self.data, budget_of(defaults).eval_machines, defaults.seed)

    @cached_property
    def training_frame(self) -> pd.DataFrame:
        """The histories the source was trained on (calibration and fine-tuning only)."""
        from apps.maintenance.config import MaintenanceTrainConfig
        from apps.maintenance.data import SIMULATOR, load_training_data
        from apps.maintenance.training import budget_of

        source = str(self.source.params.get("source", SIMULATOR))
        if source == SIMULATOR:
            return load_training_data(None, budget_of(MaintenanceTrainConfig()).machines, self._seed)[0]
        if not Path(source).exists():
            raise UserError(f"the data maintenance {self.source.version} was trained on ({source}) is gone; "
                            "this method calibrates or fine-tunes on it")
        return load_training_data(Path(source), 0, self._seed)[0]

    def _training_windows(self, spec: Any, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        from apps.maintenance.features import make_windows

        x, y, _ = make_windows(self.training_frame, spec)
        x = np.ascontiguousarray(x[..., :spec.net_channels], dtype=np.float32)
        if limit is not None and len(x) > limit:
            keep = np.sort(np.random.default_rng(0).choice(len(x), limit, replace=False))
            x, y = x[keep], y[keep]
        return x, (y / spec.cap).astype(np.float32)

    # -- the AppOptimizer interface -------------------------------------------------
    def sample_items(self, n: int) -> list[Any]:
        """The latest ``SAMPLE_READINGS`` readings of held-out machines cut at different ages, as clients send."""
        from apps.maintenance.model import RulEnsemble
        from apps.maintenance.predictor import ReadingsInput

        frame, _ = self.evaluation
        columns = RulEnsemble.load(self.source.path / "rul").spec.columns
        rng = np.random.default_rng(0)
        items = []
        for _, group in list(frame.groupby("unit"))[:n]:
            cut = int(rng.integers(min(len(group), SAMPLE_READINGS), len(group) + 1))
            rows = group.iloc[max(0, cut - SAMPLE_READINGS):cut][columns]
            items.append(ReadingsInput.model_validate({"readings": rows.to_dict("records")}))
        return (items * (n // max(len(items), 1) + 1))[:n] if items else []

    def metric(self, version: str) -> float:
        """RUL RMSE of ``version`` on the evaluation data, as ``evaluate`` computes it."""
        from apps.maintenance.features import make_windows
        from apps.maintenance.model import RulEnsemble
        from lepton_shared.evaluation import regression_metrics
        from lepton_shared.registry import Registry

        ensemble = RulEnsemble.load(Registry().get("maintenance", version).path / "rul")
        frame, last_only = self.evaluation
        x, truth, _ = make_windows(frame, ensemble.spec, last_only=last_only)
        return float(regression_metrics(truth, ensemble.predict_windows(x)[0])["rmse"])

    def write(self, method: str, folder: Path) -> None:
        from apps.maintenance.model import RulEnsemble
        from apps.maintenance.variants import FP32_FILE

        if method not in self.methods:
            raise UserError(f"the maintenance app does not support --method {method}")
        source = RulEnsemble.load(self.source.path / "rul")
        if source.variant:
            raise UserError(f"maintenance {self.source.version} is already optimised "
                            f"({source.variant.get('method')}); optimise its fp32 source "
                            f"{self.source.params.get('optimised_from')} instead")
        for path in self.source.path.iterdir():
            if path.name in ("lepton_meta.json", "report.html", "optimisation.json"):
                continue
            (shutil.copytree if path.is_dir() else shutil.copy2)(path, folder / path.name)
        rul = folder / "rul"
        (rul / FP32_FILE).unlink()
        extra = {"int8": self._write_int8, "prune": self._write_pruned, "onnx": self._write_onnx,
                 "onnx-int8": self._write_onnx, "bf16": self._write_bf16}[method](source, rul, method)
        variant = {"method": method, "members": source.n_members, **extra}
        source.write_spec(rul, variant)
        write_optimisation(folder, method, self.source, nets=variant)

    # -- the methods ------------------------------------------------------------------
    def _write_int8(self, source: Any, rul: Path, method: str) -> dict[str, Any]:
        import torch

        from apps.maintenance.variants import INT8_FILE, quantize_members

        torch.save([m.state_dict() for m in quantize_members(source.members)], rul / INT8_FILE)
        return {"file": INT8_FILE, "backend": "torch.ao dynamic (Linear layers)"}

    def _write_onnx(self, source: Any, rul: Path, method: str) -> dict[str, Any]:
        import tempfile

        import torch

        from apps.maintenance.variants import ONNX_FILE, StackedMembers
        from lepton_shared.optimize.methods import export_onnx, quantize_onnx_static

        spec = source.spec
        graph = StackedMembers(source.members).eval()
        example = (torch.zeros(2, spec.window, spec.net_channels),)
        axes = {"windows": {0: "batch"}, "estimates": {1: "batch"}}
        if method == "onnx":
            export_onnx(graph, example, rul / ONNX_FILE, ["windows"], ["estimates"], axes)
            return {"file": ONNX_FILE, "runtime": "onnxruntime"}
        x, _ = self._training_windows(spec, CALIBRATION_WINDOWS)
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = Path(tmp) / "fp32.onnx"
            export_onnx(graph, example, fp32, ["windows"], ["estimates"], axes)
            feeds = ({"windows": x[i:i + 256]} for i in range(0, len(x), 256))
            quantize_onnx_static(fp32, rul / ONNX_FILE, feeds)
        return {"file": ONNX_FILE, "runtime": "onnxruntime", "quantization": "static QDQ int8, per-channel weights",
                "calibration_windows": len(x)}

    def _write_bf16(self, source: Any, rul: Path, method: str) -> dict[str, Any]:
        import torch

        from apps.maintenance.variants import FP32_FILE

        torch.save([{k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in m.state_dict().items()}
                    for m in source.members], rul / FP32_FILE)
        return {"dtype": "bfloat16"}

    def _write_pruned(self, source: Any, rul: Path, method: str) -> dict[str, Any]:
        import torch

        from apps.maintenance.variants import FP32_FILE
        from lepton_shared.optimize.methods import make_pruning_permanent, prune_magnitude, sparsity

        pruned = []
        for net in source.members:
            net = prune_magnitude(net, PRUNE_AMOUNT, structured=False, permanent=False)
            net = make_pruning_permanent(self.fine_tune(net, spec=source.spec))
            pruned.append(net.cpu().eval())
        torch.save([{k: v.cpu() for k, v in m.state_dict().items()} for m in pruned], rul / FP32_FILE)
        return {"amount": PRUNE_AMOUNT, "structured": False,
                "sparsity": round(float(np.mean([sparsity(m) for m in pruned])), 4),
                "fine_tune": {"epochs": FINE_TUNE_EPOCHS, "lr": FINE_TUNE_LR}}

    def fine_tune(self, module: Any, **kwargs: Any) -> Any:
        """``FINE_TUNE_EPOCHS`` epochs of the training loss (MSE in units of the cap) on the source's training
        windows through the shared ``Trainer``, the pruning masks holding the zeroed weights at zero."""
        import torch
        from torch.utils.data import TensorDataset

        from apps.maintenance.model import rul_loss
        from lepton_shared.training import Trainer, TrainerConfig

        x, y = self._training_windows(kwargs["spec"])
        config = TrainerConfig(epochs=FINE_TUNE_EPOCHS, batch_size=256, lr=FINE_TUNE_LR, weight_decay=1e-4,
                               device="cuda" if self.device == "cuda" else "cpu", patience=None, app="maintenance",
                               show_progress=True, seed=self._seed)
        trainer = Trainer(module, config, loss_fn=rul_loss)
        trainer.fit(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)))
        return trainer.model.eval()


OPTIMIZER_CLASS = MaintenanceOptimizer
