"""service reports (seed 002): report schedules, reports, archived PDFs (immutable: triggers refuse
UPDATE and DELETE), quarterly customer callbacks

Revision ID: reportdoc_0001
Revises: 20261123_0009
Create Date: 2026-12-04 17:43:04
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models


revision = 'reportdoc_0001'
down_revision = 'parts_0001'
branch_labels = None
depends_on = None

# An archived document is never changed or deleted: a re-generation is a new version (engine.desk.report_archive).
_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER report_document_no_update BEFORE UPDATE ON report_document BEGIN "
        "SELECT RAISE(ABORT, 'report_document is immutable: archive a new version instead'); END",
        "CREATE TRIGGER report_document_no_delete BEFORE DELETE ON report_document BEGIN "
        "SELECT RAISE(ABORT, 'report_document is immutable: archived reports are never deleted'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION report_document_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'report_document is immutable: archive a new version instead'; END $$",
        "CREATE TRIGGER report_document_no_update BEFORE UPDATE ON report_document "
        "FOR EACH ROW EXECUTE FUNCTION report_document_immutable()",
        "CREATE TRIGGER report_document_no_delete BEFORE DELETE ON report_document "
        "FOR EACH ROW EXECUTE FUNCTION report_document_immutable()",
    ],
}
_DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER report_document_no_update", "DROP TRIGGER report_document_no_delete"],
    "postgresql": ["DROP TRIGGER report_document_no_update ON report_document",
                   "DROP TRIGGER report_document_no_delete ON report_document",
                   "DROP FUNCTION report_document_immutable()"],
}


def upgrade() -> None:
    op.create_table('report_callback_round',
    sa.Column('quarter', sa.String(length=7), nullable=False),
    sa.Column('drawn_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sampled', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('quarter')
    )
    op.create_table('report_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_class', sa.String(length=40), nullable=False),
    sa.Column('cycle', sa.String(length=20), nullable=False),
    sa.Column('contract', sa.String(length=200), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=True),
    sa.Column('device_type', sa.String(length=40), nullable=True),
    sa.Column('customer_type', sa.String(length=40), nullable=True),
    sa.Column('business_line', sa.String(length=40), nullable=True),
    sa.Column('due_days', sa.Integer(), nullable=False),
    sa.Column('next_period_start', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_class', 'cycle', 'contract')
    )
    op.create_table('service_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_class', sa.String(length=40), nullable=False),
    sa.Column('cycle', sa.String(length=20), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('period_start', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_end', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('contract', sa.String(length=200), nullable=True),
    sa.Column('customer', sa.String(length=200), nullable=True),
    sa.Column('device_type', sa.String(length=40), nullable=True),
    sa.Column('customer_type', sa.String(length=40), nullable=True),
    sa.Column('business_line', sa.String(length=40), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=True),
    sa.Column('commentary', sa.Text(), nullable=True),
    sa.Column('commentary_by', sa.String(length=100), nullable=True),
    sa.Column('submitted_at', engine.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('late_reason', sa.Text(), nullable=True),
    sa.Column('reviewer', sa.String(length=100), nullable=True),
    sa.Column('review_outcome', sa.String(length=20), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('archived_at', engine.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('archived_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.ForeignKeyConstraint(['schedule_id'], ['report_schedule.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('schedule_id', 'period_start')
    )
    with op.batch_alter_table('service_report', schema=None) as batch_op:
        batch_op.create_index('ix_service_report_status_due', ['status', 'due_at'], unique=False)

    op.create_table('report_callback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.String(length=7), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('reached', sa.Boolean(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('done_at', engine.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.ForeignKeyConstraint(['quarter'], ['report_callback_round.quarter'], ),
    sa.ForeignKeyConstraint(['report_id'], ['service_report.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('quarter', 'report_id')
    )
    op.create_table('report_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['service_report.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_id', 'version')
    )
    for statement in _TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    for statement in _DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table('report_document')
    op.drop_table('report_callback')
    with op.batch_alter_table('service_report', schema=None) as batch_op:
        batch_op.drop_index('ix_service_report_status_due')

    op.drop_table('service_report')
    op.drop_table('report_schedule')
    op.drop_table('report_callback_round')
