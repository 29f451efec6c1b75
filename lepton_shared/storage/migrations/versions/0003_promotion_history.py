"""Promotion history: who made a version production, why, and the key metric of both versions.

``model_promotions`` already held every promotion and rollback (rollback reads it); these columns make
each row an audit record. Rows written before this revision keep empty text and no metric values.

Revision ID: 0003_promotion_history
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_promotion_history"
down_revision = "0002_drop_feedback"
branch_labels = None
depends_on = None

COLUMNS = ("actor", "reason", "previous_version", "metric", "value", "previous_value")


def upgrade() -> None:
    with op.batch_alter_table("model_promotions") as table:
        table.add_column(sa.Column("actor", sa.String(128), nullable=False, server_default=""))
        table.add_column(sa.Column("reason", sa.Text, nullable=False, server_default=""))
        table.add_column(sa.Column("previous_version", sa.String(32), nullable=True))
        table.add_column(sa.Column("metric", sa.String(64), nullable=False, server_default=""))
        table.add_column(sa.Column("value", sa.Float, nullable=True))
        table.add_column(sa.Column("previous_value", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_promotions") as table:
        for name in reversed(COLUMNS):
            table.drop_column(name)
