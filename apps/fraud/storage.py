"""Every query on the fraud app's tables (``apps.fraud.tables``).

Tables: per-day feature buckets of each customer and terminal (what the online features need:
counts, sums, maxima and known frauds per day, so scoring reads at most ~40 small rows per entity),
the transactions scored by ``POST /v1/score`` and the labels received for them.

Queries: the buckets a new transaction's features read, recording a scored transaction (it joins
its customer's and terminal's buckets of the day), labels (analyst reviews, chargebacks: they move
the fraud counts of the transaction's day, which the delayed terminal-risk windows read ``delay``
days later), the review queue, the dashboard, the labelled transactions for the next retrain, and
filling empty buckets from a history file before going live.
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from apps.fraud import features as F
from apps.fraud.tables import CustomerDay, Label, TerminalDay, Transaction
from lepton_shared.errors import ConflictError, NotFoundError, UserError
from lepton_shared.storage import session_scope

# -- queries ------------------------------------------------------------------
# Built once: constructing a SQLAlchemy statement costs more than running it on a small index lookup.
_CUSTOMER_DAYS = (select(CustomerDay.day, CustomerDay.n, CustomerDay.amount_sum, CustomerDay.amount_sq_sum,
                         CustomerDay.amount_max, CustomerDay.n_fraud)
                  .where(CustomerDay.customer_id == bindparam("key"), CustomerDay.day >= bindparam("first"),
                         CustomerDay.day <= bindparam("last")))
_TERMINAL_DAYS = (select(TerminalDay.day, TerminalDay.n, TerminalDay.n_fraud)
                  .where(TerminalDay.terminal_id == bindparam("key"), TerminalDay.day >= bindparam("first"),
                         TerminalDay.day <= bindparam("last")))
_SEEN = select(Transaction.transaction_id).where(Transaction.transaction_id.in_(bindparam("ids", expanding=True)))


def history(session: Session, customer_id: int, terminal_id: int, day: int,
            config: F.FeatureConfig) -> tuple[list[F.CustomerDay], list[F.TerminalDay]]:
    """The buckets the features of a transaction on ``day`` may read."""
    window = {"first": day - config.history_days, "last": day}
    conn = session.connection()  # Core, not ORM: these are plain rows, and the ORM layer doubles the cost
    cust = conn.execute(_CUSTOMER_DAYS, {"key": customer_id, **window}).all()
    term = conn.execute(_TERMINAL_DAYS, {"key": terminal_id, **window}).all()
    return ([F.CustomerDay(*row) for row in cust], [F.TerminalDay(*row) for row in term])


def features_for(session: Session, customer_id: int, terminal_id: int, amount: float, when: datetime,
                 config: F.FeatureConfig) -> np.ndarray:
    """The feature vector of a new transaction from the history stored before it."""
    when = F.naive_utc(when)
    cust, term = history(session, customer_id, terminal_id, F.online_day(when), config)
    return F.online_features(amount, when, cust, term, config)


@functools.cache
def _upsert_statement(dialect: str, table: Any, keys: tuple[str, ...], columns: tuple[str, ...],
                      maxima: tuple[str, ...]) -> Any:
    """``INSERT .. ON CONFLICT DO UPDATE`` adding to the bucket's columns (keeping the maximum of ``maxima``)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect_insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = dialect_insert(table).values({c: bindparam(c) for c in (*keys, *columns)})
    updates: dict[str, Any] = {}
    for col in columns:
        column = getattr(table, col)
        if col in maxima:
            updates[col] = case((stmt.excluded[col] > column, stmt.excluded[col]), else_=column)
        else:
            updates[col] = column + stmt.excluded[col]
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)


def _upsert(session: Session, table: Any, keys: dict[str, Any], values: dict[str, float],
            maxima: tuple[str, ...] = ()) -> None:
    """Add ``values`` to a bucket row (created when missing) in one statement, on SQLite and PostgreSQL."""
    stmt = _upsert_statement(session.get_bind().dialect.name, table, tuple(keys), tuple(values), maxima)
    session.connection().execute(stmt, {**keys, **values})


ALREADY_SCORED = "send each transaction once (use /v1/predict to score without recording)"


