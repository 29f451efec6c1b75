"""Recommender tables: interactions posted to the service (``recommender_events``).

Revision ID: recommender_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "recommender_0001"
down_revision = None
branch_labels = ("recommender",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "recommender_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.String(128), nullable=False, index=True),
        sa.Column("item_id", sa.String(128), nullable=False, index=True),
        sa.Column("weight", sa.Float, nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("recommender_events")
