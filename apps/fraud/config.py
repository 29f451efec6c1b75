"""Typed configurations of ``lepton fraud train`` and ``evaluate``.

One field per option of ``FraudApp.add_arguments``, named as its argparse destination and with the
same default (the options take their defaults from here). The CLI builds them with
``lepton_shared.config.from_args``; the page, the tests and the benchmarks build them directly,
e.g. ``FraudTrainConfig(tiny=True, epochs=1)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lepton_shared.config import EvaluateConfig, TrainConfig


@dataclass
class FraudEvaluateConfig(EvaluateConfig):
    #: without ``data``: the tiny simulation (300 customers) instead of the built-in one (2500)
    tiny: bool = False
    #: first day of the training week, YYYY-MM-DD; None: 30 days after the first transaction
    train_start: str | None = None
    train_days: int = 7  #: training period length in days
    delay_days: int = 7  #: days skipped between training and test, as labels arrive late
    test_days: int = 7  #: test period length in days


@dataclass
class FraudTrainConfig(TrainConfig):
    tiny: bool = False  #: see :class:`FraudEvaluateConfig`
    train_start: str | None = None
    train_days: int = 7
    delay_days: int = 7
    test_days: int = 7
    #: candidate models, comma-separated (lightgbm, mlp); the best validation average precision is registered
    models: str = "lightgbm,mlp"
    review_cost: float = 5.0  #: cost of one analyst review
    decline_cost: float = 40.0  #: cost of declining a genuine payment
    chargeback_fee: float = 15.0  #: fee on top of the amount when a fraud is approved
    #: analyst rules combined with the score (they can only make a decision stricter),
    #: e.g. ``TX_AMOUNT > 1000 and TERMINAL_ID_NB_TX_30DAY_WINDOW < 1 -> review``
    rule: list[str] = field(default_factory=list)
    with_feedback: bool = False  #: add the labelled transactions the service has scored to the data
    # The candidates' hyperparameters (what ``tune`` searches; ``train --params best`` sets them).
    lgbm_leaves: int = 7  #: LightGBM: leaves per tree
    lgbm_learning_rate: float = 0.05  #: LightGBM: shrinkage
    lgbm_min_child_samples: int = 20  #: LightGBM: fewest rows in a leaf
    lgbm_lambda_l2: float = 10.0  #: LightGBM: L2 penalty on leaf values
    lgbm_feature_fraction: float = 0.8  #: LightGBM: share of features each tree sees
    lgbm_rounds: int = 400  #: LightGBM: boosting rounds
    mlp_hidden: int = 64  #: MLP: hidden units
    mlp_lr: float = 3e-3  #: MLP: AdamW learning rate
    mlp_weight_decay: float = 1e-4  #: MLP: AdamW weight decay
