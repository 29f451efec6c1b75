"""The model input of each logged answer, for ``lepton models shadow`` to replay through a candidate version.

``model_input`` holds ``{"input": ...}`` (the validated request body, or the model-ready input where the
service resolved the request against the database; personal ids as pseudonyms) or ``{"skipped": reason}``
when the input was not kept (over ``LEPTON_LOG_INPUT_MAX_KB``). It is null for failed requests, for rows
written with ``LEPTON_LOG_INPUTS=0`` and for rows older than this revision.

Revision ID: 0005_prediction_log_inputs
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_prediction_log_inputs"
down_revision = "0004_prediction_log_monitoring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prediction_log") as table:
        table.add_column(sa.Column("model_input", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prediction_log") as table:
        table.drop_column("model_input")
