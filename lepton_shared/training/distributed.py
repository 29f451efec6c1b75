"""torch.distributed set-up when launched by ``torchrun`` (NCCL on GPU, gloo on CPU)."""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def distributed_context(device_type: str = "cpu") -> DistributedContext:
    """Join the process group ``torchrun`` describes in the environment, once."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistributedContext()
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" and dist.is_nccl_available() else "gloo"
        dist.init_process_group(backend=backend)
        atexit.register(_leave_process_group)
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    return DistributedContext(world_size=world, rank=rank, local_rank=local_rank)


def _leave_process_group() -> None:
    """Destroy the process group before the interpreter tears down.

    Left to interpreter shutdown, the group's C++ threads (gloo's, the TCP store's) can be destroyed
    while still joinable, which aborts the process ("terminate called without an active exception")
    after the work succeeded. No barrier here: a rank leaving on an error must not wait for the others.
    """
    if dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(value: float, ctx: DistributedContext) -> float:
    if not ctx.enabled:
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return float(tensor.item() / ctx.world_size)
