"""The maintenance service's request and response bodies (``service.py`` holds the routes).

Response models declare every key a route builds (``ResponseModel`` lets any other through, so none is lost)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from apps.maintenance.predictor import MAX_READINGS
from lepton_shared.serving import RequestModel
from lepton_shared.serving.schemas import ResponseModel

MAX_ADVANCE = 50  # cycles the simulated fleet runs per request


class ReadingsBody(RequestModel):
    readings: list[dict[str, float]] = Field(min_length=1, max_length=MAX_READINGS)


class FailureBody(RequestModel):
    at_reading: int | None = Field(None, ge=1, description="the reading at which the machine failed (default: its "
                                                           "newest)")


class FailureRecorded(ResponseModel):
    """A failure on record: it labels the machine's earlier estimates (``lepton monitor maintenance``)."""

    machine_id: str
    at_reading: int
    new: bool = Field(description="false when this failure was already on record")


class CompareBody(RequestModel):
    costs: dict[str, float] = Field(default_factory=dict, description="cost settings to change (see CostModel)",
                                    examples=[{"downtime_cost": 300}])
    episodes: int = Field(4, ge=1, le=40, description="held-out simulator episodes per policy")


class Stored(ResponseModel):
    machine_id: str
    stored: int = Field(description="readings this request added")
    total: int = Field(description="readings the machine has now")


class Assessment(ResponseModel):
    """One machine's remaining useful life (mean and band, in cycles), the action to take and what each costs."""

    machine_id: str
    rul: float
    rul_low: float
    rul_high: float
    recommended_action: str
    failure_probability_before_next_slot: float
    expected_cost_act_now: float
    expected_cost_wait: float
    reading: int | None = Field(None, description="the machine's newest reading the estimate saw (its count of "
                                                  "readings; set for stored machines)")
    model_version: str


class MachineError(ResponseModel):
    """A machine of the fleet the model cannot assess (e.g. too few readings), and why."""

    machine_id: str
    error: str


class History(ResponseModel):
    """The readings in view (oldest first) of the model's first sensors, and the RUL band at each of them."""

    machine_id: str
    reading: list[int]
    sensors: dict[str, list[float]]
    rul: list[float]
    rul_low: list[float]
    rul_high: list[float]
    model_version: str


class Fleet(ResponseModel):
    machines: list[Assessment | MachineError] = Field(description="most urgent (lowest RUL band) first")
    model_version: str


class DemoFleet(ResponseModel):
    added: list[str] = Field(description="machines given readings (those that had some are left alone)")


class AdvanceBody(RequestModel):
    cycles: int = Field(10, ge=1, le=MAX_ADVANCE, description="operating cycles each simulated machine runs")


class DemoFleetAdvanced(ResponseModel):
    advanced: dict[str, int] = Field(description="simulated machine -> readings it sent")
    failed: list[str] = Field(description="simulated machines at the end of their lives: they send no more")


class Comparison(ResponseModel):
    """Each policy's costs on simulated (or replayed) machines, and the RL agent's saving against the best rule."""

    policies: dict[str, dict[str, Any]]
    rl_saving_vs_best_baseline: float


class Policies(ResponseModel):
    """The comparison measured at train time, the costs the version was trained for and the policy it acts with."""

    model_version: str
    costs: dict[str, Any]
    policy: dict[str, Any]
    simulator: Comparison
    replay: Comparison | None = Field(description="on recorded machines, when the version was trained with them")


class Compared(ResponseModel):
    """Every policy under other costs, on held-out simulated machines."""

    model_version: str
    costs: dict[str, Any]
    policies: dict[str, Any]
    rl_saving_vs_best_baseline: float
