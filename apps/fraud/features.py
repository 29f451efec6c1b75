"""Features computed identically offline (whole data set, vectorised) and online (one transaction).

Both paths first reduce history to the same *window aggregates* ("raw" values:
counts, sums, sums of squares, maxima and known frauds over day windows), then
:func:`derive` turns those into model features with one shared piece of code.
Offline, the aggregates come from per-day cumulative sums over dense
entity x day arrays; online, from per-day buckets kept in the database
(``apps/fraud/storage.py``). Windows are whole calendar days:

* customer windows of w days: the days ``d-w+1 .. d-1`` plus the transactions of
  day ``d`` up to and including the current one (so never the future);
* terminal risk windows with a label delay of ``delay`` days: only days
  ``d-delay-w+1 .. d-delay`` count, because a fraud label is known only
  ``delay`` days after the transaction (the handbook's protocol).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

WINDOWS = (1, 7, 30)
DEFAULT_DELAY = 7
HISTORY_DAYS = 30  # the longest window
OLD_WINDOW = (14, 29)  # days back: the customer's spending before a recent compromise (scenario 3: 14 days)
BASE_WINDOW = (14, 36)  # days back: a longer pre-compromise baseline
COMPROMISE_DAYS = 28  # the handbook's compromised terminals stay compromised for 28 days (scenario 2)

BASELINE_FEATURES = [
    "TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT",
    *[f"CUSTOMER_ID_NB_TX_{w}DAY_WINDOW" for w in WINDOWS],
    *[f"CUSTOMER_ID_AVG_AMOUNT_{w}DAY_WINDOW" for w in WINDOWS],
    *[f"TERMINAL_ID_NB_TX_{w}DAY_WINDOW" for w in WINDOWS],
    *[f"TERMINAL_ID_RISK_{w}DAY_WINDOW" for w in WINDOWS],
]
"""The handbook's baseline features (customer spending, delayed terminal risk, weekend and night)."""

EXTRA_FEATURES = [
    "TX_HOUR",
    "CUSTOMER_ID_STD_AMOUNT_30DAY_WINDOW",
    "CUSTOMER_AMOUNT_RATIO_7DAY",
    "CUSTOMER_AMOUNT_RATIO_30DAY",
    "CUSTOMER_AMOUNT_ZSCORE_30DAY",
    "CUSTOMER_AMOUNT_OVER_MAX_30DAY",
    "CUSTOMER_KNOWN_FRAUD_30DAY",
    "TERMINAL_ID_KNOWN_FRAUD_7DAY",
    "TERMINAL_ID_KNOWN_FRAUD_30DAY",
    "TERMINAL_ID_NB_TX_TODAY",
    "TERMINAL_ID_NB_TX_7DAY_NODELAY",
    "CUSTOMER_AMOUNT_RATIO_OLD",
    "TERMINAL_DAYS_SINCE_FIRST_KNOWN_FRAUD",
    "TERMINAL_DAYS_SINCE_LAST_KNOWN_FRAUD",
    "CUSTOMER_AMOUNT_RATIO_BASE",
    "CUSTOMER_AMOUNT_ZSCORE_BASE",
    "CUSTOMER_MAX_7DAY_VS_BASE",
    "CUSTOMER_MAX_TODAY_VS_BASE",
    "CUSTOMER_MEAN_7DAY_VS_BASE",
    "CUSTOMER_SQ_MEAN_7DAY_VS_BASE",
    "TERMINAL_FRAUD_RUN_AGE",
    "TERMINAL_FRAUD_RUN_MAX_AGE",
    "TERMINAL_TX_AFTER_LAST_FRAUD",
    "TERMINAL_STILL_COMPROMISED",
    "TERMINAL_STILL_COMPROMISED_CLEAN",
]
"""Ours: the amount against the customer's own history (scenario 3 inflates amounts of leaked cards),
known fraud counts (scenario 2 compromises terminals for weeks) and terminal traffic.

The ``*_VS_BASE`` features compare with the customer's spending 14-36 days ago, before a compromise
of the last two weeks, and look at the card's recent maxima and second moment (several inflated
amounts on one card are stronger evidence than one). The ``TERMINAL_FRAUD_RUN_*`` features describe
the latest run of known-fraud days at the terminal (no genuine transaction in between): its age, the
oldest the compromise can be (the last genuine day before it), and whether genuine transactions came
after it; ``TERMINAL_STILL_COMPROMISED`` is the share of the possible start days under which a
:data:`COMPROMISE_DAYS`-day compromise would still be running today."""

