"""Maintenance tables: sensor readings per machine.

Revision ID: maintenance_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "maintenance_0001"
down_revision = None
branch_labels = ("maintenance",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "maintenance_readings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("machine_id", sa.String(64), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("machine_id", "seq", name="uq_maintenance_readings_machine_seq"),
    )


def downgrade() -> None:
    op.drop_table("maintenance_readings")
