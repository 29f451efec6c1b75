"""``Trainer``: a short, readable loop in the spirit of nanoGPT.

It does what every app needs and nothing app-specific: device choice, mixed
precision on GPU, gradient accumulation, checkpoint/resume after a crash, early
stopping on a validation metric, seeding, a tqdm progress bar, metric logging to
the database and DistributedDataParallel when launched with ``torchrun``.
The app supplies the model, ``loss_fn(model, batch)`` and ``eval_fn(model, loader)``.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from lepton_shared.durable import durable_replace
from lepton_shared.errors import UserError
from lepton_shared.recovery import fail_interrupted_runs, heartbeat
from lepton_shared.training.checkpoints import current_scope
from lepton_shared.training.distributed import DistributedContext, all_reduce_mean, distributed_context

LossFn = Callable[[nn.Module, Any], torch.Tensor]
EvalFn = Callable[[nn.Module, DataLoader], dict[str, float]]


def resolve_device(device: str | None = None) -> torch.device:
    """``auto`` (CUDA when present), ``cpu`` or ``cuda``; None means the ``LEPTON_DEVICE`` setting."""
    if device is None:
        from lepton_shared.settings import get_settings

        setting = get_settings().device
        if setting not in ("auto", "cpu", "cuda"):
            raise UserError(f"LEPTON_DEVICE={setting!r} is not a device: use auto, cpu or cuda")
        if setting == "cuda" and not torch.cuda.is_available():
            raise UserError("LEPTON_DEVICE=cuda but no CUDA GPU is available (use auto or cpu)")
        device = setting
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but no CUDA GPU is available")
    if device not in ("cpu", "cuda"):
        raise UserError(f"unknown device {device!r}: use auto, cpu or cuda")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def move_to_device(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {k: move_to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(v, device, non_blocking) for v in batch)
    return batch


@dataclass
class TrainerConfig:
    epochs: int = 5
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_accum_steps: int = 1
    max_grad_norm: float | None = 1.0
    device: str | None = None  # auto | cpu | cuda; None: the LEPTON_DEVICE setting
    amp: str = "auto"  # auto (on for CUDA) | on | off
    seed: int = 42
    monitor: str = "val_loss"
    mode: str = "min"  # min | max
    patience: int | None = 3
    #: the best value ``monitor`` can take (1.0 for an accuracy or an AUC); reaching it ends the run, because
    #: only a strictly better epoch replaces the best weights, so no later epoch could change the result
    best_possible: float | None = None
    checkpoint_dir: Path | None = None
    resume: bool = False
    num_workers: int = 0
    shuffle: bool = True
    drop_last: bool = False
    warmup_ratio: float = 0.0
    scheduler: str = "none"  # none | cosine | linear
    show_progress: bool = True
    channels_last: bool = False
    app: str = "unknown"
    log_to_db: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FitResult:
    best_metrics: dict[str, float]
    history: list[dict[str, float]]
    epochs_run: int
    best_epoch: int
    seconds: float
    samples_per_second: float
    stopped_early: bool
    run_id: int | None = None


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        config: TrainerConfig,
        loss_fn: LossFn,
        eval_fn: EvalFn | None = None,
        param_groups: list[dict[str, Any]] | None = None,
        optimizer_factory: Callable[[Any], torch.optim.Optimizer] | None = None,
        on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    ) -> None:
        scope = current_scope()
        if scope is not None and config.checkpoint_dir is None:  # inside `lepton <app> train`: resumable
            config = replace(config, checkpoint_dir=scope.next_folder(), resume=scope.resume)
        self.config = config
        self.device = resolve_device(config.device)
        self.ctx: DistributedContext = distributed_context(self.device.type)
        if self.ctx.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.ctx.local_rank)
        seed_everything(config.seed)
        self.model = model.to(self.device)
        if config.channels_last and self.device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.loss_fn = loss_fn
        self.eval_fn = eval_fn
        self.on_epoch_end = on_epoch_end
        params = param_groups if param_groups is not None else [p for p in model.parameters() if p.requires_grad]
        self.optimizer = (optimizer_factory(params) if optimizer_factory
                          else torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay))
        self.use_amp = (config.amp == "on" or (config.amp == "auto" and self.device.type == "cuda"))
        self.amp_dtype = torch.bfloat16 if (self.device.type == "cuda" and torch.cuda.is_bf16_supported()) \
            else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16
                                           and self.device.type == "cuda")
        self.wrapped: nn.Module = (DistributedDataParallel(self.model, device_ids=[self.device.index]
                                                           if self.device.type == "cuda" else None)
                                   if self.ctx.enabled else self.model)
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None

    # -- checkpointing -------------------------------------------------
    @property
    def checkpoint_path(self) -> Path | None:
        return self.config.checkpoint_dir / "last.pt" if self.config.checkpoint_dir else None

    def save_checkpoint(self, epoch: int, best: float, best_state: dict[str, Any], history: list[dict[str, float]],
                        bad_epochs: int, stopped_early: bool = False) -> None:
        if self.checkpoint_path is None or not self.ctx.is_main:
            return
        self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "epoch": epoch, "best": best, "best_state": best_state, "history": history, "bad_epochs": bad_epochs,
            "stopped_early": stopped_early,
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
        }
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save(state, tmp)
        durable_replace(tmp, self.checkpoint_path)  # a crash mid-save keeps the previous checkpoint

    def _load_checkpoint(self) -> dict[str, Any] | None:
        if not (self.config.resume and self.checkpoint_path and self.checkpoint_path.exists()):
            return None
        state = torch.load(self.checkpoint_path, map_location=self.device, weights_only=False)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        if self.scheduler and state.get("scheduler"):
            self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
        return state

    # -- loop ------------------------------------------------------------
    def _loader(self, dataset: Dataset, shuffle: bool, collate_fn: Callable[..., Any] | None,
                epoch: int = 0) -> DataLoader:
        sampler: DistributedSampler[Any] | None = None
        if self.ctx.enabled:
            sampler = DistributedSampler(dataset, num_replicas=self.ctx.world_size, rank=self.ctx.rank,
                                         shuffle=shuffle, seed=self.config.seed)
            sampler.set_epoch(epoch)
        generator = torch.Generator().manual_seed(self.config.seed + epoch)
        return DataLoader(dataset, batch_size=self.config.batch_size, shuffle=shuffle and sampler is None,
                          sampler=sampler, collate_fn=collate_fn, num_workers=self.config.num_workers,
                          drop_last=self.config.drop_last, generator=generator,
                          pin_memory=self.device.type == "cuda")

    def _make_scheduler(self, steps: int) -> None:
        if self.config.scheduler == "none" or steps <= 0:
            return
        warmup = int(steps * self.config.warmup_ratio)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / max(1, warmup)
            progress = (step - warmup) / max(1, steps - warmup)
            if self.config.scheduler == "cosine":
                return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
            return max(0.0, 1 - progress)

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)

    def _autocast(self) -> Any:
        if not self.use_amp:  # a disabled autocast still costs tens of microseconds per step: skip it
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=True)

    def _better(self, value: float, best: float) -> bool:
        return value < best if self.config.mode == "min" else value > best

    def _at_best_possible(self, best: float) -> bool:
        bound = self.config.best_possible
        return bound is not None and (best <= bound if self.config.mode == "min" else best >= bound)

    def evaluate(self, dataset: Dataset, collate_fn: Callable[..., Any] | None = None) -> dict[str, float]:
        loader = DataLoader(dataset, batch_size=self.config.batch_size * 2, shuffle=False, collate_fn=collate_fn)
        self.model.eval()
        metrics: dict[str, float] = {}
        with torch.no_grad(), self._autocast():
            total, count = 0.0, 0
            for batch in loader:
                batch = move_to_device(batch, self.device)
                loss = self.loss_fn(self.model, batch)
                n = _batch_len(batch)
                total += float(loss) * n
                count += n
            metrics["val_loss"] = total / max(1, count)
            if self.eval_fn is not None:
                metrics.update(self.eval_fn(self.model, loader))
        return metrics

    def fit(self, train_dataset: Dataset, val_dataset: Dataset | None = None,
            collate_fn: Callable[..., Any] | None = None) -> FitResult:
        cfg = self.config
        if len(train_dataset) == 0:  # type: ignore[arg-type]
            raise UserError("no training examples")
        steps_per_epoch = math.ceil(len(self._loader(train_dataset, False, collate_fn)) / cfg.grad_accum_steps)
        self._make_scheduler(steps_per_epoch * cfg.epochs)
        sign = 1.0 if cfg.mode == "min" else -1.0
        best, best_epoch, bad_epochs, start_epoch = sign * math.inf, -1, 0, 0
        history: list[dict[str, float]] = []
        best_state: dict[str, Any] = copy.deepcopy(self.model.state_dict())
        resumed = self._load_checkpoint()
        stopped_early = False
        if resumed is not None:
            stopped_early = bool(resumed.get("stopped_early", False))
            start_epoch = cfg.epochs if stopped_early else resumed["epoch"] + 1
            best, best_state, history, bad_epochs = (resumed["best"], resumed["best_state"], resumed["history"],
                                                     resumed["bad_epochs"])
            best_epoch = max(range(len(history)), key=lambda i: -sign * history[i].get(cfg.monitor, best)) \
                if history else -1
        run_id = self._start_run() if cfg.log_to_db and self.ctx.is_main else None
        started, samples = time.perf_counter(), 0
        for epoch in range(start_epoch, cfg.epochs):
            self.wrapped.train()
            loader = self._loader(train_dataset, cfg.shuffle, collate_fn, epoch)
            bar = tqdm(loader, desc=f"{cfg.app} epoch {epoch + 1}/{cfg.epochs}", leave=False,
                       disable=not (cfg.show_progress and self.ctx.is_main), dynamic_ncols=True)
            running, seen = 0.0, 0
            steps, show = len(loader), not bar.disable  # per-step bookkeeping kept out of small models' way
            self.optimizer.zero_grad(set_to_none=True)
            for step, batch in enumerate(bar):
                batch = move_to_device(batch, self.device, non_blocking=True)
                with self._autocast():
                    loss = self.loss_fn(self.wrapped, batch)
                self.scaler.scale(loss if cfg.grad_accum_steps == 1 else loss / cfg.grad_accum_steps).backward()
                if (step + 1) % cfg.grad_accum_steps == 0 or step + 1 == steps:
                    if cfg.max_grad_norm:
                        self.scaler.unscale_(self.optimizer)
                        nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                    self.optimizer.zero_grad(set_to_none=True)
                    if self.scheduler is not None:
                        self.scheduler.step()
                n = _batch_len(batch)
                running += float(loss.detach()) * n
                seen += n
                if show:
                    bar.set_postfix(loss=f"{running / max(1, seen):.4f}")
            samples += seen * self.ctx.world_size
            metrics = {"epoch": float(epoch + 1), "train_loss": all_reduce_mean(running / max(1, seen), self.ctx)}
            if val_dataset is not None:
                metrics.update(self.evaluate(val_dataset, collate_fn))
            history.append(metrics)
            value = metrics.get(cfg.monitor, metrics["train_loss"])
            if self._better(value, best):
                best, best_epoch, bad_epochs = value, epoch, 0
                best_state = copy.deepcopy(self.model.state_dict())
            else:
                bad_epochs += 1
            if self.on_epoch_end is not None:
                self.on_epoch_end(epoch, metrics)
            stopped_early = (cfg.patience is not None and bad_epochs >= cfg.patience) or (
                cfg.monitor in metrics and self._at_best_possible(best))  # not on the train-loss fallback
            self.save_checkpoint(epoch, best, best_state, history, bad_epochs, stopped_early)
            self._log_epoch(run_id, history)
            if self.ctx.is_main and cfg.show_progress:
                shown = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if k != "epoch")
                tqdm.write(f"[{cfg.app}] epoch {epoch + 1}/{cfg.epochs}: {shown}")
            if stopped_early:
                break
        self.model.load_state_dict(best_state)
        seconds = time.perf_counter() - started
        result = FitResult(
            best_metrics=_best_row(history, cfg.monitor, cfg.mode),
            history=history, epochs_run=len(history), best_epoch=best_epoch + 1, seconds=seconds,
            samples_per_second=samples / seconds if seconds > 0 else 0.0, stopped_early=stopped_early,
            run_id=run_id,
        )
        self._finish_run(run_id, result)
        return result

    # -- database logging -------------------------------------------------
    def _start_run(self) -> int | None:
        """The run's row, owned by this process; runs left "running" by killed processes are marked failed first."""
        try:
            from lepton_shared.storage import TrainingRun, session_scope

            fail_interrupted_runs()
            params = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self.config).items()}
            params["device"] = str(self.device)
            params["world_size"] = self.ctx.world_size
            with session_scope() as session:
                run = TrainingRun(app=self.config.app, params=params, status="running",
                                  timings={"owner": heartbeat()})
                session.add(run)
                session.flush()
                return int(run.id)
        except Exception:
            return None

    def _log_epoch(self, run_id: int | None, history: list[dict[str, float]]) -> None:
        if run_id is None:
            return
        from lepton_shared.storage import TrainingRun, session_scope

        with session_scope() as session:
            run = session.get(TrainingRun, run_id)
            if run is not None:
                run.history = list(history)
                run.timings = {**(run.timings or {}), "owner": heartbeat()}

    def _finish_run(self, run_id: int | None, result: FitResult) -> None:
        if run_id is None:
            return
        from lepton_shared.storage import TrainingRun, session_scope
        from lepton_shared.storage.models import utcnow

        with session_scope() as session:
            run = session.get(TrainingRun, run_id)
            if run is not None:
                run.status = "finished"
                run.metrics = result.best_metrics
                run.timings = {**(run.timings or {}), "seconds": result.seconds,
                               "samples_per_second": result.samples_per_second}
                run.finished_at = utcnow()


def _best_row(history: list[dict[str, float]], monitor: str, mode: str) -> dict[str, float]:
    if not history:
        return {}
    if monitor not in history[0]:
        monitor, mode = "train_loss", "min"
    key = monitor
    pick = min if mode == "min" else max
    best: dict[str, float] = pick(history, key=lambda row: row.get(key, math.inf if mode == "min" else -math.inf))
    return dict(best)


def _batch_len(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, dict):
        return _batch_len(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)) and batch:
        return _batch_len(batch[0])
    return 1
