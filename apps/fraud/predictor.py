"""``FraudPredictor``: score transactions with the current aggregates, decide by cost, explain."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from apps.fraud import storage
from apps.fraud.features import DESCRIPTIONS, FEATURES, FeatureConfig
from apps.fraud.model import FraudModel
from apps.fraud.policy import CostPolicy, Rule, reason_codes
from lepton_shared.serving import DbId, Predictor, RequestModel
from lepton_shared.storage import session_scope


class TransactionIn(RequestModel):
    """One card payment, as the acquirer sends it."""

    transaction_id: str | None = Field(default=None, max_length=64,
                                       description="your id; needed later to send its label")
    tx_datetime: datetime = Field(description="when the payment happened (ISO 8601)")
    customer_id: DbId = Field(description="the card / customer")
    terminal_id: DbId = Field(description="the payment terminal")
    tx_amount: float = Field(ge=0, le=1e9, description="amount, non-negative")


class FraudPredictor(Predictor):
    app_name: ClassVar[str] = "fraud"
    InputModel: ClassVar[type[BaseModel]] = TransactionIn

    def __init__(self, version: str, model: FraudModel, policy: CostPolicy, config: FeatureConfig) -> None:
        super().__init__(version)
        self.model = model
        self.policy = policy
        self.config = config
        self._order = np.array([FEATURES.index(f) for f in model.features])
        self._rules = [Rule.parse(r, model.features) for r in policy.rules]

    @classmethod
    def load(cls, version: str, folder: Path) -> FraudPredictor:
        policy = CostPolicy.from_dict(json.loads((folder / "policy.json").read_text()))
        feats = json.loads((folder / "features.json").read_text())
        return cls(version, FraudModel.load(folder), policy, FeatureConfig(delay=int(feats["delay"])))

    @classmethod
    def example_input(cls) -> dict[str, Any]:
        return {"transaction_id": "example-1", "tx_datetime": "2018-05-20T14:32:00", "customer_id": 42,
                "terminal_id": 314, "tx_amount": 57.16}

    # -- scoring ----------------------------------------------------------
    def _answer(self, items: list[TransactionIn], x: np.ndarray) -> list[dict[str, Any]]:
        probs = self.model.predict_proba(x)
        contribs = self.model.contributions(x)
        out = []
        for i, item in enumerate(items):
            p = float(probs[i])
            row = dict(zip(self.model.features, x[i].tolist(), strict=True))
            decision, fired = self.policy.decide(p, float(item.tx_amount), row, self._rules)
            out.append({
                "transaction_id": item.transaction_id, "score": round(p, 6), "decision": decision,
                "reasons": reason_codes(contribs[i], x[i], self.model.features, DESCRIPTIONS),
                "rules_fired": fired,
                "expected_costs": {k: round(v, 4) for k, v in
                                   self.policy.expected_costs(p, float(item.tx_amount)).items()},
                "model_version": self.version,
            })
        return out

    def _all_features(self, session: Session, item: TransactionIn) -> np.ndarray:
        """Every one of :data:`FEATURES`, in that order (what the prediction log keeps to replay)."""
        return storage.features_for(session, item.customer_id, item.terminal_id, float(item.tx_amount),
                                    item.tx_datetime, self.config)

    def _features(self, session: Session, item: TransactionIn) -> np.ndarray:
        """One row in the model's feature order."""
        return self._all_features(session, item)[self._order][None, :]

    def score_features(self, amounts: list[float], rows: list[dict[str, float]]) -> list[dict[str, Any]]:
        """Answers to payments whose :data:`FEATURES` were read already (``lepton models shadow`` replays the
        features the service logged, as the history stood when the payment was scored)."""
        items = [TransactionIn.model_construct(transaction_id=None, tx_amount=a) for a in amounts]
        return self._answer(items, np.asarray([[row[f] for f in self.model.features] for row in rows],
                                              dtype=np.float64))

    def predict_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        """Score with the aggregates as they are; nothing is written."""
        if not items:
            return []
        with session_scope() as session:
            rows = np.concatenate([self._features(session, item) for item in items])
            session.rollback()
        return self._answer(items, rows)

    def score_and_record(self, session: Session, items: list[TransactionIn]) -> list[dict[str, Any]]:
        """Score in order, each transaction seeing the ones before it, and record them all."""
        return self.score_record_inputs(session, items)[0]

    def score_record_inputs(self, session: Session,
                            items: list[TransactionIn]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """:meth:`score_and_record`, with each payment's model input as the prediction log keeps it: its amount
        and :data:`FEATURES` as read from the history (a later replay cannot read the history as it was).

        Features are read one by one (each after the previous transaction joined the history); the
        model then scores the whole batch in one call, which is what makes batches fast."""
        ids = storage.check_new(session, items)
        full = []
        for item in items:
            full.append(self._all_features(session, item))
            storage.add_to_history(session, item)
        answers = self._answer(items, np.stack(full)[:, self._order])
        for item, tx_id, answer in zip(items, ids, answers, strict=True):
            answer["transaction_id"] = tx_id
            storage.store(session, item, tx_id, answer)
        storage.flush_new(session, ids)
        inputs = [{"tx_amount": float(item.tx_amount), "features": dict(zip(FEATURES, row.tolist(), strict=True))}
                  for item, row in zip(items, full, strict=True)]
        return answers, inputs

