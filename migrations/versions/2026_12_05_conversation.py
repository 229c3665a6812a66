"""conversation on each request: request_comment (customer-visible replies and internal work notes)

Revision ID: conversation_0001
Revises: attachments_0001
Create Date: 2026-12-05 05:30:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "conversation_0001"
down_revision = "attachments_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", engine.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("request_comment", schema=None) as batch_op:
        batch_op.create_index("ix_request_comment_instance", ["instance_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("request_comment", schema=None) as batch_op:
        batch_op.drop_index("ix_request_comment_instance")
    op.drop_table("request_comment")
