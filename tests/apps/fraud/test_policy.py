import numpy as np
import pytest

from apps.fraud.features import FEATURES
from apps.fraud.policy import CostPolicy, Rule, reason_codes
from lepton_shared.errors import UserError


def test_thresholds_follow_the_costs() -> None:
    policy = CostPolicy(chargeback_fee=15, review_cost=5, decline_cost=40)
    t = policy.thresholds(85.0)
    assert t["review"] == pytest.approx(5 / 100)
    assert t["decline"] == pytest.approx(1 - 5 / 40)
    row = {f: 0.0 for f in FEATURES}
    assert policy.decide(0.04, 85.0, row)[0] == "approve"
    assert policy.decide(0.06, 85.0, row)[0] == "review"
    assert policy.decide(0.90, 85.0, row)[0] == "decline"
    # the same score on a small amount is not worth a review
    assert policy.decide(0.06, 5.0, row)[0] == "approve"


def test_expensive_reviews_shift_decisions() -> None:
    cheap, dear = CostPolicy(review_cost=1), CostPolicy(review_cost=30)
    row = {f: 0.0 for f in FEATURES}
    assert cheap.decide(0.2, 50.0, row)[0] == "review"
    assert dear.decide(0.2, 50.0, row)[0] == "approve"
    assert dear.thresholds(50.0)["review"] > cheap.thresholds(50.0)["review"]


def test_rules_only_make_decisions_stricter() -> None:
    policy = CostPolicy(rules=("TX_AMOUNT > 1000 and TERMINAL_ID_NB_TX_30DAY_WINDOW < 1 -> review",))
    rules = [Rule.parse(r, FEATURES) for r in policy.rules]
    row = {f: 0.0 for f in FEATURES} | {"TX_AMOUNT": 1500.0}
    decision, fired = policy.decide(0.0, 1500.0, row, rules)
    assert decision == "review" and fired == [policy.rules[0]]
    assert policy.decide(0.99, 1500.0, row, rules)[0] == "decline"  # never loosened
    assert policy.decide(0.0, 900.0, row | {"TX_AMOUNT": 900.0}, rules)[0] == "approve"


@pytest.mark.parametrize("text", ["TX_AMOUNT > 10", "NOPE > 1 -> review", "TX_AMOUNT ~ 1 -> review",
                                  "TX_AMOUNT > 1 -> approve"])
def test_bad_rules_are_user_errors(text: str) -> None:
    with pytest.raises(UserError):
        Rule.parse(text, FEATURES)


def test_negative_cost_is_rejected() -> None:
    with pytest.raises(UserError):
        CostPolicy(review_cost=-1)


def test_reason_codes_are_the_top_positive_contributions() -> None:
    features = ["a", "b", "c", "d"]
    reasons = reason_codes(np.array([0.1, -2.0, 1.5, 0.7]), np.array([1.0, 2.0, 3.0, 4.0]), features,
                           {"c": "the c feature"}, top=3)
    assert [r["feature"] for r in reasons] == ["c", "d", "a"]
    assert reasons[0]["description"] == "the c feature" and reasons[0]["value"] == 3.0
    assert reason_codes(np.array([-1.0, -2.0]), np.array([0.0, 0.0]), ["a", "b"], {}) == []
