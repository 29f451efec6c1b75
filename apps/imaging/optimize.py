"""``lepton imaging optimize``: int8, pruned, ONNX, ONNX-int8, bf16 and fp16 versions of the classifier.

What each method writes (the network files are described in :mod:`apps.imaging.variants`):

* ``int8``: static post-training quantisation with ``torch.ao`` (FX graph mode, x86 kernels),
  calibrated on training images. Dynamic quantisation would only touch the final Linear layer
  of this CNN; static int8 convolutions are what make it faster on CPU.
* ``prune``: global L1 magnitude pruning of the conv/linear weights (``torch.nn.utils.prune``),
  a short fine-tune with the shared ``Trainer`` while the masks hold pruned weights at zero,
  then the masks folded in; the calibrator and threshold are refitted on the validation split.
* ``onnx``: ``torch.onnx`` export run by ONNX Runtime.
* ``onnx-int8``: the export statically quantised (QDQ, per-channel) by ONNX Runtime's quantiser,
  calibrated on training images (ONNX Runtime's dynamic quantisation slows convolutions down).
* ``bf16`` / ``fp16``: weights cast (fp16 needs a CUDA GPU).

Calibration and fine-tuning use the training split; the key metric (ROC AUC) is measured on the
held-out split ``evaluate`` uses (test, else validation), never on the split used for choices.
"""

from __future__ import annotations

import base64
import io
import shutil
import sys
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from apps.imaging.data import ImageSet
from lepton_shared.errors import UserError
from lepton_shared.optimize import AppOptimizer, read_optimisation, write_optimisation

#: Share of the conv/linear weights the ``prune`` method zeroes.
PRUNE_AMOUNT = 0.5
#: The short fine-tune after pruning: one epoch over at most this many training images.
FINE_TUNE_IMAGES = 1024
FINE_TUNE_LR = 2e-4
#: Training images that calibrate the int8 activation ranges.
CALIBRATION_IMAGES = 256
#: Files of the source artifact that are not copied (the network is replaced; the registry writes its own meta).
NETWORK_FILES = ("model.pt", "model_int8.pt", "model.onnx", "optimisation.json", "lepton_meta.json", "report.html")


def _note(message: str) -> None:
    print(f"[optimize] {message}", file=sys.stderr, flush=True)


def _data_stamp(data: Path | None) -> tuple[str, float]:
    """What identifies the data's content for the cache: LEPTON_HOME (built-in data), or path and mtime."""
    from lepton_shared.settings import get_settings

    if data is None:
        return str(get_settings().cache_dir), 0.0
    return str(Path(data).resolve()), Path(data).stat().st_mtime


@lru_cache(maxsize=2)
def _load_image_set(data: Path | None, size: int, seed: int, builtin: int, stamp: tuple[str, float]) -> ImageSet:
    """The image set, read once per process (an optimize run scores two versions and calibrates on it)."""
    from apps.imaging.data import load

    return load(data, size, seed, builtin)


