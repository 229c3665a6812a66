"""initial schema: definitions, instances, tasks, history, users

Revision ID: 20261122_0001
Revises: 
Create Date: 2026-11-22 03:50:56.608468
"""
from alembic import op
import sqlalchemy as sa
import engine.store.models


revision = '20261122_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_group',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('process_definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('start_form_key', sa.String(length=100), nullable=True),
    sa.Column('deployed_by', sa.String(length=100), nullable=True),
    sa.Column('deployed_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('process_id', 'version')
    )
    op.create_table('membership',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['app_group.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'group_id')
    )
    op.create_table('process_instance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('fault_level', sa.String(length=10), nullable=True),
    sa.Column('started_by', sa.String(length=100), nullable=True),
    sa.Column('started_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', engine.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('workflow_state', sa.Text(), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('last_event_seq', sa.Integer(), nullable=False),
    sa.Column('last_event_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_instance_definition', ['definition_id'], unique=False)
        batch_op.create_index('ix_instance_status', ['status'], unique=False)

    op.create_table('history_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('task_record_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('instance_id', 'seq')
    )
    op.create_table('task_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('lane', sa.String(length=200), nullable=True),
    sa.Column('candidate_group', sa.String(length=100), nullable=True),
    sa.Column('form_key', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('due_at', engine.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', engine.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('task_record', schema=None) as batch_op:
        batch_op.create_index('ix_task_assignee_state', ['assignee', 'state'], unique=False)
        batch_op.create_index('ix_task_instance', ['instance_id'], unique=False)
        batch_op.create_index('ix_task_state_group', ['state', 'candidate_group'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('task_record', schema=None) as batch_op:
        batch_op.drop_index('ix_task_state_group')
        batch_op.drop_index('ix_task_instance')
        batch_op.drop_index('ix_task_assignee_state')

    op.drop_table('task_record')
    op.drop_table('history_event')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_status')
        batch_op.drop_index('ix_instance_definition')

    op.drop_table('process_instance')
    op.drop_table('membership')
    op.drop_table('process_definition')
    op.drop_table('app_user')
    op.drop_table('app_group')
