"""RUL, band and recommended action for a machine's sensor readings (pure and deterministic)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from apps.maintenance.model import Bundle
from apps.maintenance.simulator import simulate_fleet
from lepton_shared.errors import UserError
from lepton_shared.registry import ModelInfo
from lepton_shared.serving import Predictor, RequestModel

MAX_READINGS = 2000


class ReadingsInput(RequestModel):
    readings: list[dict[str, float]] = Field(min_length=1, max_length=MAX_READINGS,
                                             description="oldest first; each maps sensor column -> value")


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


class MaintenancePredictor(Predictor):
    app_name: ClassVar[str] = "maintenance"
    InputModel: ClassVar[type[BaseModel]] = ReadingsInput

    def __init__(self, info: ModelInfo) -> None:
        super().__init__(info.version)
        self.bundle = Bundle(info)
        self.spec = self.bundle.rul.spec
        self.threshold = self.bundle.baselines.get("rul_threshold", {})

    def _windows(self, frame: pd.DataFrame) -> Any:
        missing = [c for c in self.spec.columns if c not in frame.columns]
        if missing:
            raise UserError(f"readings lack sensor(s) {', '.join(missing[:6])}; the model needs "
                            f"{', '.join(self.spec.columns)}")
        if frame[self.spec.columns].isna().any().any():
            raise UserError("readings contain missing values")
        return self.spec.windows_of(self.spec.normalise(frame))

    def trace(self, frame: pd.DataFrame) -> dict[str, list[float]]:
        """The estimate and its band at every reading of one machine's history (oldest first)."""
        mean, lo, hi = self.bundle.rul.predict_windows(self._windows(frame))
        return {"rul": [round(float(v), 2) for v in mean], "rul_low": [round(float(v), 2) for v in lo],
                "rul_high": [round(float(v), 2) for v in hi]}

    def assess(self, frame: pd.DataFrame) -> dict[str, Any]:
        """Estimate for the newest reading of one machine's history (canonical columns)."""
        return self.assess_many([frame])[0]

    def assess_many(self, frames: list[pd.DataFrame]) -> list[dict[str, Any]]:
        """Estimates for the newest reading of each machine: one pass of the nets for all of them."""
        windows = np.concatenate([self._windows(frame)[-1:] for frame in frames])
        return [self._decide(float(m), float(lo), float(hi))
                for m, lo, hi in zip(*self.bundle.rul.predict_windows(windows), strict=True)]

    def _decide(self, mean: float, lo: float, hi: float) -> dict[str, Any]:
        """The recommended action for an estimate and its band, from the expected cost of acting now or waiting."""
        costs = self.bundle.costs
        sd = max((hi - mean) / 1.645, 1.0)
        lead = float(costs.period)  # waiting means running until the next planning slot
        p_fail = _normal_cdf((lead - mean) / sd)
        act_now = costs.service_cost + costs.service_downtime * costs.downtime_cost
        wait = p_fail * (costs.failure_cost + costs.failure_downtime * costs.downtime_cost) + \
            (1 - p_fail) * (costs.service_cost + costs.service_downtime * costs.downtime_cost * costs.low_demand_factor)
        limit = float(self.threshold.get("threshold", 20.0))
        action = self.threshold.get("action", "service") if mean <= limit or wait > act_now else "run"
        return {"rul": round(mean, 2), "rul_low": round(lo, 2), "rul_high": round(hi, 2),
                "recommended_action": action, "failure_probability_before_next_slot": round(p_fail, 4),
                "expected_cost_act_now": round(act_now, 2), "expected_cost_wait": round(wait, 2),
                "model_version": self.version}

    def predict_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        return self.assess_many([pd.DataFrame(item.readings) for item in items])

    @classmethod
    def example_input(cls) -> dict[str, Any]:
        frame = simulate_fleet(1, seed=3).iloc[-40:]
        cols = [c for c in frame.columns if c.startswith(("s_", "setting_"))]
        return {"readings": [{c: round(float(v), 4) for c, v in zip(cols, row, strict=True)}
                             for row in frame[cols].to_numpy()]}
