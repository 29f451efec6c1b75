import numpy as np
import pandas as pd

from apps.fraud.simulator import COLUMNS, SimulationConfig, builtin_config, simulate


def test_same_seed_same_data_other_seed_other_data() -> None:
    cfg = SimulationConfig(n_customers=100, n_terminals=200, n_days=10, seed=7)
    a, b = simulate(cfg), simulate(cfg)
    pd.testing.assert_frame_equal(a, b)
    c = simulate(SimulationConfig(n_customers=100, n_terminals=200, n_days=10, seed=8))
    assert len(a) != len(c) or not a["TX_AMOUNT"].equals(c["TX_AMOUNT"])


def test_columns_order_and_ranges() -> None:
    df = simulate(SimulationConfig(n_customers=100, n_terminals=200, n_days=10, seed=1))
    assert list(df.columns) == COLUMNS
    assert df["TX_DATETIME"].is_monotonic_increasing
    assert (df["TX_AMOUNT"] >= 0).all()
    assert df["TX_DATETIME"].min() >= pd.Timestamp("2018-04-01")
    assert df["TX_DATETIME"].max() < pd.Timestamp("2018-04-11")
    assert df["TRANSACTION_ID"].is_unique


def test_scenarios_follow_the_handbook_rules() -> None:
    df = simulate(SimulationConfig(n_customers=500, n_terminals=1000, n_days=40, seed=2,
                                   compromised_terminals_per_day=1, compromised_customers_per_day=2))
    s1 = df[df["TX_FRAUD_SCENARIO"] == 1]
    assert (s1["TX_AMOUNT"] > 220).all() and len(s1) > 0
    # any legit transaction stays under the scenario-1 limit
    assert (df.loc[df["TX_FRAUD"] == 0, "TX_AMOUNT"] <= 220).all()
    assert (df["TX_FRAUD"] == (df["TX_FRAUD_SCENARIO"] > 0)).all()
    # scenario 2: a compromised terminal's frauds span at most 28 days from the first one
    s2 = df[df["TX_FRAUD_SCENARIO"] == 2]
    assert len(s2) > 0
    span = s2.groupby("TERMINAL_ID")["TX_DATETIME"].agg(lambda t: (t.max() - t.min()).days)
    assert span.max() < 28 + 28  # overlapping compromises of one terminal at most double it
    # scenario 3: inflated amounts (x5) make these frauds larger than the customer's usual spending
    s3 = df[df["TX_FRAUD_SCENARIO"] == 3]
    assert len(s3) > 0
    usual = df[df["TX_FRAUD"] == 0].groupby("CUSTOMER_ID")["TX_AMOUNT"].median()
    ratio = s3["TX_AMOUNT"].to_numpy() / usual.reindex(s3["CUSTOMER_ID"]).to_numpy()
    assert np.nanmedian(ratio) > 3


def test_default_rates_give_the_handbooks_fraud_rate() -> None:
    df = simulate(SimulationConfig(n_customers=1000, n_terminals=2000, n_days=40, seed=4))
    assert 0.003 < df["TX_FRAUD"].mean() < 0.02  # the handbook's data: ~0.8%
    assert set(df["TX_FRAUD_SCENARIO"].unique()) == {0, 1, 2, 3}


def test_builtin_sizes() -> None:
    tiny, full = builtin_config(tiny=True), builtin_config()
    assert tiny.n_customers < full.n_customers
    assert tiny.n_days >= 7 * 3 + 30  # room for the default protocol after 30 days of history


def test_demo_stream_repeats_in_time_order_with_every_scenario() -> None:
    """The page's replayable stream: the same payments every time, in time order, a day's worth per day, each
    fraud scenario present on the full length so the review queue has something to catch."""
    from apps.fraud.simulator import STREAM, demo_stream

    stream = demo_stream()
    pd.testing.assert_frame_equal(stream, demo_stream())
    assert list(stream.columns) == COLUMNS and stream["TX_DATETIME"].is_monotonic_increasing
    assert stream["TX_DATETIME"].dt.normalize().nunique() == STREAM.n_days
    assert set(stream["TX_FRAUD_SCENARIO"].unique()) == {0, 1, 2, 3}
    week = demo_stream(7)
    assert week["TX_DATETIME"].dt.normalize().nunique() == 7 and len(week) < len(stream)
    assert STREAM.seed != builtin_config().seed
