import gzip
from pathlib import Path

import pandas as pd
import pytest

from apps.fraud.data import load_transactions
from apps.fraud.simulator import SimulationConfig, simulate
from lepton_shared.errors import UserError


@pytest.fixture()
def frame() -> pd.DataFrame:
    return simulate(SimulationConfig(n_customers=30, n_terminals=60, n_days=3, seed=0))


def test_csv_and_gzip_round_trip(frame: pd.DataFrame, tmp_path: Path) -> None:
    frame.to_csv(tmp_path / "a.csv", index=False)
    with gzip.open(tmp_path / "b.csv.gz", "wt") as fh:
        frame.to_csv(fh, index=False)
    a, b = load_transactions(tmp_path / "a.csv"), load_transactions(tmp_path / "b.csv.gz")
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == len(frame) and a["TX_DATETIME"].dtype.kind == "M"
    assert "TX_FRAUD_SCENARIO" in a.columns  # kept but never a feature


def test_folder_with_one_file(frame: pd.DataFrame, tmp_path: Path) -> None:
    frame.to_csv(tmp_path / "only.csv", index=False)
    assert len(load_transactions(tmp_path)) == len(frame)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.drop(columns=["TX_AMOUNT"]), "TX_AMOUNT"),
    (lambda d: d.assign(TX_DATETIME=["yesterday", *list(d["TX_DATETIME"].astype(str)[1:])]), "not a date"),
    (lambda d: d.assign(TX_AMOUNT=[-1.0, *list(d["TX_AMOUNT"][1:])]), "negative"),
    (lambda d: d.assign(TX_AMOUNT=[float("nan"), *list(d["TX_AMOUNT"][1:])]), "TX_AMOUNT"),
    (lambda d: d.assign(TX_FRAUD=[2, *list(d["TX_FRAUD"][1:])]), "TX_FRAUD"),
    (lambda d: d.assign(CUSTOMER_ID=["abc", *list(d["CUSTOMER_ID"][1:])]), "CUSTOMER_ID"),
])
def test_bad_files_are_user_errors(frame: pd.DataFrame, tmp_path: Path, mutate, message: str) -> None:
    mutate(frame).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(UserError, match=message):
        load_transactions(tmp_path / "bad.csv")


def test_not_a_csv(tmp_path: Path) -> None:
    (tmp_path / "x.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(UserError):
        load_transactions(tmp_path / "x.csv.gz")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(UserError, match="empty"):
        load_transactions(tmp_path / "empty.csv")
