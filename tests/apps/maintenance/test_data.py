"""Reading history files into the canonical table, and the built-in data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apps.maintenance.data import (
    demo_fleet,
    load_evaluation_data,
    load_history,
    load_training_data,
    split_units,
)
from apps.maintenance.simulator import simulate_fleet
from lepton_shared.errors import UserError


def _cmapss_rows(units: int = 3, cycles: int = 8) -> str:
    lines = []
    for u in range(1, units + 1):
        for c in range(1, cycles + 1):
            vals = [u, c, 0.001, 0.0, 100.0] + [500 + c * 0.5 + s for s in range(21)]
            lines.append(" ".join(str(v) for v in vals))
    return "\n".join(lines) + "\n"


def test_cmapss_train_and_test_loader(tmp_path: Path) -> None:
    (tmp_path / "train_FD009.txt").write_text(_cmapss_rows())
    train = load_history(tmp_path / "train_FD009.txt")
    assert list(train.columns[:5]) == ["unit", "cycle", "setting_1", "setting_2", "setting_3"]
    assert train.groupby("unit")["rul"].min().tolist() == [0, 0, 0]
    assert train["rul"].max() == 7
    (tmp_path / "test_FD009.txt").write_text(_cmapss_rows())
    with pytest.raises(UserError, match="RUL_FD009"):
        load_history(tmp_path / "test_FD009.txt")
    (tmp_path / "RUL_FD009.txt").write_text("10\n20\n30\n")
    test = load_history(tmp_path / "test_FD009.txt")
    last = test.groupby("unit").tail(1)["rul"].tolist()
    assert last == [10, 20, 30]
    assert test[test.unit == 1]["rul"].iloc[0] == 17


def test_loader_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("machine_id,temp\n1,3\n")
    with pytest.raises(UserError, match="time column"):
        load_history(bad)
    bad.write_text("machine_id,time,temp\n1,1,3\n1,1,4\n")
    with pytest.raises(UserError, match="not strictly increasing"):
        load_history(bad)
    bad.write_text("machine_id,time,temp\n1,1,3\n1,2,\n")
    with pytest.raises(UserError, match="NaN"):
        load_history(bad)
    short = tmp_path / "train_FD001.txt"
    short.write_text("1 2 3\n")
    with pytest.raises(UserError, match="26"):
        load_history(short)


def test_generic_csv_with_failure_flags(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("machine_id,time,temp,failure\na,1,1,0\na,2,2,0\na,3,3,1\na,4,1,0\nb,1,5,0\nb,2,6,1\n")
    frame = load_history(path)
    assert frame["rul"].tolist()[:3] == [2, 1, 0]
    assert np.isnan(frame["rul"].iloc[3])  # censored after the last failure
    assert "s_temp" in frame.columns


def test_built_in_data_is_the_simulator_with_separate_evaluation_machines() -> None:
    frame, source = load_training_data(None, machines=4, seed=3)
    assert source == "simulator" and frame["unit"].nunique() == 4
    held, last_only = load_evaluation_data(None, machines=4, seed=3)
    assert not last_only and not frame[["s_1", "s_2"]].head(5).equals(held[["s_1", "s_2"]].head(5))


def test_evaluation_of_a_cmapss_test_file_scores_last_cycles(tmp_path: Path) -> None:
    (tmp_path / "test_FD009.txt").write_text(_cmapss_rows())
    (tmp_path / "RUL_FD009.txt").write_text("10\n20\n30\n")
    frame, last_only = load_evaluation_data(tmp_path / "test_FD009.txt", machines=4, seed=0)
    assert last_only and frame["unit"].nunique() == 3


def test_split_units_holds_whole_machines_out() -> None:
    fleet = simulate_fleet(10, seed=1)
    train, val = split_units(fleet, 0.2, seed=0)
    assert val["unit"].nunique() == 2 and not set(train["unit"]) & set(val["unit"])
    assert len(train) + len(val) == len(fleet)
    with pytest.raises(UserError, match="two machines"):
        split_units(fleet[fleet["unit"] == 1], 0.2, seed=0)


def test_demo_fleet_is_six_machines_part_way_through_their_lives() -> None:
    fleet = demo_fleet()
    assert fleet["unit"].nunique() == 6
    assert (fleet.groupby("unit")["rul"].min() > 0).all()  # none has failed yet
    assert np.isfinite(fleet.filter(like="s_").to_numpy()).all()
