"""notifications: the outbox (notification) and each user's opt-outs (notification_opt_out)

Revision ID: notify_0001
Revises: conversation_0001
Create Date: 2026-12-05 06:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "notify_0001"
down_revision = "conversation_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("created_at", engine.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", engine.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("email_state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", engine.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", engine.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_user", ["username", "id"], unique=False)
        batch_op.create_index("ix_notification_due", ["email_state", "next_attempt_at"], unique=False)
    op.create_table(
        "notification_opt_out",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("username", "kind", "channel"),
    )


def downgrade() -> None:
    op.drop_table("notification_opt_out")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_due")
        batch_op.drop_index("ix_notification_user")
    op.drop_table("notification")
