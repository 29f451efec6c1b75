"""The handbook's evaluation protocol: train a week, skip a delay week, test the next week.

Test transactions of cards already known to be compromised (a fraud in the
training week, or in the delay period up to the day before) are left out, and
card precision@k is computed per test day over the cards not caught on an
earlier test day, then averaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from lepton_shared.errors import UserError

DEFAULT_TRAIN_OFFSET_DAYS = 30
"""Without --train-start the training week starts 30 days after the first transaction
(2018-05-01 for the handbook's file that starts on 2018-04-01), so that 30-day windows are full."""


@dataclass(frozen=True)
class Periods:
    train_start: pd.Timestamp
    train_days: int = 7
    delay_days: int = 7
    test_days: int = 7

    @property
    def train_end(self) -> pd.Timestamp:
        return self.train_start + pd.Timedelta(days=self.train_days)

    @property
    def test_start(self) -> pd.Timestamp:
        return self.train_end + pd.Timedelta(days=self.delay_days)

    @property
    def test_end(self) -> pd.Timestamp:
        return self.test_start + pd.Timedelta(days=self.test_days)

    def shifted(self, days: int) -> Periods:
        return Periods(self.train_start + pd.Timedelta(days=days), self.train_days, self.delay_days, self.test_days)

    def describe(self) -> dict[str, str]:
        last = pd.Timedelta(days=1)
        return {"train": f"{self.train_start:%Y-%m-%d}..{self.train_end - last:%Y-%m-%d}",
                "test": f"{self.test_start:%Y-%m-%d}..{self.test_end - last:%Y-%m-%d}"}


def resolve_periods(df: pd.DataFrame, train_start: str | None, train_days: int = 7, delay_days: int = 7,
                    test_days: int = 7) -> Periods:
    """Periods from the options, checked against the data's date range."""
    first = df["TX_DATETIME"].min().normalize()
    last = df["TX_DATETIME"].max().normalize()
    if train_start is None:
        start = first + pd.Timedelta(days=DEFAULT_TRAIN_OFFSET_DAYS)
    else:
        try:
            start = pd.Timestamp(train_start).normalize()
        except ValueError:
            raise UserError(f"--train-start {train_start!r} is not a date (use YYYY-MM-DD)") from None
    if min(train_days, test_days) < 1 or delay_days < 0:
        raise UserError("--train-days and --test-days must be at least 1 and --delay-days at least 0")
    periods = Periods(start, train_days, delay_days, test_days)
    if start < first or periods.test_end - pd.Timedelta(days=1) > last:
        raise UserError(f"the data covers {first:%Y-%m-%d}..{last:%Y-%m-%d} but training from {start:%Y-%m-%d} "
                        f"needs up to {periods.test_end - pd.Timedelta(days=1):%Y-%m-%d}; "
                        "pick another --train-start or give more data")
    return periods


def split(df: pd.DataFrame, periods: Periods) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training week and of the (filtered) test week."""
    dt = df["TX_DATETIME"]
    train = np.flatnonzero(((dt >= periods.train_start) & (dt < periods.train_end)).to_numpy())
    known = set(df.loc[train][df.loc[train, "TX_FRAUD"] == 1]["CUSTOMER_ID"])
    test_rows: list[np.ndarray] = []
    day_td = pd.Timedelta(days=1)
    for i in range(periods.test_days):
        # frauds discovered in the delay period up to the day before are known too (handbook protocol)
        delay_day = periods.train_end + pd.Timedelta(days=i - 1)
        mask_delay = (dt >= delay_day) & (dt < delay_day + day_td) & (df["TX_FRAUD"] == 1)
        known |= set(df.loc[mask_delay, "CUSTOMER_ID"])
        day = periods.test_start + pd.Timedelta(days=i)
        mask = (dt >= day) & (dt < day + day_td) & ~df["CUSTOMER_ID"].isin(known)
        test_rows.append(np.flatnonzero(mask.to_numpy()))
    test = np.concatenate(test_rows) if test_rows else np.array([], dtype=np.int64)
    if len(train) == 0 or len(test) == 0:
        raise UserError(f"no transactions in the training or test period ({periods.describe()})")
    if df["TX_FRAUD"].to_numpy()[train].sum() == 0:
        raise UserError(f"the training period {periods.describe()['train']} holds no fraud; "
                        "pick another --train-start or give more data")
    return train, test


def card_precision_at_k(test: pd.DataFrame, scores: np.ndarray, k: int = 100) -> float:
    """Handbook card precision@k: per day, top-k cards by max score, excluding cards caught earlier."""
    frame = pd.DataFrame({"day": test["TX_DATETIME"].dt.normalize().to_numpy(),
                          "card": test["CUSTOMER_ID"].to_numpy(), "fraud": test["TX_FRAUD"].to_numpy(),
                          "score": scores})
    caught: set[int] = set()
    values = []
    for _, day in frame.groupby("day", sort=True):
        day = day[~day["card"].isin(caught)]
        cards = day.groupby("card").agg(score=("score", "max"), fraud=("fraud", "max"))
        top = cards.sort_values("score", ascending=False, kind="stable").head(k)
        found = top.index[top["fraud"] == 1]
        values.append(len(found) / k)
        caught |= set(found.tolist())
    return float(np.mean(values)) if values else 0.0


def score_metrics(test: pd.DataFrame, scores: np.ndarray) -> dict[str, float]:
    """roc_auc, average_precision and card_precision_at_100 of scores on test rows."""
    y = test["TX_FRAUD"].to_numpy()
    if y.min() == y.max():
        raise UserError("the test period holds a single class (no fraud or only fraud); pick other dates")
    return {
        "roc_auc": float(skm.roc_auc_score(y, scores)),
        "average_precision": float(skm.average_precision_score(y, scores)),
        "card_precision_at_100": card_precision_at_k(test, scores, 100),
    }
