"""Monitoring columns of ``prediction_log``: the answer's HTTP status and its monitored features.

``status`` lets ``lepton monitor`` count failed answers (the service logs a row for a failed request to a
model endpoint too); rows written before this revision were all answers, 200. ``features`` holds the app
monitor's features of the request (numbers and short labels, no identifiers); older rows have none.

Revision ID: 0004_prediction_log_monitoring
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_prediction_log_monitoring"
down_revision = "0003_promotion_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prediction_log") as table:
        table.add_column(sa.Column("status", sa.Integer, nullable=False, server_default="200"))
        table.add_column(sa.Column("features", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prediction_log") as table:
        table.drop_column("features")
        table.drop_column("status")
