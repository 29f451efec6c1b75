"""The shared :class:`~lepton_shared.training.Trainer` against a plain torch loop.

Both train the same MLP from the same initial weights on the same synthetic data,
with the same optimiser (AdamW), gradient clipping (the Trainer's default 1.0),
batch order (a loader seeded with ``seed + epoch``, as the Trainer's) and a
validation pass after every epoch. What remains between them is the Trainer's own
work: device moves, the autocast and gradient-scaler wrappers (disabled on the
CPU), the running loss, keeping the best weights and early-stopping bookkeeping.

The two run side by side ``repeats`` times in alternating order (trainer first,
then plain first, …) so that a machine that warms up or slows down mid-way
affects both alike; the medians are compared. Their final training losses are
reported too: equal losses show the two did the same arithmetic.
"""

from __future__ import annotations

import copy
import math
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lepton_shared.perf import load_average, peak_rss_mb, progress


@dataclass(frozen=True)
class TrainerBench:
    """The workload: ``samples`` rows of ``features`` synthetic features, ``classes`` classes, an MLP with two
    hidden layers of ``hidden`` units, ``epochs`` epochs of ``batch_size`` batches."""

    samples: int = 40_000
    features: int = 64
    hidden: int = 256
    classes: int = 10
    batch_size: int = 64
    epochs: int = 3
    lr: float = 1e-3
    repeats: int = 3
    seed: int = 42
    device: str | None = None  # auto | cpu | cuda; None: LEPTON_DEVICE
    threads: int | None = None  # torch CPU threads; None: torch's default (one per core)

    @classmethod
    def tiny(cls) -> TrainerBench:
        """Seconds in all, for tests."""
        return cls(samples=1_000, features=16, hidden=32, epochs=1, repeats=1)


def make_data(bench: TrainerBench) -> tuple[TensorDataset, TensorDataset]:
    """(train, validation): Gaussian features whose class is the argmax of a fixed random linear map, plus noise."""
    gen = torch.Generator().manual_seed(bench.seed)
    x = torch.randn(bench.samples, bench.features, generator=gen)
    w = torch.randn(bench.features, bench.classes, generator=gen)
    y = (x @ w + 0.5 * torch.randn(bench.samples, bench.classes, generator=gen)).argmax(dim=1)
    cut = int(bench.samples * 0.9)
    return TensorDataset(x[:cut], y[:cut]), TensorDataset(x[cut:], y[cut:])


def make_model(bench: TrainerBench) -> nn.Module:
    torch.manual_seed(bench.seed)
    return nn.Sequential(nn.Linear(bench.features, bench.hidden), nn.ReLU(), nn.Linear(bench.hidden, bench.hidden),
                         nn.ReLU(), nn.Linear(bench.hidden, bench.classes))


def _loss(model: nn.Module, batch: Any) -> torch.Tensor:
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def run_trainer(bench: TrainerBench, train: TensorDataset, val: TensorDataset) -> tuple[float, float, float]:
    """(wall-clock seconds of ``Trainer.fit``, its CPU seconds, final epoch's training loss)."""
    from lepton_shared.training import Trainer, TrainerConfig

    config = TrainerConfig(epochs=bench.epochs, batch_size=bench.batch_size, lr=bench.lr, device=bench.device,
                           seed=bench.seed, patience=None, show_progress=False, log_to_db=False, app="perf")
    trainer = Trainer(make_model(bench), config, _loss)
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    start, cpu = time.perf_counter(), time.process_time()
    result = trainer.fit(train, val)
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, time.process_time() - cpu, float(result.history[-1]["train_loss"])


