"""timers, SLA policy and deadlines, chasing, health-check schedules, access log

Revision ID: 20261122_0002
Revises: 20261122_0001
Create Date: 2026-11-22 04:08:13.918749
"""
from alembic import op
import sqlalchemy as sa
import engine.store.models


revision = '20261122_0002'
down_revision = '20261122_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index('ix_access_instance', ['instance_id'], unique=False)

    op.create_table('health_check_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract', sa.String(length=200), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('cycle', sa.String(length=100), nullable=False),
    sa.Column('next_due_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract')
    )
    op.create_table('sla_policy',
    sa.Column('fault_level', sa.String(length=10), nullable=False),
    sa.Column('name_zh', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('respond_minutes', sa.Integer(), nullable=False),
    sa.Column('plan_minutes', sa.Integer(), nullable=False),
    sa.Column('resolve_minutes', sa.Integer(), nullable=False),
    sa.Column('warn_ratio', sa.Double(), nullable=False),
    sa.Column('emergency_plan_after_minutes', sa.Integer(), nullable=True),
    sa.Column('emergency_plan_due_minutes', sa.Integer(), nullable=True),
    sa.Column('fault_report_minutes', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=True),
    sa.Column('updated_at', engine.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('fault_level')
    )
    op.create_table('timer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('due_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', engine.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('fired_by', sa.String(length=100), nullable=True),
    sa.Column('late_ms', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.create_index('ix_timer_instance', ['instance_id'], unique=False)
        batch_op.create_index('ix_timer_status_due', ['status', 'due_at'], unique=False)

    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('respond_due_at', engine.store.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('plan_due_at', engine.store.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolve_due_at', engine.store.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('emergency_plan_due_at', engine.store.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('fault_report_due_at', engine.store.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', engine.store.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('chase_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('is_complaint', sa.Boolean(), server_default=sa.false(), nullable=False))


    # The SLA table of seed 001 §4.1 (minutes); level I also has the 12 h / 16 h emergency-plan rule.
    policy = sa.table("sla_policy", *(sa.column(name) for name in (
        "fault_level", "name_zh", "name_en", "respond_minutes", "plan_minutes", "resolve_minutes", "warn_ratio",
        "emergency_plan_after_minutes", "emergency_plan_due_minutes", "fault_report_minutes")))
    op.bulk_insert(policy, [
        dict(fault_level="I", name_zh="紧急", name_en="Critical", respond_minutes=30, plan_minutes=2 * 60,
             resolve_minutes=24 * 60, warn_ratio=0.8, emergency_plan_after_minutes=12 * 60,
             emergency_plan_due_minutes=16 * 60, fault_report_minutes=24 * 60),
        dict(fault_level="II", name_zh="严重", name_en="Major", respond_minutes=30, plan_minutes=24 * 60,
             resolve_minutes=3 * 24 * 60, warn_ratio=0.8, emergency_plan_after_minutes=None,
             emergency_plan_due_minutes=None, fault_report_minutes=24 * 60),
        dict(fault_level="III", name_zh="较严重", name_en="Minor", respond_minutes=30, plan_minutes=48 * 60,
             resolve_minutes=3 * 24 * 60, warn_ratio=0.8, emergency_plan_after_minutes=None,
             emergency_plan_due_minutes=None, fault_report_minutes=24 * 60),
        dict(fault_level="IV", name_zh="普通", name_en="Normal", respond_minutes=30, plan_minutes=5 * 24 * 60,
             resolve_minutes=5 * 24 * 60, warn_ratio=0.8, emergency_plan_after_minutes=None,
             emergency_plan_due_minutes=None, fault_report_minutes=24 * 60),
    ])

def downgrade() -> None:
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_column('is_complaint')
        batch_op.drop_column('chase_count')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('fault_report_due_at')
        batch_op.drop_column('emergency_plan_due_at')
        batch_op.drop_column('resolve_due_at')
        batch_op.drop_column('plan_due_at')
        batch_op.drop_column('respond_due_at')

    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index('ix_timer_status_due')
        batch_op.drop_index('ix_timer_instance')

    op.drop_table('timer')
    op.drop_table('sla_policy')
    op.drop_table('health_check_schedule')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_access_instance')

    op.drop_table('access_log')
