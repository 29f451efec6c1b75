"""What an app monitors: :class:`AppMonitor`, subclassed once per app in ``apps/<app>/monitoring.py``.

The same :meth:`AppMonitor.features` turns a served request (and its answer) into the monitored features when
the service logs it, and turns held-out rows into the reference profile when training registers a version, so
the two sides are computed alike. Features are numbers or short labels, never personal identifiers: the log
keeps no input in the clear.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from lepton_shared.monitoring.profile import PREDICTION

if TYPE_CHECKING:
    from lepton_shared.serving.predictor import Predictor


class ReplaySkipped(Exception):
    """A logged input that cannot be replayed; the message is the reason ``lepton models shadow`` counts."""


class AppMonitor(ABC):
    """One app's monitored features, prediction and live quality, and how a logged input is replayed through
    another version (``lepton models shadow``)."""

    #: the request paths whose answers are the model's (prefixes of ``prediction_log.endpoint``)
    endpoints: ClassVar[tuple[str, ...]] = ("/v1/predict",)

    @abstractmethod
    def features(self, inputs: Any, output: Mapping[str, Any]) -> dict[str, Any] | None:
        """The monitored features of one request body and its answer (None: nothing to monitor, e.g. a batch)."""

    @abstractmethod
    def prediction(self, output: Mapping[str, Any]) -> Any:
        """The answer's score, value or label whose distribution is watched (None when absent)."""

    def live_quality(self, since: datetime, database_url: str | None = None) -> dict[str, Any] | None:
        """Quality measured on labels that came back since ``since`` (None: this app gets none back)."""
        return None

    def monitors(self, endpoint: str) -> bool:
        return any(endpoint.startswith(prefix) for prefix in self.endpoints)

    def replay_input(self, predictor: Predictor, logged: Any) -> dict[str, Any]:
        """``predictor``'s answer to one logged model input (``prediction_log.model_input["input"]``). The
        default reads it as the predictor's ``/v1/predict`` body; an app whose routes log another shape, or
        resolve the request against the database, says how here. Raise :class:`ReplaySkipped` for an input
        that cannot be replayed."""
        from pydantic import ValidationError

        try:
            item = predictor.InputModel.model_validate(logged)
        except ValidationError:
            raise ReplaySkipped("not a model input the predictor reads") from None
        return predictor.predict(item)

    def answer(self, output: Mapping[str, Any]) -> Any:
        """The part of an answer on which two versions agree or not (default: the watched prediction)."""
        return self.prediction(output)

    def replay_labels(self, outputs: Sequence[Mapping[str, Any]], database_url: str | None = None,
                      answered_at: Sequence[datetime] | None = None) -> list[Any]:
        """The label that came back for each logged answer, comparable with :meth:`answer` (None where none did;
        the same sources as :meth:`live_quality`). ``answered_at``: when each answer was given (UTC), for labels
        that only count after it."""
        return [None] * len(outputs)

    def replay_metrics(self, outputs: Sequence[Mapping[str, Any]], labels: Sequence[Any]) -> dict[str, float]:
        """The quality of ``outputs`` against their ``labels`` (labelled rows only): by default the share whose
        :meth:`answer` is the label."""
        if not labels:
            return {}
        return {"accuracy": sum(self.answer(o) == y for o, y in zip(outputs, labels, strict=True)) / len(labels)}


@functools.cache
def app_monitor(app_name: str) -> AppMonitor | None:
    """The app's monitor, or None for an app without ``apps/<app>/monitoring.py``."""
    from lepton_shared.app import app_part
    from lepton_shared.errors import UserError

    try:
        cls: type[AppMonitor] = app_part(app_name, "monitoring", "MONITOR_CLASS", "no monitor")
    except UserError:
        return None
    return cls()


def logged_features(app_name: str, endpoint: str, inputs: Any, output: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``prediction_log.features`` of one answer: the monitored features and, under ``"prediction"``, the
    watched prediction (so that the report reads this column only, not every answer). A monitor that fails is
    logged, never fails the answer."""
    monitor = app_monitor(app_name)
    if monitor is None or not monitor.monitors(endpoint):
        return None
    try:
        features = monitor.features(inputs, output)
        return None if features is None else {**features, PREDICTION: monitor.prediction(output)}
    except Exception:
        from lepton_shared.serving.logs import json_logger

        json_logger("lepton.monitoring").exception(f"{app_name} monitor could not read a request's features")
        return None


def write_reference(app_name: str, folder: Path, inputs: Sequence[Any], outputs: Sequence[Mapping[str, Any]]) -> None:
    """Write the reference profile of held-out requests ``inputs`` and the model's ``outputs`` into ``folder``
    (a version's artifact folder, inside the registry's write); apps call this from their training."""
    from lepton_shared.monitoring.profile import build_profile

    monitor = app_monitor(app_name)
    if monitor is None:
        return
    features = [monitor.features(i, o) for i, o in zip(inputs, outputs, strict=True)]
    build_profile(features, [monitor.prediction(o) for o in outputs]).write(folder)
