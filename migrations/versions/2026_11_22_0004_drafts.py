"""process drafts: the modeler's unfinished diagrams, one per process and user

Revision ID: 20261122_0004
Revises: 20261122_0003
Create Date: 2026-11-22 08:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = '20261122_0004'
down_revision = '20261122_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('process_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=200), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('xml', sa.Text(), nullable=False),
    sa.Column('saved_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('process_id', 'username')
    )


def downgrade() -> None:
    op.drop_table('process_draft')
