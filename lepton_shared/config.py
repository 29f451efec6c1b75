"""Typed configurations of ``train`` and ``evaluate``.

The CLI builds them from its options (:func:`from_args`); pages, the demo and the
tests build them directly, so nothing outside the CLI needs an
``argparse.Namespace``. Each app subclasses them beside its ``LeptonApp`` with
its own fields, named as its CLI options' destinations.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

C = TypeVar("C")


@dataclass
class TrainConfig:
    """What every app's ``train`` accepts."""

    data: Path | None = None  #: data file or folder; None: the app's built-in data
    seed: int = 42
    device: str | None = None  #: auto | cpu | cuda; None: the LEPTON_DEVICE setting
    epochs: int | None = None  #: None: the app's default
    promote: str = "gate"  #: gate | always | never: when the new version becomes production (lepton_shared.promotion)
    tolerance: float | None = None  #: largest acceptable loss of the key metric against production; None: 0.01
    resume: bool = False  #: continue the interrupted training of the same settings from its last epoch


@dataclass
class EvaluateConfig:
    """What every app's ``evaluate`` accepts."""

    data: Path | None = None
    seed: int = 42
    device: str | None = None
    model: str | None = None  #: version to score; None: production


def from_args(cls: type[C], args: argparse.Namespace) -> C:
    """``cls`` filled from the parsed options of the same names (the others keep their defaults)."""
    assert dataclasses.is_dataclass(cls)
    values: dict[str, Any] = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    return cls(**values)
