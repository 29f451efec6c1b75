import numpy as np
import pandas as pd
import pytest

from apps.fraud.protocol import card_precision_at_k, resolve_periods, split
from lepton_shared.errors import UserError


def test_card_precision_excludes_cards_caught_earlier() -> None:
    test = pd.DataFrame({
        "TX_DATETIME": pd.to_datetime(["2018-05-15 10:00"] * 3 + ["2018-05-16 10:00"] * 3),
        "CUSTOMER_ID": [1, 1, 2, 1, 2, 3],
        "TX_FRAUD": [1, 0, 0, 1, 0, 1],
    })
    scores = np.array([0.9, 0.1, 0.5, 0.95, 0.2, 0.3])
    # day 1: top-2 cards = {1 (fraud), 2} -> 1/2; day 2: card 1 was caught, top-2 = {3 (fraud), 2} -> 1/2
    assert card_precision_at_k(test, scores, k=2) == pytest.approx(0.5)
    # with k=1: day 1 -> card 1 (fraud) = 1; day 2 -> card 3 (0.3 > 0.2) = 1
    assert card_precision_at_k(test, scores, k=1) == pytest.approx(1.0)


def test_split_drops_known_compromised_cards(small_data: pd.DataFrame) -> None:
    periods = resolve_periods(small_data, "2018-04-15")
    train, test = split(small_data, periods)
    tr, te = small_data.iloc[train], small_data.iloc[test]
    assert tr["TX_DATETIME"].min() >= pd.Timestamp("2018-04-15")
    assert tr["TX_DATETIME"].max() < pd.Timestamp("2018-04-22")
    assert te["TX_DATETIME"].min() >= pd.Timestamp("2018-04-29")
    assert te["TX_DATETIME"].max() < pd.Timestamp("2018-05-06")
    known = set(tr.loc[tr["TX_FRAUD"] == 1, "CUSTOMER_ID"])
    assert known and not known & set(te["CUSTOMER_ID"])


def test_periods_must_fit_the_data(small_data: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="covers"):
        resolve_periods(small_data, "2018-05-01")
    with pytest.raises(UserError, match="not a date"):
        resolve_periods(small_data, "first of May")
    # the default starts 30 days after the first transaction: 40 days of data end too early for that
    with pytest.raises(UserError, match="covers"):
        resolve_periods(small_data, None)
