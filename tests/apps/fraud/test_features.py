"""Feature windows on a hand-computed case, no look-ahead, and online == offline."""

import numpy as np
import pandas as pd
import pytest

from apps.fraud.features import FEATURES, offline_features


def _tx(rows: list[tuple[str, int, int, float, int]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"])
    df["TX_DATETIME"] = pd.to_datetime(df["TX_DATETIME"])
    df.insert(0, "TRANSACTION_ID", range(len(df)))
    return df.sort_values("TX_DATETIME", kind="stable").reset_index(drop=True)


HAND = _tx([
    ("2018-04-02 10:00", 1, 7, 10.0, 0),   # 0  Monday
    ("2018-04-02 12:00", 1, 8, 30.0, 0),   # 1
    ("2018-04-02 13:00", 2, 7, 100.0, 1),  # 2  a fraud at terminal 7 on day 0
    ("2018-04-03 09:00", 1, 8, 20.0, 0),   # 3  day 1
    ("2018-04-08 05:00", 3, 7, 40.0, 0),   # 4  day 6 (Sunday, night): the day-0 fraud is not known yet
    ("2018-04-09 11:00", 3, 7, 40.0, 0),   # 5  day 7: now it is (delay 7)
    ("2018-04-10 11:00", 1, 7, 150.0, 0),  # 6  day 8
])


def test_customer_windows_by_hand() -> None:
    f = offline_features(HAND)
    # day 0, second payment of customer 1: both of today's count, the future does not
    assert f.loc[1, "CUSTOMER_ID_NB_TX_1DAY_WINDOW"] == 2
    assert f.loc[1, "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW"] == pytest.approx(20.0)
    assert f.loc[1, "CUSTOMER_AMOUNT_RATIO_7DAY"] == pytest.approx(30.0 / 10.0)
    assert f.loc[1, "CUSTOMER_AMOUNT_OVER_MAX_30DAY"] == pytest.approx(3.0)
    # day 1: 1-day window holds only today; 7-day window all three
    assert f.loc[3, "CUSTOMER_ID_NB_TX_1DAY_WINDOW"] == 1
    assert f.loc[3, "CUSTOMER_ID_NB_TX_7DAY_WINDOW"] == 3
    assert f.loc[3, "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW"] == pytest.approx(20.0)
    # day 8: the 7-day window (days 2..8) no longer holds days 0-1, the 30-day one does
    assert f.loc[6, "CUSTOMER_ID_NB_TX_7DAY_WINDOW"] == 1
    assert f.loc[6, "CUSTOMER_ID_NB_TX_30DAY_WINDOW"] == 4
    assert f.loc[6, "CUSTOMER_AMOUNT_RATIO_30DAY"] == pytest.approx(150.0 / 20.0)
    prior = np.array([10.0, 30.0, 20.0])
    assert f.loc[6, "CUSTOMER_ID_STD_AMOUNT_30DAY_WINDOW"] == pytest.approx(prior.std())
    assert f.loc[6, "CUSTOMER_AMOUNT_ZSCORE_30DAY"] == pytest.approx((150 - 20) / (prior.std() + 1))
    assert f.loc[6, "CUSTOMER_AMOUNT_OVER_MAX_30DAY"] == pytest.approx(5.0)


def test_terminal_risk_respects_the_label_delay() -> None:
    f = offline_features(HAND)
    # day 6: the fraud of day 0 is not known yet (labels arrive 7 days later)
    assert f.loc[4, "TERMINAL_ID_RISK_7DAY_WINDOW"] == 0
    assert f.loc[4, "TERMINAL_ID_KNOWN_FRAUD_30DAY"] == 0
    assert f.loc[4, "TX_DURING_WEEKEND"] == 1 and f.loc[4, "TX_DURING_NIGHT"] == 1
    # day 7: window ends at day 0 -> 2 transactions at terminal 7 that day, one fraud
    assert f.loc[5, "TERMINAL_ID_NB_TX_1DAY_WINDOW"] == 2
    assert f.loc[5, "TERMINAL_ID_RISK_1DAY_WINDOW"] == pytest.approx(0.5)
    assert f.loc[5, "TERMINAL_ID_KNOWN_FRAUD_7DAY"] == 1
    assert f.loc[5, "TX_DURING_WEEKEND"] == 0
    # day 8: the 1-day window (day 1) is empty, the 7-day window still sees day 0
    assert f.loc[6, "TERMINAL_ID_NB_TX_1DAY_WINDOW"] == 0
    assert f.loc[6, "TERMINAL_ID_RISK_7DAY_WINDOW"] == pytest.approx(0.5)
    # traffic without delay: terminal 7 had transactions on days 6 and 7 in the last week
    assert f.loc[6, "TERMINAL_ID_NB_TX_7DAY_NODELAY"] == 3
    assert f.loc[6, "TERMINAL_ID_NB_TX_TODAY"] == 1


def test_no_look_ahead(small_data: pd.DataFrame) -> None:
    """Features of the first half do not change when the second half is added."""
    half = small_data.iloc[: len(small_data) // 2]
    full = offline_features(small_data).iloc[: len(half)]
    part = offline_features(half)
    pd.testing.assert_frame_equal(full.reset_index(drop=True), part.reset_index(drop=True))


def test_online_equals_offline(lepton_home, small_data: pd.DataFrame) -> None:
    """Stream transactions through the database buckets; every feature vector matches the offline one."""
    from apps.fraud import storage
    from apps.fraud.features import FeatureConfig
    from apps.fraud.predictor import TransactionIn
    from lepton_shared.storage import session_scope

    stream = small_data[small_data["TX_DATETIME"] < small_data["TX_DATETIME"].min() + pd.Timedelta(days=20)]
    stream = stream[stream["CUSTOMER_ID"] < 60].reset_index(drop=True)
    assert stream["TX_FRAUD"].sum() > 0
    expected = offline_features(stream)[FEATURES].to_numpy()
    got = []
    with session_scope() as session:
        for row in stream.itertuples():
            item = TransactionIn(transaction_id=str(row.TRANSACTION_ID), tx_datetime=row.TX_DATETIME,
                                 customer_id=row.CUSTOMER_ID, terminal_id=row.TERMINAL_ID, tx_amount=row.TX_AMOUNT)
            got.append(storage.features_for(session, item.customer_id, item.terminal_id, item.tx_amount,
                                           item.tx_datetime, FeatureConfig()))
            storage.record(session, item, {"score": 0.0, "decision": "approve", "reasons": [],
                                          "model_version": "test"})
            if row.TX_FRAUD:  # e.g. a chargeback: known now, used only after the delay
                storage.apply_label(session, item.transaction_id, "fraud", "chargeback")
    np.testing.assert_allclose(np.vstack(got), expected, rtol=1e-7, atol=1e-6)
    # the delayed terminal risk was exercised, not just zeros
    assert expected[:, FEATURES.index("TERMINAL_ID_RISK_30DAY_WINDOW")].max() > 0


def test_bootstrap_from_history_matches_offline(lepton_home, small_data: pd.DataFrame) -> None:
    """Buckets filled from a history file give the offline features of the next day's transactions."""
    from apps.fraud import storage
    from apps.fraud.features import FeatureConfig
    from lepton_shared.errors import UserError
    from lepton_shared.storage import session_scope

    cut = small_data["TX_DATETIME"].min().normalize() + pd.Timedelta(days=25)
    assert storage.bootstrap(small_data, until=cut) > 0
    expected = offline_features(small_data)[FEATURES].to_numpy()
    rows = np.flatnonzero((small_data["TX_DATETIME"] >= cut).to_numpy())[:1]  # the first one: nothing of day 25
    with session_scope() as session:
        for i in rows:
            tx = small_data.iloc[i]
            got = storage.features_for(session, int(tx.CUSTOMER_ID), int(tx.TERMINAL_ID), float(tx.TX_AMOUNT),
                                      tx.TX_DATETIME.to_pydatetime(), FeatureConfig())
            np.testing.assert_allclose(got, expected[i], rtol=1e-7, atol=1e-6)
    with pytest.raises(UserError, match="not empty"):
        storage.bootstrap(small_data, until=cut)


RUN = _tx([
    ("2018-04-02 10:00", 5, 9, 10.0, 0),   # 0  day 0: genuine at terminal 9; customer 5's baseline
    ("2018-04-03 10:00", 5, 8, 30.0, 0),   # 1  day 1
    ("2018-04-04 10:00", 6, 9, 40.0, 1),   # 2  day 2: terminal 9's fraud run starts
    ("2018-04-05 10:00", 6, 9, 40.0, 1),   # 3  day 3
    ("2018-04-07 10:00", 6, 9, 40.0, 0),   # 4  day 5: genuine again at terminal 9
    ("2018-04-13 10:00", 7, 9, 40.0, 0),   # 5  day 11: knows days <= 4
    ("2018-04-15 10:00", 7, 9, 40.0, 0),   # 6  day 13: knows days <= 6, the genuine one of day 5 too
    ("2018-04-18 09:00", 5, 8, 100.0, 0),  # 7  day 16: customer 5's baseline is days 0..2
    ("2018-04-18 10:00", 5, 8, 50.0, 0),   # 8  day 16
    ("2018-04-19 10:00", 5, 8, 20.0, 0),   # 9  day 17
    ("2018-05-01 10:00", 7, 9, 40.0, 0),   # 10 day 29: run 27 days old, started at most 28 days ago
    ("2018-05-03 10:00", 7, 9, 40.0, 0),   # 11 day 31: over
])


def test_amounts_versus_the_customers_baseline_by_hand() -> None:
    f = offline_features(RUN)
    base = np.array([10.0, 30.0])
    assert f.loc[7, "CUSTOMER_AMOUNT_RATIO_BASE"] == pytest.approx(100.0 / 20.0)
    assert f.loc[7, "CUSTOMER_AMOUNT_ZSCORE_BASE"] == pytest.approx(80.0 / (base.std() + 1.0))
    assert f.loc[7, "CUSTOMER_MEAN_7DAY_VS_BASE"] == -1  # nothing in days 10..15
    assert f.loc[8, "CUSTOMER_MAX_TODAY_VS_BASE"] == pytest.approx(5.0)  # the 100 earlier today
    assert f.loc[9, "CUSTOMER_MAX_TODAY_VS_BASE"] == 0
    assert f.loc[9, "CUSTOMER_MAX_7DAY_VS_BASE"] == pytest.approx(5.0)
    assert f.loc[9, "CUSTOMER_MEAN_7DAY_VS_BASE"] == pytest.approx(75.0 / 20.0)
    assert f.loc[9, "CUSTOMER_SQ_MEAN_7DAY_VS_BASE"] == pytest.approx((100.0**2 + 50.0**2) / 2 / 20.0**2)
    assert f.loc[1, "CUSTOMER_AMOUNT_RATIO_BASE"] == -1  # no baseline yet


def test_terminal_fraud_run_by_hand() -> None:
    f = offline_features(RUN)
    # day 3: the run's first day (day 2) is not known yet
    assert f.loc[3, "TERMINAL_FRAUD_RUN_AGE"] == -1 and f.loc[3, "TERMINAL_STILL_COMPROMISED"] == -1
    # day 11: known fraud days 2-3 after the genuine day 0: started 9 (at most 10) days ago, nothing since
    assert f.loc[5, "TERMINAL_FRAUD_RUN_AGE"] == 9
    assert f.loc[5, "TERMINAL_FRAUD_RUN_MAX_AGE"] == 10
    assert f.loc[5, "TERMINAL_TX_AFTER_LAST_FRAUD"] == 0
    assert f.loc[5, "TERMINAL_STILL_COMPROMISED"] == 1 and f.loc[5, "TERMINAL_STILL_COMPROMISED_CLEAN"] == 1
    # day 13: the genuine payment of day 5 is known now
    assert f.loc[6, "TERMINAL_TX_AFTER_LAST_FRAUD"] == 1
    assert f.loc[6, "TERMINAL_STILL_COMPROMISED"] == 1 and f.loc[6, "TERMINAL_STILL_COMPROMISED_CLEAN"] == 0
    # day 29: a 28-day compromise that began on day 2 still runs, one that began on day 1 does not
    assert f.loc[10, "TERMINAL_FRAUD_RUN_AGE"] == 27
    assert f.loc[10, "TERMINAL_STILL_COMPROMISED"] == pytest.approx(0.5)
    assert f.loc[11, "TERMINAL_STILL_COMPROMISED"] == 0


def test_online_equals_offline_by_hand(lepton_home) -> None:
    """The hand-made fraud run through the database buckets, labels as they come."""
    from apps.fraud import storage
    from apps.fraud.features import FeatureConfig
    from apps.fraud.predictor import TransactionIn
    from lepton_shared.storage import session_scope

    expected = offline_features(RUN)[FEATURES].to_numpy()
    got = []
    with session_scope() as session:
        for row in RUN.itertuples():
            got.append(storage.features_for(session, row.CUSTOMER_ID, row.TERMINAL_ID, row.TX_AMOUNT,
                                           row.TX_DATETIME.to_pydatetime(), FeatureConfig()))
            item = TransactionIn(transaction_id=str(row.TRANSACTION_ID), tx_datetime=row.TX_DATETIME,
                                 customer_id=row.CUSTOMER_ID, terminal_id=row.TERMINAL_ID, tx_amount=row.TX_AMOUNT)
            storage.record(session, item, {"score": 0.0, "decision": "approve", "reasons": [], "model_version": "t"})
            if row.TX_FRAUD:
                storage.apply_label(session, item.transaction_id, "fraud", "chargeback")
    np.testing.assert_allclose(np.vstack(got), expected, rtol=1e-7, atol=1e-6)
