"""The one training loop every torch model in the suite goes through."""

from lepton_shared.training.distributed import DistributedContext, distributed_context
from lepton_shared.training.trainer import (
    FitResult,
    Trainer,
    TrainerConfig,
    move_to_device,
    resolve_device,
    seed_everything,
)

__all__ = [
    "DistributedContext",
    "FitResult",
    "Trainer",
    "TrainerConfig",
    "distributed_context",
    "move_to_device",
    "resolve_device",
    "seed_everything",
]