def run_plain(bench: TrainerBench, train: TensorDataset, val: TensorDataset) -> tuple[float, float, float]:
    """(wall-clock and CPU seconds of a hand-written loop doing the same work, final epoch's training loss)."""
    from lepton_shared.training import resolve_device, seed_everything

    device = resolve_device(bench.device)
    seed_everything(bench.seed)
    model = make_model(bench).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=bench.lr, weight_decay=0.0)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start, cpu = time.perf_counter(), time.process_time()
    best, best_state, train_loss = math.inf, copy.deepcopy(model.state_dict()), math.nan
    for epoch in range(bench.epochs):
        model.train()
        loader = DataLoader(train, batch_size=bench.batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(bench.seed + epoch))
        # The Trainer's progress bar (tqdm.auto) opens one iterator of the loader that it never uses, which draws
        # once from the loader's generator. Doing the same keeps the batch order, so both do identical arithmetic.
        iter(loader)
        total, seen = 0.0, 0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += float(loss.detach()) * len(y)
            seen += len(y)
        train_loss = total / seen
        model.eval()
        with torch.no_grad():
            val_total, val_seen = 0.0, 0
            for x, y in DataLoader(val, batch_size=bench.batch_size * 2):
                x, y = x.to(device), y.to(device)
                val_total += float(nn.functional.cross_entropy(model(x), y)) * len(y)
                val_seen += len(y)
        if val_total / val_seen < best:  # keep the best weights, as any careful loop does
            best, best_state = val_total / val_seen, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, time.process_time() - cpu, train_loss


def compare(bench: TrainerBench | None = None, quiet: bool = False) -> dict[str, Any]:
    """``trainer_s`` and ``plain_s`` (medians over ``repeats`` alternating runs), their ``ratio``, every run's
    seconds, both final losses, peak memory and the machine load.

    On a machine busy with other work, pass ``threads=1``: torch's OpenMP threads spin against each other when
    the cores are oversubscribed, and the run times then vary several-fold from run to run."""
    from lepton_shared.training import resolve_device

    bench = bench or TrainerBench()
    device = resolve_device(bench.device)
    previous_threads = torch.get_num_threads()
    if bench.threads is not None:
        torch.set_num_threads(bench.threads)  # for this measurement only; restored below
    try:
        return _compare(bench, device, quiet)
    finally:
        torch.set_num_threads(previous_threads)


def _compare(bench: TrainerBench, device: torch.device, quiet: bool) -> dict[str, Any]:
    train, val = make_data(bench)
    load_before = load_average()
    runs: dict[str, list[float]] = {"trainer": [], "plain": []}
    cpu_runs: dict[str, list[float]] = {"trainer": [], "plain": []}
    losses: dict[str, float] = {}
    runners = {"trainer": run_trainer, "plain": run_plain}
    run_trainer(TrainerBench(**{**asdict(bench), "samples": min(bench.samples, 512), "epochs": 1}),
                *make_data(TrainerBench(**{**asdict(bench), "samples": min(bench.samples, 512)})))  # warm-up
    for rep in range(bench.repeats):
        order = ["trainer", "plain"] if rep % 2 == 0 else ["plain", "trainer"]
        for name in order:
            seconds, cpu, loss = runners[name](bench, train, val)
            runs[name].append(round(seconds, 4))
            cpu_runs[name].append(round(cpu, 4))
            losses[name] = loss
            if not quiet:
                progress(f"perf trainer: run {rep + 1}/{bench.repeats} {name:7} {seconds:.2f} s, CPU {cpu:.2f} s "
                         f"(loss {loss:.4f})")
    trainer_s, plain_s = statistics.median(runs["trainer"]), statistics.median(runs["plain"])
    return {
        "trainer_s": round(trainer_s, 4),
        "plain_s": round(plain_s, 4),
        "ratio": round(trainer_s / plain_s, 4),
        "trainer_runs_s": runs["trainer"],
        "plain_runs_s": runs["plain"],
        # CPU time (all threads of this process): much less disturbed than wall-clock time by other work on a
        # shared machine, so the steadier comparison there
        "trainer_cpu_s": round(statistics.median(cpu_runs["trainer"]), 4),
        "plain_cpu_s": round(statistics.median(cpu_runs["plain"]), 4),
        "cpu_ratio": round(statistics.median(cpu_runs["trainer"]) / statistics.median(cpu_runs["plain"]), 4),
        "trainer_cpu_runs_s": cpu_runs["trainer"],
        "plain_cpu_runs_s": cpu_runs["plain"],
        "trainer_final_loss": round(losses["trainer"], 6),
        "plain_final_loss": round(losses["plain"], 6),
        "same_result": math.isclose(losses["trainer"], losses["plain"], rel_tol=1e-5, abs_tol=1e-7),
        "peak_rss_mb": peak_rss_mb(),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "load_average": {"before": load_before, "after": load_average()},
        "workload": asdict(bench),
    }
