"""Typed configurations of ``lepton chatbot train`` and ``evaluate``.

One field per option of ``ChatbotApp.add_arguments``, named as its argparse destination and with the
same default (the options take their defaults from here). The CLI builds them with
``lepton_shared.config.from_args``; the page, the tests and the benchmarks build them directly,
e.g. ``ChatbotTrainConfig(tiny=True, epochs=1)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lepton_shared.config import EvaluateConfig, TrainConfig


@dataclass
class ChatbotEvaluateConfig(EvaluateConfig):
    """Without ``data``: the held-out part of the built-in data, split as at training time."""


@dataclass
class ChatbotTrainConfig(TrainConfig):
    faq: Path | None = None  #: FAQ CSV with columns question,answer; None: the demo bank's FAQ
    #: without ``data``: 8 examples per built-in intent instead of 24 (seconds; tests and smoke runs)
    tiny: bool = False
    #: share of the data held out for early stopping and the out-of-scope threshold
    val_fraction: float = 0.1
    batch_size: int = 32
    encoder_lr: float = 8e-5  #: learning rate of the MiniLM encoder
    head_lr: float = 3e-3  #: learning rate of the intent head
    label_smoothing: float = 0.1
    #: share of in-scope validation messages the out-of-scope threshold may send to the fallback,
    #: which bounds the accuracy it costs (0.01 = 1 point)
    max_drop: float = 0.01
    #: cosine similarity an FAQ question needs to answer; None: ``faq.DEFAULT_FAQ_THRESHOLD`` (0.8)
    faq_threshold: float | None = None
    #: softmax temperature of the neighbour vote blended with the head (``neighbours.TEMPERATURE``): lower
    #: trusts the single nearest training message more
    neighbour_temperature: float = 0.05
    #: torch CPU threads while training; None: the cores not busy with other work
    threads: int | None = None
