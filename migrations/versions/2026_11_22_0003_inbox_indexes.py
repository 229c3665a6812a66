"""inbox indexes: task pages in (due_at, id) order per group, assignee and state; cases by starter and
by process and fault level (the inbox filters)

Revision ID: 20261122_0003
Revises: 20261122_0002
Create Date: 2026-11-22 06:00:00
"""
from alembic import op


revision = '20261122_0003'
down_revision = '20261122_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The new group and assignee indexes start with the old ones' columns, so they replace them.
    with op.batch_alter_table('task_record', schema=None) as batch_op:
        batch_op.drop_index('ix_task_state_group')
        batch_op.drop_index('ix_task_assignee_state')
        # instance_id last: the inbox's process and fault-level filters are checked inside the index.
        batch_op.create_index('ix_task_inbox_group',
                              ['state', 'candidate_group', 'assignee', 'due_at', 'id', 'instance_id'], unique=False)
        batch_op.create_index('ix_task_inbox_assignee', ['assignee', 'state', 'due_at', 'id', 'instance_id'],
                              unique=False)
        batch_op.create_index('ix_task_state_due', ['state', 'due_at', 'id', 'instance_id'], unique=False)
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_instance_started_by', ['started_by', 'id'], unique=False)
        batch_op.create_index('ix_instance_process_level', ['process_id', 'fault_level'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_process_level')
        batch_op.drop_index('ix_instance_started_by')
    with op.batch_alter_table('task_record', schema=None) as batch_op:
        batch_op.drop_index('ix_task_state_due')
        batch_op.drop_index('ix_task_inbox_assignee')
        batch_op.drop_index('ix_task_inbox_group')
        batch_op.create_index('ix_task_assignee_state', ['assignee', 'state'], unique=False)
        batch_op.create_index('ix_task_state_group', ['state', 'candidate_group'], unique=False)
