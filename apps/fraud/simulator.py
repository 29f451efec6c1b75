"""A transaction simulator after the *Fraud Detection Handbook* (Le Borgne et al., chapter 3).

Customers and terminals live on a 100 x 100 grid; a customer pays at terminals
within ``radius`` of home, a Poisson number of times a day, amounts drawn around
their own mean. Three fraud scenarios are injected as in the handbook:

1. every amount above 220 is fraud (a trivial pattern any model should catch);
2. each day a few terminals are compromised: all their transactions of the next
   28 days are fraud (needs terminal risk features);
3. each day a few customers' credentials leak: over the next 14 days a third of
   their transactions are fraud with the amount multiplied by 5 (needs the
   customer's own spending history).

Everything is vectorised numpy so the built-in data generates in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

COLUMNS = ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD",
           "TX_FRAUD_SCENARIO"]


@dataclass(frozen=True)
class SimulationConfig:
    """Size and fraud rates; the defaults are the handbook's except the size.

    ``compromised_terminals_per_day`` / ``compromised_customers_per_day`` default
    to the handbook's rates per 10 000 terminals / 5 000 customers, scaled to the size.
    """

    n_customers: int = 1000
    n_terminals: int = 2000
    n_days: int = 52
    start_date: str = "2018-04-01"
    radius: float = 5.0
    seed: int = 0
    compromised_terminals_per_day: float | None = None
    compromised_customers_per_day: float | None = None

    @property
    def terminals_per_day(self) -> float:
        if self.compromised_terminals_per_day is not None:
            return self.compromised_terminals_per_day
        return 2.0 * self.n_terminals / 10_000

    @property
    def customers_per_day(self) -> float:
        if self.compromised_customers_per_day is not None:
            return self.compromised_customers_per_day
        return 3.0 * self.n_customers / 5_000


def _daily_count(rng: np.random.Generator, rate: float) -> int:
    """Integer count with mean ``rate`` (rates below one still happen some days)."""
    base = int(rate)
    return base + int(rng.random() < rate - base)


def simulate(config: SimulationConfig | None = None) -> pd.DataFrame:
    """Simulated transactions with the handbook's columns, sorted by time."""
    cfg = config or SimulationConfig()
    rng = np.random.default_rng(cfg.seed)
    # customer and terminal profiles
    cust_xy = rng.uniform(0, 100, size=(cfg.n_customers, 2))
    mean_amount = rng.uniform(5, 100, size=cfg.n_customers)
    std_amount = mean_amount / 2
    tx_per_day = rng.uniform(0, 4, size=cfg.n_customers)
    term_xy = rng.uniform(0, 100, size=(cfg.n_terminals, 2))
    # terminals within the radius of each customer (CSR-style lists)
    dist2 = ((cust_xy[:, None, :] - term_xy[None, :, :]) ** 2).sum(axis=2)
    near_c, near_t = np.nonzero(dist2 < cfg.radius**2)
    n_near = np.bincount(near_c, minlength=cfg.n_customers)
    offsets = np.concatenate([[0], np.cumsum(n_near)[:-1]])
    # daily transactions
    counts = rng.poisson(tx_per_day[:, None], size=(cfg.n_customers, cfg.n_days))
    counts[n_near == 0] = 0
    cust, day = np.nonzero(counts)
    reps = counts[cust, day]
    cust, day = np.repeat(cust, reps), np.repeat(day, reps)
    seconds = rng.normal(86400 / 2, 20000, size=len(cust))
    keep = (seconds > 0) & (seconds < 86400)
    cust, day, seconds = cust[keep], day[keep], seconds[keep].astype(np.int64)
    amount = rng.normal(mean_amount[cust], std_amount[cust])
    negative = amount < 0
    amount[negative] = rng.uniform(0, 2 * mean_amount[cust[negative]])
    amount = np.round(amount, 2)
    pick = (rng.random(len(cust)) * n_near[cust]).astype(np.int64)
    terminal = near_t[offsets[cust] + pick]
    order = np.lexsort((seconds, day))
    cust, day, seconds, amount, terminal = cust[order], day[order], seconds[order], amount[order], terminal[order]
    scenario = np.zeros(len(cust), dtype=np.int64)
    # scenario 1: amounts above 220
    scenario[amount > 220] = 1
    # scenario 2: compromised terminals, all their transactions for 28 days
    for d in range(cfg.n_days):
        bad = rng.choice(cfg.n_terminals, size=_daily_count(rng, cfg.terminals_per_day), replace=False)
        hit = np.isin(terminal, bad) & (day >= d) & (day < d + 28) & (scenario == 0)
        scenario[hit] = 2
    # scenario 3: compromised customers, a third of their transactions for 14 days, amount x5
    for d in range(cfg.n_days):
        bad = rng.choice(cfg.n_customers, size=_daily_count(rng, cfg.customers_per_day), replace=False)
        idx = np.flatnonzero(np.isin(cust, bad) & (day >= d) & (day < d + 14))
        chosen = rng.choice(idx, size=len(idx) // 3, replace=False) if len(idx) else idx
        chosen = chosen[scenario[chosen] == 0]
        amount[chosen] = np.round(amount[chosen] * 5, 2)
        scenario[chosen] = 3
    start = pd.Timestamp(cfg.start_date)
    datetimes = start + pd.to_timedelta(day * 86400 + seconds, unit="s")
    return pd.DataFrame({
        "TRANSACTION_ID": np.arange(len(cust), dtype=np.int64),
        "TX_DATETIME": datetimes,
        "CUSTOMER_ID": cust.astype(np.int64),
        "TERMINAL_ID": terminal.astype(np.int64),
        "TX_AMOUNT": amount,
        "TX_FRAUD": (scenario > 0).astype(np.int64),
        "TX_FRAUD_SCENARIO": scenario,
    })


def builtin_config(tiny: bool = False, seed: int = 0) -> SimulationConfig:
    """The built-in data set: 52 days (enough for the default protocol), small or tiny."""
    if tiny:
        return SimulationConfig(n_customers=300, n_terminals=600, n_days=52, seed=seed)
    return SimulationConfig(n_customers=2500, n_terminals=5000, n_days=52, seed=seed)



#: The stream a page replays: a small shop of its own (a seed the built-in training data does not use), with
#: compromises about ten times as frequent as the handbook's so that a few minutes' replay shows each scenario.
STREAM = SimulationConfig(n_customers=50, n_terminals=100, n_days=21, seed=2026, compromised_terminals_per_day=0.5,
                          compromised_customers_per_day=0.5)


def demo_stream(days: int = STREAM.n_days) -> pd.DataFrame:
    """``days`` of the stream's payments in time order (about 50 a day), the same every time so a replay
    repeats. Replayed from its first day, it gives the service the customers' and terminals' history that the
    model's features read, so the frauds of the later days are there to be caught."""
    return simulate(replace(STREAM, n_days=days))


def as_requests(frame: pd.DataFrame, id_prefix: str) -> list[dict[str, object]]:
    """Simulated payments as the service's ``/v1/score`` bodies, ids prefixed (the service records an id once)."""
    return [{"transaction_id": f"{id_prefix}{row['TRANSACTION_ID']}", "tx_datetime": row["TX_DATETIME"].isoformat(),
             "customer_id": int(row["CUSTOMER_ID"]), "terminal_id": int(row["TERMINAL_ID"]),
             "tx_amount": float(row["TX_AMOUNT"])} for row in frame.to_dict("records")]