FEATURES = BASELINE_FEATURES + EXTRA_FEATURES

DESCRIPTIONS = {
    "TX_AMOUNT": "transaction amount",
    "TX_DURING_WEEKEND": "made on a weekend",
    "TX_DURING_NIGHT": "made at night (before 7:00)",
    "TX_HOUR": "hour of day",
    "CUSTOMER_ID_STD_AMOUNT_30DAY_WINDOW": "spread of the customer's amounts over 30 days",
    "CUSTOMER_AMOUNT_RATIO_7DAY": "amount vs. the customer's 7-day average",
    "CUSTOMER_AMOUNT_RATIO_30DAY": "amount vs. the customer's 30-day average",
    "CUSTOMER_AMOUNT_ZSCORE_30DAY": "amount far from the customer's usual amounts",
    "CUSTOMER_AMOUNT_OVER_MAX_30DAY": "amount vs. the customer's largest in 30 days",
    "CUSTOMER_KNOWN_FRAUD_30DAY": "known frauds on this card (30 days, delayed)",
    "TERMINAL_ID_KNOWN_FRAUD_7DAY": "known frauds at this terminal (7 days, delayed)",
    "TERMINAL_ID_KNOWN_FRAUD_30DAY": "known frauds at this terminal (30 days, delayed)",
    "TERMINAL_ID_NB_TX_TODAY": "transactions at this terminal today",
    "TERMINAL_ID_NB_TX_7DAY_NODELAY": "transactions at this terminal in 7 days",
    "CUSTOMER_AMOUNT_RATIO_OLD": "amount vs. the customer's average 14-29 days ago",
    "TERMINAL_DAYS_SINCE_FIRST_KNOWN_FRAUD": "days since the terminal's first known fraud (-1: none)",
    "TERMINAL_DAYS_SINCE_LAST_KNOWN_FRAUD": "days since the terminal's last known fraud (-1: none)",
    "CUSTOMER_AMOUNT_RATIO_BASE": "amount vs. the customer's average 14-36 days ago",
    "CUSTOMER_AMOUNT_ZSCORE_BASE": "amount far from the customer's amounts 14-36 days ago",
    "CUSTOMER_MAX_7DAY_VS_BASE": "card's largest amount this week vs. its usual average",
    "CUSTOMER_MAX_TODAY_VS_BASE": "card's largest amount earlier today vs. its usual average",
    "CUSTOMER_MEAN_7DAY_VS_BASE": "card's average this week vs. its usual average",
    "CUSTOMER_SQ_MEAN_7DAY_VS_BASE": "card's unusually large amounts this week",
    "TERMINAL_FRAUD_RUN_AGE": "days since the terminal's latest run of known frauds began (-1: none)",
    "TERMINAL_FRAUD_RUN_MAX_AGE": "days since the terminal's last genuine payment before that run",
    "TERMINAL_TX_AFTER_LAST_FRAUD": "genuine payments at the terminal after its last known fraud",
    "TERMINAL_STILL_COMPROMISED": "terminal likely still compromised (known fraud run)",
    "TERMINAL_STILL_COMPROMISED_CLEAN": "terminal likely still compromised, no genuine payment since",
    **{f"CUSTOMER_ID_NB_TX_{w}DAY_WINDOW": f"customer's transactions in {w} day(s)" for w in WINDOWS},
    **{f"CUSTOMER_ID_AVG_AMOUNT_{w}DAY_WINDOW": f"customer's average amount over {w} day(s)" for w in WINDOWS},
    **{f"TERMINAL_ID_NB_TX_{w}DAY_WINDOW": f"terminal's transactions in {w} day(s) (delayed)" for w in WINDOWS},
    **{f"TERMINAL_ID_RISK_{w}DAY_WINDOW": f"terminal's fraud rate over {w} day(s) (delayed)" for w in WINDOWS},
}