def check_new(session: Session, items: list[Any]) -> list[str]:
    """Ids for a batch of new transactions (generated when missing); a repeated id is a user error, one already
    stored a conflict (409). Concurrent requests can all pass this check: :func:`flush_new` catches the rest."""
    ids = [str(i.transaction_id) if i.transaction_id is not None else uuid.uuid4().hex for i in items]
    if len(set(ids)) != len(ids):
        raise UserError("the batch holds the same transaction_id twice; send each transaction once")
    seen = session.connection().scalars(_SEEN, {"ids": ids}).first()
    if seen is not None:
        raise ConflictError(f"transaction {seen} was already scored; {ALREADY_SCORED}")
    return ids


def flush_new(session: Session, ids: list[str]) -> None:
    """Write the stored transactions; an id that a concurrent request stored since :func:`check_new` is a 409
    (the unique index decides who was first), and the caller's transaction is rolled back whole."""
    try:
        session.flush()
    except IntegrityError:
        named = f"transaction {ids[0]}" if len(ids) == 1 else \
            f"one of the transactions {', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''}"
        raise ConflictError(f"{named} was already scored by a concurrent request; {ALREADY_SCORED}") from None


def add_to_history(session: Session, item: Any) -> None:
    """Count a transaction in its customer's and terminal's bucket of the day."""
    day = F.online_day(F.naive_utc(item.tx_datetime))
    amount = float(item.tx_amount)
    _upsert(session, CustomerDay, {"customer_id": item.customer_id, "day": day},
            {"n": 1.0, "amount_sum": amount, "amount_sq_sum": amount * amount, "amount_max": amount,
             "n_fraud": 0.0}, maxima=("amount_max",))
    _upsert(session, TerminalDay, {"terminal_id": item.terminal_id, "day": day}, {"n": 1.0, "n_fraud": 0.0})


def store(session: Session, item: Any, tx_id: str, output: dict[str, Any]) -> None:
    """Keep a scored transaction (for labels, the review queue and the dashboard)."""
    when = F.naive_utc(item.tx_datetime)
    session.add(Transaction(transaction_id=tx_id, tx_datetime=when, day=F.online_day(when),
                            customer_id=item.customer_id, terminal_id=item.terminal_id, amount=float(item.tx_amount),
                            score=output["score"], decision=output["decision"], reasons=output["reasons"],
                            model_version=output["model_version"]))


def record(session: Session, item: Any, output: dict[str, Any]) -> str:
    """Add one scored transaction to the buckets and the transaction table; returns its id."""
    tx_id = check_new(session, [item])[0]
    add_to_history(session, item)
    store(session, item, tx_id, output)
    flush_new(session, [tx_id])
    return tx_id


LABELS = {"fraud": 1, "legit": 0, "genuine": 0, "1": 1, "0": 0}


def apply_label(session: Session, transaction_id: str, label: str | int, source: str) -> dict[str, Any]:
    """Store a label; a change of label moves the fraud counts of the transaction's day."""
    value = LABELS.get(str(label).lower())
    if value is None:
        raise UserError(f"label {label!r} must be fraud or legit")
    tx = session.scalar(select(Transaction).where(Transaction.transaction_id == str(transaction_id)))
    if tx is None:
        raise NotFoundError(f"unknown transaction {transaction_id!r}: only scored transactions can be labelled")
    delta = float(value - (tx.label or 0))
    if delta:
        session.execute(update(CustomerDay)
                        .where(CustomerDay.customer_id == tx.customer_id, CustomerDay.day == tx.day)
                        .values(n_fraud=CustomerDay.n_fraud + delta))
        session.execute(update(TerminalDay)
                        .where(TerminalDay.terminal_id == tx.terminal_id, TerminalDay.day == tx.day)
                        .values(n_fraud=TerminalDay.n_fraud + delta))
    tx.label, tx.label_source, tx.labelled_at = value, source, datetime.now(UTC)
    session.add(Label(transaction_id=str(transaction_id), label=value, source=source))
    return {"transaction_id": str(transaction_id), "label": "fraud" if value else "legit", "source": source}


