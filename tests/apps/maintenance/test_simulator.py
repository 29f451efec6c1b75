"""The fleet degradation simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd

from apps.maintenance.simulator import LOAD_COLUMN, SimConfig, simulate_fleet


def test_simulator_wear_grows_and_fails() -> None:
    fleet = simulate_fleet(20, seed=1)
    for _, g in fleet.groupby("unit"):
        assert np.all(np.diff(g["damage"]) > 0)  # wear grows
        assert g["rul"].iloc[-1] == 0
    assert (fleet.groupby("unit")["damage"].max() >= 0.999).all()  # every machine ran to failure
    heavy = simulate_fleet(30, seed=2, cfg=SimConfig(load_levels=(1.3,)))
    light = simulate_fleet(30, seed=2, cfg=SimConfig(load_levels=(0.75,)))
    assert heavy.groupby("unit").size().mean() < light.groupby("unit").size().mean()  # load speeds wear


def test_pandas_frame_fixture_sane() -> None:
    assert isinstance(simulate_fleet(2, seed=0), pd.DataFrame)


def test_columns_are_the_load_then_every_sensor() -> None:
    cfg = SimConfig()
    assert cfg.columns == [LOAD_COLUMN, *cfg.sensor_names]
    assert set(cfg.columns) <= set(simulate_fleet(1, seed=0).columns)
