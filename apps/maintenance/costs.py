"""The cost model every policy is judged by, with documented, overridable defaults.

Money is in arbitrary currency units. Downtime is charged per calendar cycle the
machine stands still, times the *demand* at that time: production runs a
repeating schedule of ``period`` cycles whose last ``low_demand_cycles`` are a
quiet window (night shift / weekend) where lost production costs only
``low_demand_factor`` of the peak. An unplanned failure costs the repair, the
collateral damage and a long stop; planned work is cheaper and quicker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from lepton_shared.errors import UserError


@dataclass(frozen=True)
class CostModel:
    service_cost: float = 400.0  # parts + labour of a planned service (removes ``service_restore`` of the damage)
    replace_cost: float = 1500.0  # a new unit (removes all damage)
    failure_cost: float = 6000.0  # repair + collateral damage of an unplanned failure (then a new unit)
    downtime_cost: float = 250.0  # lost production per stopped cycle at peak demand
    low_demand_factor: float = 0.1  # share of the peak downtime cost inside the quiet window
    period: int = 20  # cycles of the production schedule
    low_demand_cycles: int = 6  # quiet cycles at the end of each period
    service_downtime: int = 2
    replace_downtime: int = 4
    failure_downtime: int = 12
    service_restore: float = 0.7  # share of the damage a service removes

    def __post_init__(self) -> None:
        for f in fields(self):
            if float(getattr(self, f.name)) < 0:
                raise UserError(f"cost setting {f.name} must not be negative")
        if self.period < 1 or self.low_demand_cycles > self.period:
            raise UserError("cost setting low_demand_cycles must be between 0 and period (>= 1)")
        if not 0 < self.service_restore <= 1:
            raise UserError("cost setting service_restore must be in (0, 1]")

    def demand(self, t: np.ndarray | int) -> np.ndarray:
        """1.0 at peak, ``low_demand_factor`` in the quiet window, for calendar cycles ``t``."""
        t = np.asarray(t)
        quiet = (t % self.period) >= self.period - self.low_demand_cycles
        return np.where(quiet, self.low_demand_factor, 1.0)

    def cycles_to_quiet(self, t: int) -> int:
        """Calendar cycles until the next quiet window starts (0 inside one)."""
        phase = t % self.period
        start = self.period - self.low_demand_cycles
        return 0 if phase >= start else start - phase

    def stop_cost(self, t: int, cycles: int) -> float:
        """Lost production of stopping ``cycles`` cycles from calendar cycle ``t``."""
        if cycles <= 0:
            return 0.0
        return float(self.downtime_cost * self.demand(np.arange(t, t + cycles)).sum())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, **values: Any) -> CostModel:
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise UserError(f"unknown cost setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        return replace(self, **{k: type(getattr(self, k))(v) for k, v in values.items() if v is not None})


def parse_costs(pairs: list[str] | None) -> CostModel:
    """The default costs with ``KEY=VALUE`` overrides (the ``--cost`` option)."""
    values: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UserError(f"--cost expects KEY=VALUE (e.g. downtime_cost=300), got {pair!r}")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise UserError(f"--cost {key}: {value!r} is not a number") from None
    return CostModel().with_overrides(**values)