EPOCH = pd.Timestamp("1970-01-01")
EPOCH_DATE = date(1970, 1, 1)


def day_index(datetimes: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Whole days since 1970-01-01: the bucket key shared by offline and online code."""
    values = pd.DatetimeIndex(datetimes)
    return np.asarray((values.normalize() - EPOCH).days, dtype=np.int64)


@dataclass(frozen=True)
class FeatureConfig:
    delay: int = DEFAULT_DELAY

    def __post_init__(self) -> None:
        # with no delay the terminal windows would count the current day, whose later transactions the
        # offline path sees and the online one cannot: the two would disagree
        if self.delay < 1:
            raise ValueError(f"the label delay must be at least one day, not {self.delay}")

    @property
    def lookback(self) -> int:
        """How many days back the terminal's delayed windows and fraud run reach."""
        return self.delay + HISTORY_DAYS

    @property
    def history_days(self) -> int:
        """How many days of buckets the online path reads: the delayed windows, and the customer's baseline
        (which reaches further back than they do when the delay is under a week)."""
        return max(self.lookback, BASE_WINDOW[1])


Raw = Mapping[str, np.ndarray]


def derive(raw: Raw, amount: np.ndarray, datetimes: pd.Series | pd.DatetimeIndex) -> pd.DataFrame:
    """Model features from window aggregates: the single definition both paths share."""
    dt = pd.DatetimeIndex(datetimes)
    columns = derive_arrays(raw, np.asarray(amount, dtype=np.float64), np.asarray(dt.weekday),
                            np.asarray(dt.hour + dt.minute / 60.0, dtype=np.float64))
    return pd.DataFrame({name: columns[name] for name in FEATURES})


def derive_arrays(raw: Raw, amount: np.ndarray, weekday: np.ndarray, hour: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`derive` on plain arrays (the online path skips pandas: it is most of a request's time)."""
    out: dict[str, np.ndarray] = {"TX_AMOUNT": amount}
    out["TX_DURING_WEEKEND"] = (weekday >= 5).astype(np.float64)
    out["TX_DURING_NIGHT"] = (np.floor(hour) <= 6).astype(np.float64)
    for w in WINDOWS:
        n = raw[f"c_n_{w}"]
        out[f"CUSTOMER_ID_NB_TX_{w}DAY_WINDOW"] = n.astype(np.float64)
        out[f"CUSTOMER_ID_AVG_AMOUNT_{w}DAY_WINDOW"] = np.divide(raw[f"c_s_{w}"], n, out=np.zeros(len(n)),
                                                                 where=n > 0)
    for w in WINDOWS:
        n = raw[f"t_n_{w}"]
        out[f"TERMINAL_ID_NB_TX_{w}DAY_WINDOW"] = n.astype(np.float64)
        out[f"TERMINAL_ID_RISK_{w}DAY_WINDOW"] = np.divide(raw[f"t_nf_{w}"], n, out=np.zeros(len(n)), where=n > 0)
    out["TX_HOUR"] = hour
    # the customer's history before this transaction
    means = {}
    for w in (7, 30):
        n_prior = raw[f"c_n_{w}"] - 1
        means[w] = np.divide(raw[f"c_s_{w}"] - amount, n_prior, out=np.zeros(len(amount)), where=n_prior > 0)
        out[f"CUSTOMER_AMOUNT_RATIO_{w}DAY"] = np.where(n_prior > 0, amount / np.maximum(means[w], 1.0), 1.0)
    n_prior = raw["c_n_30"] - 1
    sq_prior = raw["c_ss_30"] - amount**2
    std = _std(np.divide(sq_prior, n_prior, out=np.zeros(len(amount)), where=n_prior > 0), means[30],
               scale=means[30] ** 2 + amount**2)
    out["CUSTOMER_ID_STD_AMOUNT_30DAY_WINDOW"] = std
    out["CUSTOMER_AMOUNT_ZSCORE_30DAY"] = np.where(n_prior > 1, (amount - means[30]) / (std + 1.0), 0.0)
    prior_max = raw["c_mx_30"]
    out["CUSTOMER_AMOUNT_OVER_MAX_30DAY"] = np.where(prior_max > 0, amount / np.maximum(prior_max, 1.0), 1.0)
    out["CUSTOMER_KNOWN_FRAUD_30DAY"] = raw["c_nf_30"].astype(np.float64)
    out["TERMINAL_ID_KNOWN_FRAUD_7DAY"] = raw["t_nf_7"].astype(np.float64)
    out["TERMINAL_ID_KNOWN_FRAUD_30DAY"] = raw["t_nf_30"].astype(np.float64)
    out["TERMINAL_ID_NB_TX_TODAY"] = raw["t_now_1"].astype(np.float64)
    out["TERMINAL_ID_NB_TX_7DAY_NODELAY"] = raw["t_now_7"].astype(np.float64)
    n_old = raw["c_n_old"]
    mean_old = np.divide(raw["c_s_old"], n_old, out=np.zeros(len(amount)), where=n_old > 0)
    out["CUSTOMER_AMOUNT_RATIO_OLD"] = np.where(n_old > 0, amount / np.maximum(mean_old, 1.0),
                                                out["CUSTOMER_AMOUNT_RATIO_30DAY"])
    out["TERMINAL_DAYS_SINCE_FIRST_KNOWN_FRAUD"] = raw["t_since_first"].astype(np.float64)
    out["TERMINAL_DAYS_SINCE_LAST_KNOWN_FRAUD"] = raw["t_since_last"].astype(np.float64)
    out.update(_versus_base(raw, amount))
    out.update(_fraud_run(raw))
    return out


def _std(mean_sq: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Standard deviation from the mean of squares, a variance within rounding of ``scale`` (the squares it was
    computed from) counting as zero: offline and online add the squares in different orders, and the square
    root would blow their last-bit difference up to a visible one (1e-5 where the answer is 0)."""
    var = mean_sq - mean**2
    return np.sqrt(np.where(var > 1e-10 * scale, var, 0.0))


def _versus_base(raw: Raw, amount: np.ndarray) -> dict[str, np.ndarray]:
    """The amount and the card's recent spending against its spending 14-36 days ago (-1: no baseline)."""
    n = raw["c_n_base"]
    has = n > 0
    mean = np.divide(raw["c_s_base"], n, out=np.zeros(len(n)), where=has)
    std = _std(np.divide(raw["c_ss_base"], n, out=np.zeros(len(n)), where=has), mean, scale=mean**2)
    base = np.maximum(mean, 1.0)
    n7 = raw["c_n_7p"]
    recent = has & (n7 > 0)
    mean7 = np.divide(raw["c_s_7p"], n7, out=np.zeros(len(n)), where=n7 > 0)
    sq7 = np.divide(raw["c_ss_7p"], n7, out=np.zeros(len(n)), where=n7 > 0)
    return {
        "CUSTOMER_AMOUNT_RATIO_BASE": np.where(has, amount / base, -1.0),
        "CUSTOMER_AMOUNT_ZSCORE_BASE": np.where(n > 1, (amount - mean) / (std + 1.0), -99.0),
        "CUSTOMER_MAX_7DAY_VS_BASE": np.where(has, raw["c_mx_7"] / base, -1.0),
        "CUSTOMER_MAX_TODAY_VS_BASE": np.where(has, raw["c_mx_1"] / base, -1.0),
        "CUSTOMER_MEAN_7DAY_VS_BASE": np.where(recent, mean7 / base, -1.0),
        "CUSTOMER_SQ_MEAN_7DAY_VS_BASE": np.where(recent, sq7 / base**2, -1.0),
    }


def _fraud_run(raw: Raw) -> dict[str, np.ndarray]:
    """The terminal's latest known-fraud run; the share of its possible start days (ages run_age..max_age)
    under which a :data:`COMPROMISE_DAYS`-day compromise still runs today (-1: no known fraud)."""
    age, max_age, after = raw["t_run_age"], raw["t_run_max_age"], raw["t_n_after"]
    has = age >= 0
    n_starts = np.maximum(max_age - age + 1, 1.0)
    still = np.clip(np.clip(COMPROMISE_DAYS - age, 0.0, None) / n_starts, 0.0, 1.0)
    still = np.where(has, still, -1.0)
    return {
        "TERMINAL_FRAUD_RUN_AGE": age.astype(np.float64),
        "TERMINAL_FRAUD_RUN_MAX_AGE": max_age.astype(np.float64),
        "TERMINAL_TX_AFTER_LAST_FRAUD": after.astype(np.float64),
        "TERMINAL_STILL_COMPROMISED": still,
        "TERMINAL_STILL_COMPROMISED_CLEAN": np.where(has & (after == 0), still, 0.0),
    }


# -- offline --------------------------------------------------------------
class _Dense:
    """Per-entity, per-day totals with cumulative sums, for O(1) window sums."""

    def __init__(self, entity: np.ndarray, day: np.ndarray, n_entities: int, n_days: int) -> None:
        self.entity, self.day, self.shape = entity, day, (n_entities, n_days)

    def daily(self, values: np.ndarray) -> np.ndarray:
        grid = np.zeros(self.shape)
        np.add.at(grid, (self.entity, self.day), values)
        return grid

    @staticmethod
    def window(cum: np.ndarray, entity: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Sum over days first..last (inclusive, clipped to the data) from a zero-padded cumulative grid."""
        n_days = cum.shape[1] - 1
        a = np.clip(first, 0, n_days)
        b = np.clip(last + 1, 0, n_days)
        return np.where(b > a, cum[entity, b] - cum[entity, a], 0.0)


def _cumulative(grid: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros((grid.shape[0], 1)), np.cumsum(grid, axis=1)], axis=1)


def offline_raw(df: pd.DataFrame, config: FeatureConfig | None = None) -> dict[str, np.ndarray]:
    """Window aggregates of every transaction of ``df`` (sorted by time, labels in TX_FRAUD)."""
    cfg = config or FeatureConfig()
    days_abs = day_index(df["TX_DATETIME"])
    day = days_abs - days_abs.min()
    n_days = int(day.max()) + 1
    amount = df["TX_AMOUNT"].to_numpy(np.float64)
    fraud = df["TX_FRAUD"].to_numpy(np.float64)
    cust = np.unique(df["CUSTOMER_ID"].to_numpy(), return_inverse=True)[1]
    term = np.unique(df["TERMINAL_ID"].to_numpy(), return_inverse=True)[1]
    raw: dict[str, np.ndarray] = {}
    # customer: full earlier days of the window + today up to and including this transaction
    c = _Dense(cust, day, int(cust.max()) + 1, n_days)
    groups = pd.DataFrame({"c": cust, "d": day, "n": 1.0, "s": amount, "ss": amount**2, "mx": amount})
    today = groups.groupby(["c", "d"], sort=False)[["n", "s", "ss"]].cumsum()
    for key, values in (("n", np.ones(len(df))), ("s", amount), ("ss", amount**2)):
        cum = _cumulative(c.daily(values))
        for w in WINDOWS:
            raw[f"c_{key}_{w}"] = c.window(cum, cust, day - w + 1, day - 1) + today[key].to_numpy()
    # the customer's largest amount before this transaction in the 30-day window
    daily_max = np.zeros(c.shape)
    np.maximum.at(daily_max, (cust, day), amount)
    earlier_max = np.zeros(c.shape)  # max over days k-29 .. k-1
    for shift in range(1, HISTORY_DAYS):
        earlier_max[:, shift:] = np.maximum(earlier_max[:, shift:], daily_max[:, :-shift])
    running_max = groups.groupby(["c", "d"], sort=False)["mx"].cummax()
    today_prior_max = running_max.groupby([groups["c"], groups["d"]], sort=False).shift(1).fillna(0.0).to_numpy()
    raw["c_mx_30"] = np.maximum(earlier_max[cust, day], today_prior_max)
    cum_n = _cumulative(c.daily(np.ones(len(df))))
    cum_s = _cumulative(c.daily(amount))
    raw["c_n_old"] = c.window(cum_n, cust, day - OLD_WINDOW[1], day - OLD_WINDOW[0])
    raw["c_s_old"] = c.window(cum_s, cust, day - OLD_WINDOW[1], day - OLD_WINDOW[0])
    cum_ss = _cumulative(c.daily(amount**2))
    for key, cum in (("n", cum_n), ("s", cum_s), ("ss", cum_ss)):
        raw[f"c_{key}_base"] = c.window(cum, cust, day - BASE_WINDOW[1], day - BASE_WINDOW[0])
        raw[f"c_{key}_7p"] = c.window(cum, cust, day - 6, day - 1)
    earlier_max_7 = np.zeros(c.shape)  # max over days k-6 .. k-1
    for shift in range(1, 7):
        earlier_max_7[:, shift:] = np.maximum(earlier_max_7[:, shift:], daily_max[:, :-shift])
    raw["c_mx_1"] = today_prior_max
    raw["c_mx_7"] = np.maximum(earlier_max_7[cust, day], today_prior_max)
    cum_cf = _cumulative(c.daily(fraud))
    raw["c_nf_30"] = c.window(cum_cf, cust, day - cfg.delay - HISTORY_DAYS + 1, day - cfg.delay)
    # terminal: delayed windows (labels are known `delay` days later) and today's traffic
    t = _Dense(term, day, int(term.max()) + 1, n_days)
    cum_tn, cum_tf = _cumulative(t.daily(np.ones(len(df)))), _cumulative(t.daily(fraud))
    for w in WINDOWS:
        first, last = day - cfg.delay - w + 1, day - cfg.delay
        raw[f"t_n_{w}"] = t.window(cum_tn, term, first, last)
        raw[f"t_nf_{w}"] = t.window(cum_tf, term, first, last)
    # first / last day with a known fraud in the delayed 30-day window, as "days before today"
    fraud_days = t.daily(fraud) > 0
    first = np.full(t.shape, -1, dtype=np.int64)
    last = np.full(t.shape, -1, dtype=np.int64)
    cols = np.arange(n_days)
    for back in range(HISTORY_DAYS - 1, -1, -1):  # oldest first, so `first` keeps the earliest
        if back >= n_days:
            continue
        hit = np.zeros(t.shape, dtype=bool)
        hit[:, back:] = fraud_days[:, : n_days - back]
        first = np.where(hit & (first < 0), cols - back, first)
    for back in range(HISTORY_DAYS):  # newest first, so `last` keeps the latest
        if back >= n_days:
            break
        hit = np.zeros(t.shape, dtype=bool)
        hit[:, back:] = fraud_days[:, : n_days - back]
        last = np.where(hit & (last < 0), cols - back, last)
    k = day - cfg.delay
    valid = k >= 0
    kk = np.clip(k, 0, None)
    raw["t_since_first"] = np.where(valid & (first[term, kk] >= 0), day - first[term, kk], -1).astype(np.float64)
    raw["t_since_last"] = np.where(valid & (last[term, kk] >= 0), day - last[term, kk], -1).astype(np.float64)
    raw.update(_offline_fraud_runs(t, term, day, fraud, cfg))
    today_t = pd.DataFrame({"t": term, "d": day, "n": 1.0}).groupby(["t", "d"], sort=False)["n"].cumsum().to_numpy()
    raw["t_now_1"] = today_t
    raw["t_now_7"] = t.window(cum_tn, term, day - 6, day - 1) + today_t
    return raw


def _offline_fraud_runs(t: _Dense, term: np.ndarray, day: np.ndarray, fraud: np.ndarray,
                        cfg: FeatureConfig) -> dict[str, np.ndarray]:
    """:func:`online_raw`'s fraud-run values for every transaction, from per-terminal day grids of
    "last fraud day <= x", "last genuine day <= x" and "first fraud day >= x" (known days d-lookback..d-delay)."""
    n_days = t.shape[1]
    n, nf = t.daily(np.ones(len(term))), t.daily(fraud)
    cols = np.arange(n_days)[None, :]
    none = 10**6
    last_fraud = np.maximum.accumulate(np.where(nf > 0, cols, -none), axis=1)
    last_genuine = np.maximum.accumulate(np.where(n - nf > 0, cols, -none), axis=1)
    next_fraud = np.minimum.accumulate(np.where(nf > 0, cols, none)[:, ::-1], axis=1)[:, ::-1]
    known_last = day - cfg.delay
    oldest = np.maximum(day - cfg.lookback, 0)
    last = np.where(known_last >= 0, last_fraud[term, np.clip(known_last, 0, n_days - 1)], -none)
    has = last >= oldest
    last_c = np.clip(last, 0, n_days - 1)
    genuine = np.where(has, last_genuine[term, last_c], -none)
    found = has & (genuine >= oldest)
    start = np.where(found, np.where(genuine == last, last, genuine + 1), oldest)
    run_start = next_fraud[term, np.clip(start, 0, n_days - 1)]
    max_age = np.where(found, np.where(genuine == last, day - last, day - genuine - 1), cfg.lookback + 1)
    after = _Dense.window(_cumulative(n), term, last + 1, known_last)
    return {"t_run_age": np.where(has, day - run_start, -1).astype(np.float64),
            "t_run_max_age": np.where(has, max_age, -1).astype(np.float64),
            "t_n_after": np.where(has, after, -1).astype(np.float64)}


def offline_features(df: pd.DataFrame, config: FeatureConfig | None = None) -> pd.DataFrame:
    """The feature table of ``df`` (same row order)."""
    raw = offline_raw(df, config)
    return derive(raw, df["TX_AMOUNT"].to_numpy(), df["TX_DATETIME"])


# -- online ---------------------------------------------------------------
@dataclass
class CustomerDay:
    day: int
    n: float
    amount_sum: float
    amount_sq_sum: float
    amount_max: float
    n_fraud: float


@dataclass
class TerminalDay:
    day: int
    n: float
    n_fraud: float


def online_raw(amount: float, day: int, customer_days: list[CustomerDay], terminal_days: list[TerminalDay],
               config: FeatureConfig | None = None) -> dict[str, np.ndarray]:
    """Window aggregates of one new transaction from the buckets of the transactions before it."""
    cfg = config or FeatureConfig()
    raw: dict[str, np.ndarray] = {}

    def csum(attr: str, first: int, last: int) -> float:
        return float(sum(getattr(b, attr) for b in customer_days if first <= b.day <= last))

    def tsum(attr: str, first: int, last: int) -> float:
        return float(sum(getattr(b, attr) for b in terminal_days if first <= b.day <= last))

    for w in WINDOWS:
        raw[f"c_n_{w}"] = np.array([csum("n", day - w + 1, day) + 1.0])
        raw[f"c_s_{w}"] = np.array([csum("amount_sum", day - w + 1, day) + amount])
        raw[f"c_ss_{w}"] = np.array([csum("amount_sq_sum", day - w + 1, day) + amount**2])
        raw[f"t_n_{w}"] = np.array([tsum("n", day - cfg.delay - w + 1, day - cfg.delay)])
        raw[f"t_nf_{w}"] = np.array([tsum("n_fraud", day - cfg.delay - w + 1, day - cfg.delay)])
    maxima = [b.amount_max for b in customer_days if day - HISTORY_DAYS + 1 <= b.day <= day]
    raw["c_mx_30"] = np.array([max(maxima, default=0.0)])
    raw["c_nf_30"] = np.array([csum("n_fraud", day - cfg.delay - HISTORY_DAYS + 1, day - cfg.delay)])
    raw["c_n_old"] = np.array([csum("n", day - OLD_WINDOW[1], day - OLD_WINDOW[0])])
    raw["c_s_old"] = np.array([csum("amount_sum", day - OLD_WINDOW[1], day - OLD_WINDOW[0])])
    known = [b.day for b in terminal_days
             if day - cfg.delay - HISTORY_DAYS + 1 <= b.day <= day - cfg.delay and b.n_fraud > 0]
    raw["t_since_first"] = np.array([float(day - min(known)) if known else -1.0])
    raw["t_since_last"] = np.array([float(day - max(known)) if known else -1.0])
    for key, attr in (("n", "n"), ("s", "amount_sum"), ("ss", "amount_sq_sum")):
        raw[f"c_{key}_base"] = np.array([csum(attr, day - BASE_WINDOW[1], day - BASE_WINDOW[0])])
        raw[f"c_{key}_7p"] = np.array([csum(attr, day - 6, day - 1)])
    raw["c_mx_1"] = np.array([max((b.amount_max for b in customer_days if b.day == day), default=0.0)])
    raw["c_mx_7"] = np.array([max((b.amount_max for b in customer_days if day - 6 <= b.day <= day), default=0.0)])
    raw.update({k: np.array([v]) for k, v in _online_fraud_run(day, terminal_days, cfg).items()})
    raw["t_now_1"] = np.array([tsum("n", day, day) + 1.0])
    raw["t_now_7"] = np.array([tsum("n", day - 6, day) + 1.0])
    return raw


def _online_fraud_run(day: int, terminal_days: list[TerminalDay], cfg: FeatureConfig) -> dict[str, float]:
    """The terminal's latest run of known-fraud days (days day-lookback..day-delay): see :func:`_fraud_run`."""
    known = [b for b in terminal_days if day - cfg.lookback <= b.day <= day - cfg.delay]
    fraud_days = [b.day for b in known if b.n_fraud > 0]
    if not fraud_days:
        return {"t_run_age": -1.0, "t_run_max_age": -1.0, "t_n_after": -1.0}
    last = max(fraud_days)
    genuine = [b.day for b in known if b.n - b.n_fraud > 0 and b.day <= last]
    if not genuine:
        start, max_age = day - cfg.lookback, float(cfg.lookback + 1)
    elif max(genuine) == last:
        start, max_age = last, float(day - last)
    else:
        start, max_age = max(genuine) + 1, float(day - max(genuine) - 1)
    run_start = min(d for d in fraud_days if d >= start)
    after = float(sum(b.n for b in known if b.day > last))
    return {"t_run_age": float(day - run_start), "t_run_max_age": max_age, "t_n_after": after}


def online_features(amount: float, when: datetime, customer_days: list[CustomerDay],
                    terminal_days: list[TerminalDay], config: FeatureConfig | None = None) -> np.ndarray:
    """The feature vector (in :data:`FEATURES` order) of a new transaction at naive time ``when``."""
    day = (when.date() - EPOCH_DATE).days
    raw = online_raw(amount, day, customer_days, terminal_days, config)
    columns = derive_arrays(raw, np.array([amount]), np.array([when.weekday()]),
                            np.array([when.hour + when.minute / 60.0]))
    return np.array([columns[name][0] for name in FEATURES], dtype=np.float64)


def online_day(when: datetime) -> int:
    """:func:`day_index` of one naive datetime, without pandas."""
    return (when.date() - EPOCH_DATE).days


def naive_utc(when: datetime) -> datetime:
    """``when`` as a naive UTC time: transactions are bucketed by the calendar day of their UTC time."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when
