"""Drop the shared ``feedback`` table: no app wrote to it; each app keeps its own (``chatbot_feedback``).

Revision ID: 0002_drop_feedback
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_drop_feedback"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("feedback")


def downgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("app", sa.String(64), nullable=False, index=True),
        sa.Column("prediction_id", sa.Integer, sa.ForeignKey("prediction_log.id"), nullable=True),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("label", sa.String(128), nullable=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