def review_queue(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """Unlabelled alerts (review or decline), riskiest first."""
    rows = session.scalars(select(Transaction).where(Transaction.decision.in_(["review", "decline"]),
                                                     Transaction.label.is_(None))
                           .order_by(Transaction.score.desc(), Transaction.id).limit(limit)).all()
    return [{"transaction_id": r.transaction_id, "tx_datetime": r.tx_datetime.isoformat(),
             "customer_id": r.customer_id, "terminal_id": r.terminal_id, "tx_amount": r.amount,
             "score": round(r.score, 4), "decision": r.decision, "reasons": r.reasons,
             "model_version": r.model_version} for r in rows]


def dashboard(session: Session) -> list[dict[str, Any]]:
    """Per day: transactions, alerts, labelled frauds, precision of labelled alerts, mean score."""
    alert = Transaction.decision.in_(["review", "decline"])
    rows = session.execute(
        select(Transaction.day, func.count(), func.sum(case((alert, 1), else_=0)),
               func.sum(case((Transaction.label == 1, 1), else_=0)),
               func.sum(case((alert & (Transaction.label == 1), 1), else_=0)),
               func.sum(case((alert & Transaction.label.is_not(None), 1), else_=0)),
               func.avg(Transaction.score))
        .group_by(Transaction.day).order_by(Transaction.day)).all()
    out = []
    for day, n, alerts, frauds, alert_frauds, alerts_labelled, mean_score in rows:
        out.append({"date": (F.EPOCH + pd.Timedelta(days=int(day))).strftime("%Y-%m-%d"), "transactions": int(n),
                    "alerts": int(alerts or 0), "labelled_frauds": int(frauds or 0),
                    "fraud_rate": (frauds or 0) / n,
                    "alert_precision": (alert_frauds / alerts_labelled) if alerts_labelled else None,
                    "mean_score": float(mean_score or 0.0)})
    return out


def feedback_frame(database_url: str | None = None) -> pd.DataFrame:
    """Labelled served transactions in the handbook's columns, for the next retrain."""
    with session_scope(database_url) as session:
        rows = session.execute(select(Transaction.id, Transaction.tx_datetime, Transaction.customer_id,
                                      Transaction.terminal_id, Transaction.amount, Transaction.label)
                               .where(Transaction.label.is_not(None)).order_by(Transaction.id)).all()
    frame = pd.DataFrame(rows, columns=["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT",
                                        "TX_FRAUD"])
    if len(frame):
        frame["TX_DATETIME"] = pd.to_datetime(frame["TX_DATETIME"])
        frame = frame.astype({"TRANSACTION_ID": np.int64, "CUSTOMER_ID": np.int64, "TERMINAL_ID": np.int64,
                              "TX_FRAUD": np.int64})
    return frame


def bootstrap(df: pd.DataFrame, until: pd.Timestamp | None = None, database_url: str | None = None) -> int:
    """Fill empty feature buckets from a transaction history (e.g. before going live); returns rows written.

    Labels in TX_FRAUD count as known; only transactions before ``until`` are used.
    """
    if until is not None:
        df = df[df["TX_DATETIME"] < until]
    day = F.day_index(df["TX_DATETIME"])
    amount = df["TX_AMOUNT"].to_numpy(np.float64)
    frame = pd.DataFrame({"customer_id": df["CUSTOMER_ID"].to_numpy(), "terminal_id": df["TERMINAL_ID"].to_numpy(),
                          "day": day, "amount": amount, "sq": amount**2, "fraud": df["TX_FRAUD"].to_numpy(float)})
    cust = frame.groupby(["customer_id", "day"]).agg(n=("amount", "size"), amount_sum=("amount", "sum"),
                                                     amount_sq_sum=("sq", "sum"), amount_max=("amount", "max"),
                                                     n_fraud=("fraud", "sum")).reset_index()
    term = frame.groupby(["terminal_id", "day"]).agg(n=("amount", "size"), n_fraud=("fraud", "sum")).reset_index()
    cust["n"] = cust["n"].astype(float)
    term["n"] = term["n"].astype(float)
    with session_scope(database_url) as session:
        if session.scalar(select(func.count()).select_from(CustomerDay)):
            raise UserError("the feature buckets are not empty; bootstrap only a fresh database")
        session.execute(insert(CustomerDay), _records(cust))
        session.execute(insert(TerminalDay), _records(term))
    return len(cust) + len(term)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python numbers (database drivers do not take numpy scalars)."""
    return [{str(k): v for k, v in row.items()} for row in frame.astype(object).to_dict("records")]
