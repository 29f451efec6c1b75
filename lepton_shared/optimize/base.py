"""What an app implements to support ``lepton <app> optimize``, and the marker an optimised artifact carries.

An optimised version is an ordinary registered version: its folder holds the source
artifact's files with the network replaced, plus ``optimisation.json`` saying which
method produced it and from which version. The app's ``load_model`` reads that file
(:func:`read_optimisation`) to choose how to load the network, so the same predictor
and service answer with it transparently.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # the CLI reads METHODS for its help: no SQLAlchemy for that
    from lepton_shared.registry import ModelInfo

#: Every method the ``optimize`` command knows; an app supports a subset (``AppOptimizer.methods``).
METHODS: tuple[str, ...] = ("int8", "prune", "onnx", "onnx-int8", "bf16", "fp16")

#: Written into an optimised artifact's folder; absent from a plain fp32 artifact.
OPTIMISATION_FILE = "optimisation.json"


def read_optimisation(folder: Path) -> dict[str, Any] | None:
    """The optimisation record of an artifact folder, or None for a plain fp32 artifact."""
    path = Path(folder) / OPTIMISATION_FILE
    if not path.exists():
        return None
    record: dict[str, Any] = json.loads(path.read_text())
    return record


def write_optimisation(folder: Path, method: str, source: ModelInfo, **extra: Any) -> None:
    """Mark ``folder`` as holding ``source`` optimised with ``method`` (extra keys are stored as given)."""
    if method not in METHODS:
        raise ValueError(f"unknown optimisation method {method!r}")
    record = {"method": method, "optimised_from": source.version, "source_path": str(source.path), **extra}
    (Path(folder) / OPTIMISATION_FILE).write_text(json.dumps(record, indent=2, default=str))


class AppOptimizer(ABC):
    """One app's optimisation support, defined in ``apps/<app>/optimize.py`` as ``OPTIMIZER_CLASS``.

    The runner (:func:`lepton_shared.optimize.runner.optimize`) does the measuring, the
    registering and the gating; the app only knows how to write an optimised artifact, how
    to compute its key metric and what a valid predictor input looks like.
    """

    #: The methods this app supports (a subset of :data:`METHODS`).
    methods: ClassVar[tuple[str, ...]] = ()
    #: The app's serving batch size, used for the throughput figure.
    batch_size: ClassVar[int] = 32

    def __init__(self, source: ModelInfo, data: Path | None, device: str = "cpu") -> None:
        self.source = source
        self.data = data
        self.device = device

    @abstractmethod
    def write(self, method: str, folder: Path) -> None:
        """Write the ``method``-optimised artifact of ``self.source`` into ``folder`` (with write_optimisation)."""

    @abstractmethod
    def metric(self, version: str) -> float:
        """The key metric of registered ``version`` on ``self.data`` (built-in held-out data when None).

        Never computed on a split that was used to make choices (threshold, temperature, early stopping).
        """

    @abstractmethod
    def sample_items(self, n: int) -> list[Any]:
        """``n`` validated predictor input items (distinct where possible) for latency and throughput."""

    def fine_tune(self, module: Any, **kwargs: Any) -> Any:
        """Optional: a short fine-tune of a pruned network (returns it). The default does nothing."""
        return module
