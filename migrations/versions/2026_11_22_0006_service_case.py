"""service_case: the service desk's case record; deadlines, resolution and chasing move off process_instance

Revision ID: 20261122_0006
Revises: 20261122_0005
Create Date: 2026-11-22 06:00:00

Columns are dropped and added with plain ALTER TABLE (SQLite 3.35+ drops columns itself): batch mode
would copy process_instance into a new table, which SQLite with foreign keys on refuses once task
records, timers and history rows refer to it.
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "20261122_0006"
down_revision = "20261122_0005"
branch_labels = None
depends_on = None

# The columns that move.
_DEADLINES = ("respond_due_at", "plan_due_at", "resolve_due_at", "emergency_plan_due_at", "fault_report_due_at",
              "resolved_at")
_MOVED = (*_DEADLINES, "chase_count", "is_complaint")


def _moment() -> engine.store.models.UTCDateTime:
    return engine.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "service_case",
        sa.Column("instance_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fault_level", sa.String(length=10), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("system", sa.String(length=200), nullable=True),
        sa.Column("device_type", sa.String(length=40), nullable=True),
        sa.Column("customer_type", sa.String(length=40), nullable=True),
        sa.Column("business_line", sa.String(length=40), nullable=True),
        sa.Column("zone", sa.String(length=200), nullable=True),
        sa.Column("opened_at", _moment(), nullable=False),
        sa.Column("responded_at", _moment(), nullable=True),
        sa.Column("resolved_at", _moment(), nullable=True),
        sa.Column("closed_at", _moment(), nullable=True),
        sa.Column("respond_due_at", _moment(), nullable=True),
        sa.Column("plan_due_at", _moment(), nullable=True),
        sa.Column("resolve_due_at", _moment(), nullable=True),
        sa.Column("emergency_plan_due_at", _moment(), nullable=True),
        sa.Column("fault_report_due_at", _moment(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("chase_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_complaint", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    moved = ", ".join(_MOVED)
    op.execute(f"INSERT INTO service_case (instance_id, fault_level, opened_at, closed_at, {moved}) "
               f"SELECT id, fault_level, started_at, ended_at, {moved} FROM process_instance")
    for name in _MOVED:
        op.drop_column("process_instance", name)


def downgrade() -> None:
    for name in _DEADLINES:
        op.add_column("process_instance", sa.Column(name, _moment(), nullable=True))
    op.add_column("process_instance", sa.Column("chase_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("process_instance", sa.Column("is_complaint", sa.Boolean(), server_default=sa.false(),
                                                nullable=False))
    assignments = ", ".join(f"{name} = c.{name}" for name in _MOVED)
    # UPDATE … FROM: PostgreSQL, and SQLite since 3.33.
    op.execute(f"UPDATE process_instance SET {assignments} FROM service_case AS c "
               "WHERE c.instance_id = process_instance.id")
    op.drop_table("service_case")
