import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from sqlalchemy import select
from torch import nn
from torch.utils.data import TensorDataset

from lepton_shared.errors import UserError
from lepton_shared.storage import TrainingRun, session_scope
from lepton_shared.testing.example import loss_fn, make_data, train_example
from lepton_shared.training import Trainer, TrainerConfig, move_to_device, resolve_device

HERE = Path(__file__).parent


def test_loss_drops_and_run_is_logged(lepton_home: Path) -> None:
    _model, result = train_example(epochs=5)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"] * 0.7
    assert result.best_metrics["accuracy"] >= 0.95
    with session_scope() as session:
        run = session.scalars(select(TrainingRun)).one()
        assert run.status == "finished" and len(run.history) == result.epochs_run
        assert run.timings["seconds"] > 0 and run.params["batch_size"] == 32


class Crash(Exception):
    pass


def test_resume_after_crash_continues_from_checkpoint(lepton_home: Path, tmp_path: Path) -> None:
    x, y = make_data(seed=1)
    train, val = TensorDataset(x[:200], y[:200]), TensorDataset(x[200:], y[200:])
    cfg = dict(epochs=6, batch_size=32, lr=0.05, seed=3, checkpoint_dir=tmp_path / "ckpt", resume=True,
               show_progress=False, patience=None, app="t")

    def fresh() -> nn.Module:
        torch.manual_seed(0)
        return nn.Linear(2, 2)

    # Reference: six epochs without interruption.
    ref = Trainer(fresh(), TrainerConfig(**{**cfg, "checkpoint_dir": tmp_path / "ref"}), loss_fn)
    ref_result = ref.fit(train, val)

    def crash_after_third(epoch: int, _: dict) -> None:
        if epoch == 2:
            raise Crash()

    first = Trainer(fresh(), TrainerConfig(**cfg), loss_fn, on_epoch_end=crash_after_third)
    with pytest.raises(Crash):
        first.fit(train, val)
    # on_epoch_end runs before the checkpoint is written, so epochs 1-2 are saved
    epochs_seen = []
    second = Trainer(fresh(), TrainerConfig(**cfg), loss_fn,
                     on_epoch_end=lambda e, m: epochs_seen.append(e))
    result = second.fit(train, val)
    assert epochs_seen == [2, 3, 4, 5]
    assert result.epochs_run == 6
    for a, b in zip(result.history, ref_result.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)


def test_early_stopping_and_best_weights(lepton_home: Path) -> None:
    x, y = make_data(seed=2)
    data = TensorDataset(x, y)
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    seen: list[float] = []
    states: list[dict[str, torch.Tensor]] = []
    holder: dict[str, Trainer] = {}

    def record(epoch: int, metrics: dict) -> None:
        seen.append(metrics["val_loss"])
        states.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        if epoch == 2:  # from here on, gradient ascent: every later epoch is worse on validation
            for group in holder["trainer"].optimizer.param_groups:
                group["lr"] = -group["lr"]

    cfg = TrainerConfig(epochs=20, batch_size=32, patience=2, shuffle=False, max_grad_norm=None,
                        show_progress=False, app="t")
    trainer = Trainer(model, cfg, loss_fn, on_epoch_end=record,
                      optimizer_factory=lambda p: torch.optim.SGD(p, lr=0.1))
    holder["trainer"] = trainer
    result = trainer.fit(data, data)

    # three improving epochs, then `patience` worse ones stop the run
    assert seen[0] > seen[1] > seen[2] < seen[3] < seen[4], seen
    assert result.stopped_early and result.epochs_run == 5 and len(seen) == 5
    assert result.best_epoch == 3 and result.best_metrics["val_loss"] == pytest.approx(seen[2])
    # the model ends with the weights of the best epoch, not those of the last one
    final = model.state_dict()
    for name, best in states[2].items():
        assert torch.equal(final[name], best), name
    assert any(not torch.equal(final[name], last) for name, last in states[-1].items())
    assert trainer.evaluate(data)["val_loss"] == pytest.approx(seen[2], rel=1e-6)


