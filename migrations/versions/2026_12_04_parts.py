"""spare parts: catalogue, suppliers and evaluations, stock per service centre, the append-only ledger,
use approvals, replenishment tasks, stock checks, monthly report runs (engine.desk.parts)

Revision ID: parts_0001
Revises: 20261123_0009
Create Date: 2026-12-04 08:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "parts_0001"
down_revision = "zones_0001"
branch_labels = None
depends_on = None

_OPEN = sa.text("status = 'open'")  # one open replenishment task per part and centre
# The ledger is append-only: the database itself refuses changing or deleting a booked movement.
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER part_movement_no_update BEFORE UPDATE ON part_movement "
    "BEGIN SELECT RAISE(ABORT, 'part_movement is append-only'); END",
    "CREATE TRIGGER part_movement_no_delete BEFORE DELETE ON part_movement "
    "BEGIN SELECT RAISE(ABORT, 'part_movement is append-only'); END",
]
_POSTGRES_TRIGGERS = [
    "CREATE FUNCTION part_movement_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'part_movement is append-only'; END $$",
    "CREATE TRIGGER part_movement_append_only BEFORE UPDATE OR DELETE ON part_movement "
    "FOR EACH ROW EXECUTE FUNCTION part_movement_append_only()",
]


def upgrade() -> None:
    op.create_table('service_centre',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('supplier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=50), nullable=True),
    sa.Column('created_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('part',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('unit_price_fen', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['supplier_id'], ['supplier.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('stock_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('checked_by', sa.String(length=100), nullable=False),
    sa.Column('checked_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centre.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('supplier_evaluation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('evaluated_by', sa.String(length=100), nullable=False),
    sa.Column('evaluated_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name='ck_supplier_evaluation_score'),
    sa.ForeignKeyConstraint(['supplier_id'], ['supplier.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('supplier_evaluation', schema=None) as batch_op:
        batch_op.create_index('ix_supplier_evaluation_supplier', ['supplier_id', 'id'], unique=False)

    op.create_table('part_movement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('unit_price_fen', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centre.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.ForeignKeyConstraint(['part_id'], ['part.id'], ),
    sa.ForeignKeyConstraint(['supplier_id'], ['supplier.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('part_movement', schema=None) as batch_op:
        batch_op.create_index('ix_part_movement_at', ['at'], unique=False)
        batch_op.create_index('ix_part_movement_instance', ['instance_id'], unique=False)
        batch_op.create_index('ix_part_movement_stock', ['part_id', 'centre_id', 'id'], unique=False)

    op.create_table('part_replenishment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opened_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', engine.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centre.id'], ),
    sa.ForeignKeyConstraint(['part_id'], ['part.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('part_replenishment', schema=None) as batch_op:
        batch_op.create_index('uq_part_replenishment_open', ['part_id', 'centre_id'], unique=True,
                              sqlite_where=_OPEN, postgresql_where=_OPEN)

    op.create_table('part_stock',
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('minimum', sa.Integer(), nullable=False),
    sa.Column('last_checked_at', engine.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('minimum >= 0', name='ck_part_stock_minimum'),
    sa.CheckConstraint('quantity >= 0', name='ck_part_stock_quantity'),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centre.id'], ),
    sa.ForeignKeyConstraint(['part_id'], ['part.id'], ),
    sa.PrimaryKeyConstraint('part_id', 'centre_id')
    )
    op.create_table('parts_report_run',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('started_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('month')
    )
    op.create_table('part_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('value_fen', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', engine.store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', engine.store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('movement_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity > 0', name='ck_part_approval_quantity'),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centre.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.ForeignKeyConstraint(['movement_id'], ['part_movement.id'], ),
    sa.ForeignKeyConstraint(['part_id'], ['part.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('part_approval', schema=None) as batch_op:
        batch_op.create_index('ix_part_approval_instance', ['instance_id', 'status'], unique=False)

    op.create_table('stock_count',
    sa.Column('check_id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('counted', sa.Integer(), nullable=False),
    sa.Column('ledger', sa.Integer(), nullable=False),
    sa.Column('movement_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['check_id'], ['stock_check.id'], ),
    sa.ForeignKeyConstraint(['movement_id'], ['part_movement.id'], ),
    sa.ForeignKeyConstraint(['part_id'], ['part.id'], ),
    sa.PrimaryKeyConstraint('check_id', 'part_id')
    )
    _ledger_triggers()


def _ledger_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRES_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS if dialect == "sqlite" else []:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER part_movement_append_only ON part_movement")
        op.execute("DROP FUNCTION part_movement_append_only()")
    op.drop_table('stock_count')
    with op.batch_alter_table('part_approval', schema=None) as batch_op:
        batch_op.drop_index('ix_part_approval_instance')

    op.drop_table('part_approval')
    op.drop_table('parts_report_run')
    op.drop_table('part_stock')
    with op.batch_alter_table('part_replenishment', schema=None) as batch_op:
        batch_op.drop_index('uq_part_replenishment_open', sqlite_where=_OPEN, postgresql_where=_OPEN)

    op.drop_table('part_replenishment')
    with op.batch_alter_table('part_movement', schema=None) as batch_op:
        batch_op.drop_index('ix_part_movement_stock')
        batch_op.drop_index('ix_part_movement_instance')
        batch_op.drop_index('ix_part_movement_at')

    op.drop_table('part_movement')
    with op.batch_alter_table('supplier_evaluation', schema=None) as batch_op:
        batch_op.drop_index('ix_supplier_evaluation_supplier')

    op.drop_table('supplier_evaluation')
    op.drop_table('stock_check')
    op.drop_table('part')
    op.drop_table('supplier')
    op.drop_table('service_centre')
