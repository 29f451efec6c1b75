"""Imaging tables: the audit trail of diagnosed studies.

Revision ID: imaging_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "imaging_0001"
down_revision = None
branch_labels = ("imaging",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "imaging_studies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("input_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("file_format", sa.String(16), nullable=False),
        sa.Column("study_uid", sa.String(128), nullable=True),
        sa.Column("series_uid", sa.String(128), nullable=True),
        sa.Column("patient_hash", sa.String(64), nullable=True),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("positive_probability", sa.Float, nullable=False),
        sa.Column("probabilities", sa.JSON, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("review_status", sa.String(16), nullable=False, index=True),
        sa.Column("reviewer", sa.String(128), nullable=True),
        sa.Column("reviewed_label", sa.String(64), nullable=True),
        sa.Column("review_note", sa.Text, nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("imaging_studies")
