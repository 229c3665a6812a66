"""sla_policy durations in seconds (drills and tests may give seconds; whole minutes stay the usual)

Revision ID: 20261122_0007
Revises: 20261122_0006
Create Date: 2026-11-22 07:00:00

Each *_minutes column becomes *_seconds holding sixty times the value. The downgrade rounds
sub-minute durations up to whole minutes (never to 0, which would mean "due at once").
"""
import sqlalchemy as sa
from alembic import op

revision = "20261122_0007"
down_revision = "20261122_0006"
branch_labels = None
depends_on = None

_TARGETS = ("respond", "plan", "resolve", "emergency_plan_after", "emergency_plan_due", "fault_report")
_OPTIONAL = ("emergency_plan_after", "emergency_plan_due")


def _rename(old_unit: str, new_unit: str) -> None:
    with op.batch_alter_table("sla_policy", schema=None) as batch_op:
        for target in _TARGETS:
            batch_op.alter_column(f"{target}_{old_unit}", new_column_name=f"{target}_{new_unit}",
                                  existing_type=sa.Integer(), existing_nullable=target in _OPTIONAL)


def upgrade() -> None:
    _rename("minutes", "seconds")
    op.execute("UPDATE sla_policy SET " + ", ".join(f"{t}_seconds = {t}_seconds * 60" for t in _TARGETS))


def downgrade() -> None:
    op.execute("UPDATE sla_policy SET " + ", ".join(f"{t}_seconds = ({t}_seconds + 59) / 60" for t in _TARGETS))
    _rename("seconds", "minutes")
