"""Approve / review / decline by expected cost, analyst rules, and reason codes.

For a transaction of amount A scored with fraud probability p, the expected costs are

* approve: ``p * (A + chargeback_fee)`` (a missed fraud costs the amount plus the fee),
* review:  ``review_cost`` (an analyst looks; a fraud found there costs nothing more),
* decline: ``(1 - p) * decline_cost`` (friction of declining a genuine customer),

and the cheapest action wins. So a transaction goes to review once
``p > review_cost / (A + chargeback_fee)`` and is declined once
``p > 1 - review_cost / decline_cost``. Defaults: fee 15, review 5, decline 40
(override them with ``lepton fraud train --review-cost ...``).
Analyst rules such as ``TX_AMOUNT > 1000 and TERMINAL_ID_NB_TX_30DAY_WINDOW < 1 -> review``
can only make a decision stricter, never looser.
"""

from __future__ import annotations

import operator
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lepton_shared.errors import UserError

ACTIONS = ("approve", "review", "decline")
_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}
_RULE = re.compile(r"^\s*([A-Z0-9_]+)\s*(>=|<=|==|>|<)\s*(-?[0-9.]+)\s*$")


@dataclass(frozen=True)
class Condition:
    feature: str
    op: str
    value: float

    def holds(self, row: dict[str, float]) -> bool:
        return bool(_OPS[self.op](row[self.feature], self.value))


@dataclass(frozen=True)
class Rule:
    """``cond and cond ... -> action``: an analyst's rule combined with the score."""

    text: str
    conditions: tuple[Condition, ...]
    action: str

    @classmethod
    def parse(cls, text: str, features: list[str]) -> Rule:
        if "->" not in text:
            raise UserError(f"rule {text!r} needs the form 'FEATURE > VALUE [and ...] -> review|decline'")
        lhs, action = (part.strip() for part in text.rsplit("->", 1))
        if action not in ("review", "decline"):
            raise UserError(f"rule {text!r}: the action must be review or decline, not {action!r}")
        conditions = []
        for part in re.split(r"\s+and\s+", lhs):
            match = _RULE.match(part)
            if not match:
                raise UserError(f"rule {text!r}: cannot read condition {part!r} (e.g. TX_AMOUNT > 1000)")
            name, op, value = match.groups()
            if name not in features:
                raise UserError(f"rule {text!r}: unknown feature {name}; known: {', '.join(features)}")
            conditions.append(Condition(name, op, float(value)))
        return cls(text.strip(), tuple(conditions), action)

    def fires(self, row: dict[str, float]) -> bool:
        return all(c.holds(row) for c in self.conditions)


@dataclass(frozen=True)
class CostPolicy:
    chargeback_fee: float = 15.0
    review_cost: float = 5.0
    decline_cost: float = 40.0
    rules: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for name in ("chargeback_fee", "review_cost", "decline_cost"):
            if not (getattr(self, name) >= 0 and np.isfinite(getattr(self, name))):
                raise UserError(f"cost {name} must be a non-negative number")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rules"] = list(self.rules)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CostPolicy:
        return cls(chargeback_fee=float(data["chargeback_fee"]), review_cost=float(data["review_cost"]),
                   decline_cost=float(data["decline_cost"]), rules=tuple(data["rules"]))

    def expected_costs(self, p: float, amount: float) -> dict[str, float]:
        return {"approve": p * (amount + self.chargeback_fee), "review": self.review_cost,
                "decline": (1.0 - p) * self.decline_cost}

    def thresholds(self, amount: float) -> dict[str, float]:
        """Scores above which review / decline become cheaper than approving."""
        review_at = min(1.0, self.review_cost / max(amount + self.chargeback_fee, 1e-9))
        decline_at = max(0.0, 1.0 - self.review_cost / self.decline_cost) if self.decline_cost > 0 else 0.0
        return {"review": review_at, "decline": decline_at}

    def decide(self, p: float, amount: float, row: dict[str, float],
               rules: list[Rule] | None = None) -> tuple[str, list[str]]:
        """The cheapest action, made stricter by any analyst rule that fires; and the rules that fired."""
        costs = self.expected_costs(p, amount)
        decision = min(ACTIONS, key=lambda a: (costs[a], ACTIONS.index(a)))
        fired = []
        for rule in rules or []:
            if rule.fires(row):
                fired.append(rule.text)
                if ACTIONS.index(rule.action) > ACTIONS.index(decision):
                    decision = rule.action
        return decision, fired


def reason_codes(contributions: np.ndarray, values: np.ndarray, features: list[str],
                 descriptions: dict[str, str], top: int = 3) -> list[dict[str, Any]]:
    """The features that pushed this score up the most (positive contributions), largest first."""
    order = np.argsort(-contributions, kind="stable")
    reasons = []
    for i in order[:top]:
        if contributions[i] <= 0:
            break
        reasons.append({"feature": features[i], "description": descriptions.get(features[i], features[i]),
                        "value": round(float(values[i]), 4), "contribution": round(float(contributions[i]), 4)})
    return reasons
