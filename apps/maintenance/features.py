"""Feature selection, normalisation and windows for the RUL model.

The well-tested C-MAPSS recipe: drop flat sensors, z-score each kept channel with
statistics fitted on the training machines only, optionally smooth each machine's
readings with a causal exponential moving average (C-MAPSS sensors are noisy
cycle to cycle; on 15 held-out FD001 *training* engines one DCNN scored validation
RMSE 13.3 without smoothing, 12.7 with 0.3 and 12.5 with 0.15; on a second split
15.1 without and 14.4 with 0.3), feed the last ``window`` cycles,
and learn a piecewise-linear target capped at ``cap`` (early in life the exact RUL
is unknowable from sensors, so it is clipped).

Two optional channels (used for recorded run-to-failure data): the machine's age and each
sensor's drift from the machine's own first readings. Both assume the history starts when
the machine was new (true of C-MAPSS and of a machine whose readings are sent from its
installation on); a history that starts mid-life makes the machine look younger and less
drifted than it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from lepton_shared.errors import UserError

RUL_CAP = 125.0
WINDOW = 30
SMOOTH = 0.15  # EMA weight of the newest reading; 0 switches smoothing off


@dataclass
class FeatureSpec:
    columns: list[str]
    mean: list[float]
    std: list[float]
    window: int = WINDOW
    cap: float = RUL_CAP
    smooth: float = 0.0  # EMA weight of the newest reading (``fit`` defaults to ``SMOOTH``); 0: none
    baseline: int = 0  # >0: add each sensor's drift from the machine's own first ``baseline`` readings
    age: bool = False  # add the readings seen so far (in units of ``cap``) as a channel

    @classmethod
    def fit(cls, frame: pd.DataFrame, window: int = WINDOW, cap: float = RUL_CAP, smooth: float = SMOOTH,
            baseline: int = 0, age: bool = False) -> FeatureSpec:
        """Keep operating settings that really vary (std > 0.05) and sensors that are not flat."""
        cols = []
        for c in frame.columns:
            varying_setting = str(c).startswith("setting_") and frame[c].std() > 0.05
            live_sensor = str(c).startswith("s_") and frame[c].nunique() > 2 and frame[c].std() > 1e-6
            if varying_setting or live_sensor:
                cols.append(c)
        if not cols:
            raise UserError("no informative sensor columns (all are constant): nothing to learn RUL from")
        values = frame[cols].to_numpy(dtype=float)
        if not 0.0 <= smooth < 1.0:
            raise UserError(f"smoothing weight must be in [0, 1), got {smooth}")
        return cls(cols, values.mean(axis=0).tolist(), np.maximum(values.std(axis=0), 1e-6).tolist(), window, cap,
                   smooth, baseline, age)

    @property
    def n_channels(self) -> int:
        """Channels of a window: the sensors, then the age, then the sensors' drifts."""
        return self.net_channels + (len(self.columns) if self.baseline > 0 else 0)

    @property
    def net_channels(self) -> int:
        """The leading channels the neural network reads (sensors and age): the drift channels are for the
        trees only, because as network inputs they made it worse (docs/benchmarks/maintenance.md)."""
        return len(self.columns) + int(self.age)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def normalise(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise UserError(f"the data lacks sensor column(s) the model was trained on: {', '.join(missing[:5])}")
        return ((frame[self.columns].to_numpy(dtype=float) - self.mean) / np.asarray(self.std)).astype(np.float32)

    def windows_of(self, values: np.ndarray) -> np.ndarray:
        """All windows of one machine's (T, F) normalised readings, one ending at each row (front-padded).

        Smoothing happens here because it must run along one machine's time axis; it is causal (a row
        only sees earlier rows), so the estimate at a cycle never uses later readings.
        """
        start = start_level(values, self.baseline) if self.baseline > 0 else None  # before smoothing: less lag
        if self.smooth > 0:
            values = pd.DataFrame(values).ewm(alpha=self.smooth).mean().to_numpy(dtype=np.float32)
        extra = []
        if self.age:
            extra.append(np.arange(1, len(values) + 1, dtype=np.float32)[:, None] / np.float32(self.cap))
        if start is not None:
            extra.append(values - start)
        if extra:
            values = np.concatenate([values, *extra], axis=1)
        pad = np.repeat(values[:1], self.window - 1, axis=0)
        padded = np.concatenate([pad, values], axis=0)
        return sliding_window_view(padded, self.window, axis=0).transpose(0, 2, 1)  # (T, W, F)


def start_level(values: np.ndarray, first: int) -> np.ndarray:
    """Each row's estimate of the machine's level when new: the mean of its first ``first`` rows.

    Why: engines leave the factory with different sensor levels (manufacturing spread), so the
    drift from a machine's own start says more about wear than the level itself. Causal: before
    row ``first`` the mean covers the rows seen so far.
    """
    seen = np.minimum(np.arange(1, len(values) + 1), first)[:, None]
    running = np.cumsum(values, axis=0)
    level = running / seen
    if len(values) > first:
        level[first:] = running[first - 1] / first
    return level.astype(np.float32)


def estimate_rows(frame: pd.DataFrame, spec: FeatureSpec, predict: Callable[[np.ndarray], np.ndarray]
                  ) -> np.ndarray:
    """``predict(windows)`` at every row of a canonical table, one machine's windows at a time (any RUL model)."""
    values = spec.normalise(frame)
    out = np.zeros(len(frame))
    for _, idx in frame.groupby("unit", sort=False).indices.items():
        out[idx] = predict(spec.windows_of(values[idx]))
    return out


def make_windows(frame: pd.DataFrame, spec: FeatureSpec, last_only: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows (N, W, F), capped targets (N,) and unit ids (N,); rows with unknown RUL are skipped."""
    values = spec.normalise(frame)
    rul = frame["rul"].to_numpy(dtype=float) if "rul" in frame else np.full(len(frame), np.nan)
    xs, ys, units = [], [], []
    for unit, idx in frame.groupby("unit", sort=True).indices.items():
        win = spec.windows_of(values[idx])
        target = rul[idx]
        if last_only:
            win, target = win[-1:], target[-1:]
        keep = ~np.isnan(target)
        xs.append(win[keep])
        ys.append(np.minimum(target[keep], spec.cap))
        units.append(np.full(int(keep.sum()), unit))
    if not xs or sum(len(x) for x in xs) == 0:
        raise UserError("no rows with a known RUL: the data needs run-to-failure histories or failure flags")
    return (np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.float32), np.concatenate(units))


def nasa_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """PHM08 asymmetric score: late predictions (overestimating RUL) cost more than early ones."""
    d = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    return float(np.sum(np.where(d < 0, np.exp(-d / 13.0) - 1, np.exp(d / 10.0) - 1)))
