"""Every Trainer of a ``train`` command checkpoints into its own folder, so a resumed command continues each one."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from lepton_shared.config import TrainConfig
from lepton_shared.errors import UserError
from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.example import loss_fn, make_data
from lepton_shared.training import FitResult, Trainer, TrainerConfig
from lepton_shared.training.checkpoints import resumable


class Crash(Exception):
    pass


def fit(seed: int, crash_at: int | None = None, trained: list[tuple[int, int]] | None = None) -> FitResult:
    def on_epoch_end(epoch: int, _metrics: dict[str, float]) -> None:
        if trained is not None:
            trained.append((seed, epoch))
        if epoch == crash_at:
            raise Crash

    torch.manual_seed(seed)
    x, y = make_data(seed=seed)
    config = TrainerConfig(epochs=4, batch_size=32, lr=0.1, seed=seed, app="example", show_progress=False,
                           patience=None, log_to_db=False)
    trainer = Trainer(nn.Linear(2, 2), config, loss_fn=loss_fn, on_epoch_end=on_epoch_end)
    return trainer.fit(TensorDataset(x[:200], y[:200]), TensorDataset(x[200:], y[200:]))


def test_each_trainer_of_a_resumed_training_continues_where_it_stopped(tmp_path: Path) -> None:
    config = TrainConfig(seed=3)
    with lepton_env(tmp_path / "reference"), resumable("example", config):
        expected = [fit(1), fit(2)]
    with lepton_env(tmp_path / "home") as home:
        with pytest.raises(Crash), resumable("example", config):
            fit(1)
            fit(2, crash_at=2)  # the second Trainer is killed after two epochs were saved
        saved = sorted(p.relative_to(home / "checkpoints" / "example").parts[1:]
                       for p in (home / "checkpoints" / "example").glob("*/trainer-*/last.pt"))
        assert saved == [("trainer-1", "last.pt"), ("trainer-2", "last.pt")]
        with pytest.raises(UserError, match=r"seed=4 \(was 3\)"), resumable("example", replace(config, seed=4,
                                                                                               resume=True)):
            pass
        trained: list[tuple[int, int]] = []
        with resumable("example", replace(config, resume=True)):
            resumed = [fit(1, trained=trained), fit(2, trained=trained)]
        assert trained == [(2, 2), (2, 3)]  # the first Trainer had finished; the second lost only its third epoch
        assert not (home / "checkpoints" / "example").exists()
    assert [r.history for r in resumed] == [r.history for r in expected]
