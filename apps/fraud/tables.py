"""The fraud app's tables, apart from the queries on them in ``apps.fraud.storage``.

Apart because the queries import the feature code, and with it pandas: ``lepton monitor`` reads the
scored transactions and their labels, and should not pay pandas' import on every run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lepton_shared.storage import Base
from lepton_shared.storage.models import utcnow


class CustomerDay(Base):
    """One customer's transactions of one day: count, amount sum, sum of squares and maximum, known frauds."""

    __tablename__ = "fraud_customer_days"

    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[float] = mapped_column(Float, default=0.0)
    amount_sum: Mapped[float] = mapped_column(Float, default=0.0)
    amount_sq_sum: Mapped[float] = mapped_column(Float, default=0.0)
    amount_max: Mapped[float] = mapped_column(Float, default=0.0)
    n_fraud: Mapped[float] = mapped_column(Float, default=0.0)


class TerminalDay(Base):
    """One terminal's transactions of one day: count and known frauds."""

    __tablename__ = "fraud_terminal_days"

    terminal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[float] = mapped_column(Float, default=0.0)
    n_fraud: Mapped[float] = mapped_column(Float, default=0.0)


class Transaction(Base):
    """A transaction scored by ``POST /v1/score``, its decision, and its label once known."""

    __tablename__ = "fraud_transactions"
    __table_args__ = (Index("ix_fraud_transactions_queue", "decision", "label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    tx_datetime: Mapped[datetime] = mapped_column(DateTime)
    day: Mapped[int] = mapped_column(Integer, index=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, index=True)
    terminal_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    model_version: Mapped[str] = mapped_column(String(32), default="")
    label: Mapped[int | None] = mapped_column(Integer, nullable=True)
    label_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    labelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Label(Base):
    """Every label received (analyst review or chargeback), kept as history."""

    __tablename__ = "fraud_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
