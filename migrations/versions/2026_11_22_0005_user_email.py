"""user e-mail address for optional escalation mail

Revision ID: 20261122_0005
Revises: 20261122_0004
Create Date: 2026-11-22 05:25:00
"""
import sqlalchemy as sa
from alembic import op

revision = "20261122_0005"
down_revision = "20261122_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("email")
