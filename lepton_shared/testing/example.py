"""A tiny example model served end to end through ``create_app``.

It exercises every shared mechanism without any app: the ``Trainer`` fits a
logistic regression in torch, the registry stores it, the service answers over
HTTP. The foundation tests and the replica test use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from fastapi import FastAPI
from pydantic import BaseModel, Field
from torch import nn
from torch.utils.data import TensorDataset

from lepton_shared.registry import ModelInfo, Registry
from lepton_shared.serving import Predictor, RequestModel, create_app
from lepton_shared.training import Trainer, TrainerConfig

APP = "example"


def make_data(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two Gaussian blobs: label 1 when x0 + x1 > 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def loss_fn(model: nn.Module, batch: Any) -> torch.Tensor:
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def accuracy_fn(model: nn.Module, loader: Any) -> dict[str, float]:
    correct = total = 0
    for x, y in loader:
        correct += int((model(x).argmax(1) == y).sum())
        total += len(y)
    return {"accuracy": correct / max(1, total)}


def train_example(epochs: int = 5, seed: int = 0, **config: Any) -> tuple[nn.Module, Any]:
    x, y = make_data(seed=seed)
    model = nn.Linear(2, 2)
    cfg = TrainerConfig(epochs=epochs, batch_size=32, lr=0.1, seed=seed, app=APP, show_progress=False,
                        monitor="accuracy", mode="max", **config)
    trainer = Trainer(model, cfg, loss_fn=loss_fn, eval_fn=accuracy_fn)
    result = trainer.fit(TensorDataset(x[:200], y[:200]), TensorDataset(x[200:], y[200:]))
    return model, result


def register_example(epochs: int = 5) -> ModelInfo:
    model, result = train_example(epochs)

    def write(folder: Path) -> None:
        torch.save(model.state_dict(), folder / "model.pt")

    return Registry().register(APP, write, metrics=result.best_metrics, params={"epochs": epochs})


class ExampleInput(RequestModel):
    x0: float = Field(description="first feature")
    x1: float = Field(description="second feature")


class ExamplePredictor(Predictor):
    app_name: ClassVar[str] = APP
    InputModel: ClassVar[type[BaseModel]] = ExampleInput

    def __init__(self, info: ModelInfo) -> None:
        super().__init__(info.version)
        self.model = nn.Linear(2, 2)
        self.model.load_state_dict(torch.load(info.path / "model.pt", weights_only=True))
        self.model.eval()

    def predict_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        x = torch.tensor([[i.x0, i.x1] for i in items], dtype=torch.float32)
        with torch.no_grad():
            proba = torch.softmax(self.model(x), dim=1)[:, 1].tolist()
        return [{"label": int(p >= 0.5), "probability": round(p, 6), "model_version": self.version} for p in proba]

    @classmethod
    def example_input(cls) -> dict[str, Any]:
        return {"x0": 0.5, "x1": 1.0}


def example_service(micro_batch: bool = False) -> FastAPI:
    return create_app(APP, predictor_loader=lambda: ExamplePredictor(Registry().get(APP)), micro_batch=micro_batch,
                      title="Lepton example service", input_model=ExamplePredictor.InputModel)
