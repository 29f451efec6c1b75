"""Run by test_trainer under torchrun: train the example model, dump the weights (rank 0)."""

import json
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

from lepton_shared.testing.example import accuracy_fn, loss_fn, make_data
from lepton_shared.training import Trainer, TrainerConfig


def main() -> None:
    out, batch = Path(sys.argv[1]), int(sys.argv[2])
    x, y = make_data(n=256, seed=5)
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    cfg = TrainerConfig(epochs=3, batch_size=batch, lr=0.05, shuffle=False, seed=0, show_progress=False,
                        patience=None, app="ddp", log_to_db=False, monitor="accuracy", mode="max")
    trainer = Trainer(model, cfg, loss_fn, eval_fn=accuracy_fn)
    result = trainer.fit(TensorDataset(x[:192], y[:192]), TensorDataset(x[192:], y[192:]))
    if trainer.ctx.is_main:
        out.write_text(json.dumps({"weight": model.weight.detach().tolist(), "world_size": trainer.ctx.world_size,
                                   "accuracy": result.history[-1]["accuracy"]}))
    if trainer.ctx.enabled:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
