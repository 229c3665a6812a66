"""user_admin_log: what user administrators did (who, when, what, on whom, before and after)

Revision ID: 20261123_0009
Revises: 20261123_0008
Create Date: 2026-11-22 08:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "20261123_0009"
down_revision = "20261123_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_admin_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", engine.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user_admin_log", schema=None) as batch_op:
        batch_op.create_index("ix_user_admin_log_username", ["username"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_admin_log", schema=None) as batch_op:
        batch_op.drop_index("ix_user_admin_log_username")
    op.drop_table("user_admin_log")
