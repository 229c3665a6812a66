"""sla_policy per process and on a calendar: (process_id, fault_level) key, calendar and working hours

Revision ID: slacal_0001
Revises: 20261123_0009
Create Date: 2026-12-04 18:00:00

The existing rows become the 服务台 (service_desk) policy; the other processes get the same targets
to start with (a process owner tunes them on the SLA page). Every policy starts on the 7×24 calendar
(seed 001 §5.4, §6.1), working hours 09:00-18:00 for when it is switched to the working calendar.
The downgrade keeps the service_desk rows only.
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "slacal_0001"
down_revision = "complaint_0001"
branch_labels = None
depends_on = None

_DURATIONS = ("respond_seconds", "plan_seconds", "resolve_seconds", "emergency_plan_after_seconds",
              "emergency_plan_due_seconds", "fault_report_seconds")
_KEPT = ("fault_level", "name_zh", "name_en", *_DURATIONS, "warn_ratio", "updated_by", "updated_at")
_OTHER_PROCESSES = ("emergency", "third_party", "other_service", "problem_management", "software_adjustment")


def _columns(with_process: bool) -> list[sa.Column]:
    columns = [
        sa.Column("fault_level", sa.String(length=10), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("respond_seconds", sa.Integer(), nullable=False),
        sa.Column("plan_seconds", sa.Integer(), nullable=False),
        sa.Column("resolve_seconds", sa.Integer(), nullable=False),
        sa.Column("warn_ratio", sa.Double(), nullable=False),
        sa.Column("emergency_plan_after_seconds", sa.Integer(), nullable=True),
        sa.Column("emergency_plan_due_seconds", sa.Integer(), nullable=True),
        sa.Column("fault_report_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.Column("updated_at", engine.store.models.UTCDateTime(timezone=True), nullable=True),
    ]
    if with_process:
        return [sa.Column("process_id", sa.String(length=100), nullable=False), *columns,
                sa.Column("calendar", sa.String(length=20), nullable=False),
                sa.Column("work_start", sa.String(length=5), nullable=False),
                sa.Column("work_end", sa.String(length=5), nullable=False),
                sa.PrimaryKeyConstraint("process_id", "fault_level")]
    return [*columns, sa.PrimaryKeyConstraint("fault_level")]


def _move(with_process: bool, copy: str) -> None:
    """A new sla_policy in place of the old one (the primary key changes: SQLite cannot alter it)."""
    op.create_table("sla_policy_new", *_columns(with_process))
    op.execute(copy)
    op.drop_table("sla_policy")
    op.rename_table("sla_policy_new", "sla_policy")
    if op.get_bind().dialect.name == "postgresql":  # its key keeps the new table's name otherwise
        op.execute("ALTER TABLE sla_policy RENAME CONSTRAINT sla_policy_new_pkey TO sla_policy_pkey")


def upgrade() -> None:
    kept = ", ".join(_KEPT)
    _move(True, f"INSERT INTO sla_policy_new (process_id, {kept}, calendar, work_start, work_end) "
                f"SELECT 'service_desk', {kept}, '7x24', '09:00', '18:00' FROM sla_policy")
    copied = ", ".join(c for c in _KEPT if c not in ("updated_by", "updated_at"))
    for process_id in _OTHER_PROCESSES:
        op.execute(f"INSERT INTO sla_policy (process_id, {copied}, calendar, work_start, work_end) "
                   f"SELECT '{process_id}', {copied}, '7x24', '09:00', '18:00' FROM sla_policy "
                   f"WHERE process_id = 'service_desk'")


def downgrade() -> None:
    kept = ", ".join(_KEPT)
    _move(False, f"INSERT INTO sla_policy_new ({kept}) SELECT {kept} FROM sla_policy "
                 f"WHERE process_id = 'service_desk'")