class ImagingOptimizer(AppOptimizer):
    methods: ClassVar[tuple[str, ...]] = ("int8", "prune", "onnx", "onnx-int8", "bf16", "fp16")
    batch_size: ClassVar[int] = 32  # the service's micro-batch

    # -- data -------------------------------------------------------------------
    @cached_property
    def image_set(self) -> ImageSet:
        """The data to measure, calibrate and fine-tune with: ``--data``, else the data the source was
        trained on when it is a file or folder that still exists, else the built-in set of its size."""
        from apps.imaging.config import BUILTIN_IMAGES
        from apps.imaging.model import ModelConfig

        cfg = ModelConfig.load(self.source.path)
        seed = int(self.source.params.get("seed") or 42)
        data = self.data
        trained_on = self.source.params.get("data")
        if data is None and trained_on and not str(trained_on).startswith("built-in") and Path(trained_on).exists():
            data = Path(trained_on)
            _note(f"using the data {self.source.version} was trained on: {data} (pass --data to choose)")
        builtin = int(self.source.params.get("builtin_images") or BUILTIN_IMAGES)
        return _load_image_set(data, cfg.image_size, seed, builtin, _data_stamp(data))

    @property
    def held_out(self) -> Any:
        return self.image_set.splits.get("test") or self.image_set.split("val")

    def _train_images(self, n: int, seed: int = 0) -> np.ndarray:
        images = self.image_set.split("train").images
        if len(images) > n:
            images = images[np.sort(np.random.default_rng(seed).choice(len(images), n, replace=False))]
        return images

    def _calibration_batches(self, batch: int = 32) -> list[Any]:
        from apps.imaging.model import to_tensor

        images = self._train_images(CALIBRATION_IMAGES)
        return [to_tensor(images[i:i + batch]) for i in range(0, len(images), batch)]

    # -- the AppOptimizer interface -----------------------------------------------
    def sample_items(self, n: int) -> list[Any]:
        """PNG uploads of held-out images (as the service receives them), repeated when there are fewer."""
        from PIL import Image

        from apps.imaging.predictor import ImageInput

        images = self.held_out.images
        items = []
        for i in range(min(n, len(images))):
            buf = io.BytesIO()
            Image.fromarray((np.clip(images[i], 0, 1) * 255).round().astype(np.uint8), mode="L").save(buf, "PNG")
            items.append(ImageInput.model_validate({"image_base64": base64.b64encode(buf.getvalue()).decode(),
                                                    "filename": f"held-out-{i}.png"}))
        return (items * (n // max(len(items), 1) + 1))[:n] if items else []

    def metric(self, version: str) -> float:
        """ROC AUC of ``version`` on the held-out split, through the same ``load_model`` the predictor uses."""
        from apps.imaging.model import load_model
        from apps.imaging.training import score
        from lepton_shared.registry import Registry

        model, cfg = load_model(Registry().get("imaging", version).path, self.device)
        metrics, _, _ = score(model, cfg, self.held_out)
        return float(metrics["roc_auc"])

    def write(self, method: str, folder: Path) -> None:
        from apps.imaging.model import ARTIFACT_WEIGHTS, ModelConfig

        if method not in self.methods:
            raise UserError(f"the imaging app does not support --method {method}")
        for path in self.source.path.iterdir():
            if path.name in NETWORK_FILES:
                continue
            if path.is_dir():
                shutil.copytree(path, folder / path.name)
            else:
                shutil.copy2(path, folder / path.name)
        cfg = ModelConfig.load(self.source.path)
        extra: dict[str, Any] = {}
        if method == "int8":
            extra = self._write_int8(folder, cfg)
        elif method == "prune":
            extra = self._write_pruned(folder, cfg)
        elif method in ("onnx", "onnx-int8"):
            extra = self._write_onnx(folder, cfg, quantize=method == "onnx-int8")
        else:
            extra = self._write_cast(folder, method)
        if not any((folder / name).exists() for name in (ARTIFACT_WEIGHTS, "model_int8.pt", "model.onnx")):
            raise RuntimeError(f"{method}: no network file was written")
        write_optimisation(folder, method, self.source, **extra)

    # -- the methods ----------------------------------------------------------------
    def _network(self) -> Any:
        """The source's float PyTorch network on the CPU (an fp32 or pruned version)."""
        from apps.imaging.model import load_model
        from apps.imaging.variants import DIFFERENTIABLE

        record = read_optimisation(self.source.path)
        if record is not None and record.get("method") not in DIFFERENTIABLE:
            raise UserError(f"imaging {self.source.version} is already optimised ({record.get('method')}); "
                            f"optimise its fp32 source {record.get('optimised_from')} instead")
        model, _ = load_model(self.source.path, "cpu")
        return model.float().eval()

    def _write_int8(self, folder: Path, cfg: Any) -> dict[str, Any]:
        from apps.imaging.variants import ARTIFACT_INT8, INT8_ENGINE, quantize_static_int8, save_int8

        batches = self._calibration_batches()
        quantized = quantize_static_int8(self._network(), cfg.image_size, batches)
        save_int8(quantized, folder / ARTIFACT_INT8)
        return {"backend": f"torch.ao FX static ({INT8_ENGINE})", "calibration_images": sum(len(b) for b in batches)}

    def _write_onnx(self, folder: Path, cfg: Any, quantize: bool) -> dict[str, Any]:
        import tempfile

        import torch

        from apps.imaging.variants import ARTIFACT_ONNX
        from lepton_shared.optimize.methods import export_onnx, quantize_onnx_static

        example = (torch.zeros(2, 1, cfg.image_size, cfg.image_size),)
        axes = {"images": {0: "batch"}, "logits": {0: "batch"}}
        if not quantize:
            export_onnx(self._network(), example, folder / ARTIFACT_ONNX, ["images"], ["logits"], axes)
            return {"runtime": "onnxruntime"}
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = Path(tmp) / "fp32.onnx"
            export_onnx(self._network(), example, fp32, ["images"], ["logits"], axes)
            batches = self._calibration_batches()
            quantize_onnx_static(fp32, folder / ARTIFACT_ONNX, ({"images": b.numpy()} for b in batches))
        return {"runtime": "onnxruntime", "quantization": "static QDQ int8, per-channel weights",
                "calibration_images": sum(len(b) for b in batches)}

    def _write_cast(self, folder: Path, method: str) -> dict[str, Any]:
        import torch

        from apps.imaging.model import ARTIFACT_WEIGHTS
        from lepton_shared.optimize.methods import CAST_DTYPES, check_cast_supported

        check_cast_supported(method, self.device)
        network = self._network().to(CAST_DTYPES[method])
        torch.save({k: v.cpu() for k, v in network.state_dict().items()}, folder / ARTIFACT_WEIGHTS)
        return {"dtype": str(CAST_DTYPES[method]).replace("torch.", "")}

    def _write_pruned(self, folder: Path, cfg: Any) -> dict[str, Any]:
        import torch

        from apps.imaging.model import ARTIFACT_WEIGHTS, predict_logits
        from apps.imaging.training import calibrate
        from lepton_shared.optimize.methods import make_pruning_permanent, prune_magnitude, sparsity

        network = prune_magnitude(self._network(), PRUNE_AMOUNT, structured=False, permanent=False)
        network = self.fine_tune(network)
        make_pruning_permanent(network)
        network = network.cpu().eval()
        val = self.image_set.split("val")
        calibrate(cfg, predict_logits(network, val.images), val.labels, int(self.source.params.get("seed") or 42))
        cfg.save(folder)
        torch.save({k: v.cpu() for k, v in network.state_dict().items()}, folder / ARTIFACT_WEIGHTS)
        return {"amount": PRUNE_AMOUNT, "structured": False, "sparsity": round(sparsity(network), 4),
                "fine_tune": {"epochs": 1, "images": min(FINE_TUNE_IMAGES, len(self.image_set.split("train"))),
                              "lr": FINE_TUNE_LR},
                "recalibrated": True}

    def fine_tune(self, module: Any, **kwargs: Any) -> Any:
        """One short epoch of the class-weighted training loss through the shared ``Trainer`` (no
        augmentation), on at most ``FINE_TUNE_IMAGES`` training images; validation AUC is logged."""
        import torch
        from torch import nn

        from apps.imaging.model import ImageDataset
        from apps.imaging.training import class_weights
        from lepton_shared.training import Trainer, TrainerConfig

        train = self.image_set.split("train")
        rng = np.random.default_rng(0)
        idx = rng.choice(len(train), min(FINE_TUNE_IMAGES, len(train)), replace=False)
        images, labels = train.images[idx], train.labels[idx]
        weights = class_weights(train.labels)
        val = self.image_set.split("val")

        def loss_fn(m: nn.Module, batch: Any) -> torch.Tensor:
            x, y = batch
            return nn.functional.cross_entropy(m(x), y, weight=weights.to(x.device))

        def eval_fn(m: nn.Module, loader: Any) -> dict[str, float]:
            from sklearn.metrics import roc_auc_score

            scores, ys = [], []
            for x, y in loader:
                scores.append(torch.softmax(m(x).float(), 1)[:, 1].cpu())
                ys.append(y.cpu())
            y_all, s_all = torch.cat(ys).numpy(), torch.cat(scores).numpy()
            return {"val_roc_auc": float(roc_auc_score(y_all, s_all)) if len(np.unique(y_all)) > 1 else 0.5}

        device = "cuda" if self.device == "cuda" else "cpu"
        config = TrainerConfig(epochs=int(kwargs.get("epochs", 1)), batch_size=64, lr=FINE_TUNE_LR,
                               weight_decay=0.0, device=device, monitor="val_roc_auc", mode="max", patience=None,
                               app="imaging", show_progress=True, seed=int(self.source.params.get("seed") or 42))
        trainer = Trainer(module, config, loss_fn=loss_fn, eval_fn=eval_fn)
        trainer.fit(ImageDataset(images, labels), ImageDataset(val.images, val.labels))
        return trainer.model


OPTIMIZER_CLASS = ImagingOptimizer