def test_early_stopping_without_improvement(lepton_home: Path) -> None:
    x, y = make_data(seed=2)
    seen: list[float] = []
    # lr=0 never improves: stop after `patience` bad epochs.
    trainer = Trainer(nn.Linear(2, 2), TrainerConfig(epochs=20, lr=0.0, patience=2, show_progress=False, app="t"),
                      loss_fn, on_epoch_end=lambda e, m: seen.append(m["val_loss"]))
    result = trainer.fit(TensorDataset(x, y), TensorDataset(x, y))
    assert result.stopped_early and result.epochs_run == 3 and len(seen) == 3
    assert result.best_epoch == 1


def test_gradient_accumulation_matches_larger_batch(lepton_home: Path) -> None:
    x, y = make_data(seed=4, n=128)
    ds = TensorDataset(x, y)

    def run(batch: int, accum: int) -> torch.Tensor:
        torch.manual_seed(0)
        model = nn.Linear(2, 2)
        cfg = TrainerConfig(
            epochs=2, batch_size=batch, grad_accum_steps=accum, lr=0.1, shuffle=False, max_grad_norm=None,
            show_progress=False, patience=None, app="t", log_to_db=False)
        Trainer(model, cfg, loss_fn, optimizer_factory=lambda p: torch.optim.SGD(p, lr=0.1)).fit(ds)
        return model.weight.detach().clone()

    assert torch.allclose(run(32, 2), run(64, 1), atol=1e-5)


def test_bad_device_and_empty_data(lepton_home: Path) -> None:
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA"):
            resolve_device("cuda")
    with pytest.raises(UserError):
        resolve_device("tpu")
    trainer = Trainer(nn.Linear(2, 2), TrainerConfig(show_progress=False, app="t"), loss_fn)
    with pytest.raises(UserError, match="no training examples"):
        trainer.fit(TensorDataset(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)))


def test_move_to_device_handles_nested_batches() -> None:
    batch = {"a": torch.zeros(2), "b": [torch.ones(1), (torch.ones(1), "text")]}
    moved = move_to_device(batch, torch.device("cpu"))
    assert moved["b"][1][1] == "text" and isinstance(moved["b"][1], tuple)


def _torchrun(nproc: int, out: Path, batch: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LEPTON_HOME": str(out.parent / f"home{nproc}")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           str(HERE / "ddp_script.py"), str(out), str(batch)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_two_process_gloo_matches_one_process(tmp_path: Path) -> None:
    one = _torchrun(1, tmp_path / "one.json", batch=32)
    two = _torchrun(2, tmp_path / "two.json", batch=16)  # 2 x 16 = the same global batch
    assert two["world_size"] == 2 and one["world_size"] == 1
    assert torch.allclose(torch.tensor(one["weight"]), torch.tensor(two["weight"]), atol=1e-5)
    assert one["accuracy"] == pytest.approx(two["accuracy"], abs=1e-6)


def test_reaching_the_best_possible_value_ends_the_run(lepton_home: Path) -> None:
    """An epoch at the monitor's bound cannot be replaced (only a strictly better one could), so the run stops
    there with that epoch's weights; without the bound the same run goes on to ``epochs``."""
    x, y = make_data(seed=2)

    def run(bound: float | None) -> object:
        scores = iter([0.5, 0.9, 1.0, 1.0, 1.0, 1.0])

        def eval_fn(model: nn.Module, loader: object) -> dict[str, float]:
            return {"accuracy": next(scores)}

        cfg = TrainerConfig(epochs=6, monitor="accuracy", mode="max", patience=None, best_possible=bound,
                            show_progress=False, app="t")
        return Trainer(nn.Linear(2, 2), cfg, loss_fn, eval_fn=eval_fn).fit(TensorDataset(x, y), TensorDataset(x, y))

    bounded = run(1.0)
    assert bounded.stopped_early and bounded.epochs_run == 3 and bounded.best_epoch == 3
    unbounded = run(None)
    assert not unbounded.stopped_early and unbounded.epochs_run == 6 and unbounded.best_epoch == 3
    # without a validation set the run watches its train loss instead, which the bound is not about
    cfg = TrainerConfig(epochs=2, monitor="accuracy", mode="max", patience=None, best_possible=0.0,
                        show_progress=False, app="t")
    assert Trainer(nn.Linear(2, 2), cfg, loss_fn).fit(TensorDataset(x, y)).epochs_run == 2
