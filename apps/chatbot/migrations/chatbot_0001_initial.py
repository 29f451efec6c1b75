"""chatbot tables: sessions, messages, feedback, handoffs.

Revision ID: chatbot_0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "chatbot_0001"
down_revision = None
branch_labels = ("chatbot",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "chatbot_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("low_confidence_streak", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("model_version", sa.String(32), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "chatbot_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("chatbot_sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(128), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("source", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chatbot_messages_session_id", "chatbot_messages", ["session_id"])
    op.create_index("ix_chatbot_messages_created_at", "chatbot_messages", ["created_at"])
    op.create_table(
        "chatbot_feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("chatbot_messages.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=True),
        sa.Column("correct_intent", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chatbot_feedback_message_id", "chatbot_feedback", ["message_id"])
    op.create_index("ix_chatbot_feedback_created_at", "chatbot_feedback", ["created_at"])
    op.create_table(
        "chatbot_handoffs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("chatbot_sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="waiting"),
        sa.Column("transcript", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chatbot_handoffs_session_id", "chatbot_handoffs", ["session_id"])
    op.create_index("ix_chatbot_handoffs_status", "chatbot_handoffs", ["status"])
    op.create_index("ix_chatbot_handoffs_created_at", "chatbot_handoffs", ["created_at"])


def downgrade() -> None:
    op.drop_table("chatbot_handoffs")
    op.drop_table("chatbot_feedback")
    op.drop_table("chatbot_messages")
    op.drop_table("chatbot_sessions")
