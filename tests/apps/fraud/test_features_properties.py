"""Property (hypothesis): for any transaction stream, the online features read from the database buckets equal
the offline features training computes over the whole stream.

It found two disagreements, now fixed: with a delay under a week the online path read too few days of
buckets for the customer's 14-36-day baseline, and the 30-day standard deviation of equal amounts came out
as 1e-5 offline and 0 online (float rounding through a square root).

Streams are small (up to 25 payments of 3 customers at 3 terminals over 60 days, same-minute ties and
labels included) so that many fit in seconds; each example uses customer and terminal ids of its own, so the
examples share one database without seeing each other's buckets."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.fraud.features import FEATURES, FeatureConfig, offline_features

START = datetime(2018, 4, 2)
ENTITIES = 3

payment = st.tuples(
    st.integers(0, 60 * 24 * 60 - 1),  # minute of the 60-day span
    st.integers(0, ENTITIES - 1),  # customer
    st.integers(0, ENTITIES - 1),  # terminal
    st.integers(1, 100_000),  # amount in cents
    st.booleans(),  # fraud, labelled right after scoring (known to the features only after the delay)
)
_offsets = itertools.count(1)


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(payment, min_size=1, max_size=25), delay=st.sampled_from([1, 2, 7]))
def test_online_features_equal_offline_for_any_stream(lepton_home: Path, rows: list[tuple[int, int, int, int, bool]],
                                                      delay: int) -> None:
    from apps.fraud import storage
    from apps.fraud.predictor import TransactionIn
    from lepton_shared.storage import session_scope

    base = next(_offsets) * 10 * ENTITIES
    rows = sorted(rows, key=lambda r: r[0])
    df = pd.DataFrame({
        "TRANSACTION_ID": range(len(rows)),
        "TX_DATETIME": pd.to_datetime([START + timedelta(minutes=m) for m, *_ in rows]),
        "CUSTOMER_ID": [base + c for _, c, *_ in rows],
        "TERMINAL_ID": [base + t for _, _, t, *_ in rows],
        "TX_AMOUNT": [cents / 100 for *_, cents, _ in rows],
        "TX_FRAUD": [int(fraud) for *_, fraud in rows],
    })
    config = FeatureConfig(delay=delay)
    expected = offline_features(df, config)[FEATURES].to_numpy()
    got = []
    with session_scope() as session:
        for row in df.itertuples():
            item = TransactionIn(transaction_id=f"{base}-{row.TRANSACTION_ID}", tx_datetime=row.TX_DATETIME,
                                 customer_id=row.CUSTOMER_ID, terminal_id=row.TERMINAL_ID, tx_amount=row.TX_AMOUNT)
            got.append(storage.features_for(session, item.customer_id, item.terminal_id, item.tx_amount,
                                           item.tx_datetime, config))
            storage.record(session, item, {"score": 0.0, "decision": "approve", "reasons": [], "model_version": "t"})
            if row.TX_FRAUD:
                storage.apply_label(session, item.transaction_id, "fraud", "chargeback")
    np.testing.assert_allclose(np.vstack(got), expected, rtol=1e-7, atol=1e-6)


def test_a_label_delay_under_one_day_is_refused() -> None:
    """With no delay the terminal windows would count today's later payments offline but not online."""
    with pytest.raises(ValueError, match="at least one day"):
        FeatureConfig(delay=0)
