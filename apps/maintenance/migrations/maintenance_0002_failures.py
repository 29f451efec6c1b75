"""Maintenance: failures reported per machine, the labels of its remaining-life estimates.

Revision ID: maintenance_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "maintenance_0002"
down_revision = "maintenance_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maintenance_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("machine_id", sa.String(64), nullable=False, index=True),
        sa.Column("at_reading", sa.Integer, nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("machine_id", "at_reading", name="uq_maintenance_failures_machine_reading"),
    )


def downgrade() -> None:
    op.drop_table("maintenance_failures")
