"""The fraud service's request and response bodies (``service.py`` holds the routes).

Response models declare every key a route builds (``ResponseModel`` lets any other through, so none is lost)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from apps.fraud.predictor import TransactionIn
from lepton_shared.serving import RequestModel
from lepton_shared.serving.schemas import ResponseModel

MAX_BATCH = 1000

Decision = Literal["approve", "review", "decline"]


class BatchIn(RequestModel):
    transactions: list[TransactionIn] = Field(min_length=1, max_length=MAX_BATCH)


class LabelIn(RequestModel):
    transaction_id: str = Field(min_length=1, max_length=64)
    label: Literal["fraud", "legit"]
    source: Literal["analyst", "chargeback"] = "analyst"


class LabelsIn(RequestModel):
    labels: list[LabelIn] = Field(min_length=1, max_length=MAX_BATCH)


class Reason(ResponseModel):
    """A feature that pushed the score up: its value and its contribution to the score."""

    feature: str
    description: str
    value: float
    contribution: float


class Score(ResponseModel):
    """One scored transaction: probability of fraud, the cheapest decision, and why."""

    transaction_id: str
    score: float = Field(ge=0, le=1)
    decision: Decision
    reasons: list[Reason]
    rules_fired: list[str]
    expected_costs: dict[str, float] = Field(description="expected cost of each decision (approve, review, decline)")
    model_version: str


class ScoreBatch(ResponseModel):
    results: list[Score]
    model_version: str


class Label(ResponseModel):
    transaction_id: str
    label: Literal["fraud", "legit"]
    source: str


class Labels(ResponseModel):
    stored: list[Label]


class Alert(ResponseModel):
    """An unlabelled alert in the review queue."""

    transaction_id: str
    tx_datetime: str
    customer_id: int
    terminal_id: int
    tx_amount: float
    score: float
    decision: Decision
    reasons: list[Reason]
    model_version: str


class ReviewQueue(ResponseModel):
    items: list[Alert]


class Day(ResponseModel):
    date: str = Field(examples=["2018-05-20"])
    transactions: int
    alerts: int
    labelled_frauds: int
    fraud_rate: float
    alert_precision: float | None = Field(description="null until an alert of the day is labelled")
    mean_score: float


class Dashboard(ResponseModel):
    days: list[Day]


class Policy(ResponseModel):
    chargeback_fee: float
    review_cost: float
    decline_cost: float
    rules: list[str]


class ModelInfo(ResponseModel):
    """The serving model: version, kind, features and the cost policy its decisions follow."""

    model_version: str
    kind: str
    features: list[str]
    policy: Policy
