"""Fraud app tables: feature buckets, scored transactions, labels.

Revision ID: fraud_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "fraud_0001"
down_revision = None
branch_labels = ("fraud",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "fraud_customer_days",
        sa.Column("customer_id", sa.BigInteger, primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("n", sa.Float, nullable=False),
        sa.Column("amount_sum", sa.Float, nullable=False),
        sa.Column("amount_sq_sum", sa.Float, nullable=False),
        sa.Column("amount_max", sa.Float, nullable=False),
        sa.Column("n_fraud", sa.Float, nullable=False),
    )
    op.create_table(
        "fraud_terminal_days",
        sa.Column("terminal_id", sa.BigInteger, primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("n", sa.Float, nullable=False),
        sa.Column("n_fraud", sa.Float, nullable=False),
    )
    op.create_table(
        "fraud_transactions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("transaction_id", sa.String(64), nullable=False, unique=True),
        sa.Column("tx_datetime", sa.DateTime, nullable=False),
        sa.Column("day", sa.Integer, nullable=False, index=True),
        sa.Column("customer_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("terminal_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("label", sa.Integer, nullable=True),
        sa.Column("label_source", sa.String(16), nullable=True),
        sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_fraud_transactions_queue", "fraud_transactions", ["decision", "label"])
    op.create_table(
        "fraud_labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("transaction_id", sa.String(64), nullable=False, index=True),
        sa.Column("label", sa.Integer, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_fraud_transactions_queue", table_name="fraud_transactions")
    for table in ("fraud_labels", "fraud_transactions", "fraud_terminal_days", "fraud_customer_days"):
        op.drop_table(table)
