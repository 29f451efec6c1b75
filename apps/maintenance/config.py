"""Typed configurations of ``lepton maintenance train`` and ``evaluate``.

One field per option of ``MaintenanceApp.add_arguments``, named as its argparse destination and
with the same default; ``None`` means "the recipe's default" (``training.Budget``). The CLI builds
them with ``lepton_shared.config.from_args``; pages, tests and benchmarks build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from lepton_shared.config import EvaluateConfig, TrainConfig


@dataclass
class MaintenanceTrainConfig(TrainConfig):
    tiny: bool = False  #: a very small, fast run (tests and smoke checks)
    cost: list[str] | None = None  #: cost overrides as ``KEY=VALUE`` (see ``costs.CostModel``)
    episodes: int | None = None  #: held-out simulator episodes per policy in the comparison (40)
    members: int | None = None  #: CNN ensemble members (3)
    rl_steps: int | None = None  #: PPO environment steps on the simulator (150,000)
    coarse_baselines: bool = False  #: rule baselines on a coarser grid, half the tuning episodes (quick model)
    # The RUL model's hyperparameters (what ``tune`` searches; ``train --params best`` sets them).
    net_lr: float = 1e-3  #: the nets' peak learning rate
    net_width: int | None = None  #: channels of the nets' convolutions; None: the architecture's (DCNN: 10)
    tree_leaves: int = 15  #: the trees (recorded lives only): leaves per tree
    tree_learning_rate: float = 0.03  #: the trees' shrinkage
    tree_rounds: int = 800  #: the trees' boosting rounds
    tree_min_child_samples: int = 50  #: the trees' fewest rows in a leaf


@dataclass
class MaintenanceEvaluateConfig(EvaluateConfig):
    tiny: bool = False
    cost: list[str] | None = None
    episodes: int | None = None
