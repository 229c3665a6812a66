"""service_case for reports: process, customer, engineer and group, SLA outcomes, elapsed times, attempts,
reopenings, paused time, roll-up batch; indexes for the KPI queries; case_rollup (closed cases per day and
attribute, filled by kpi.roll_up); existing cases filled from their history

Revision ID: kpi_0001
Revises: 20261123_0009
Create Date: 2026-12-04 18:00:00

The backfill reads each instance's history once (the only time reports look into JSON payloads) and
computes what engine.desk.case writes as cases move; outcomes from the case's own times and deadlines.
"""
from typing import Any

import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "kpi_0001"
down_revision = "reportdoc_0001"
branch_labels = None
depends_on = None

_STRINGS = {"process_id": 200, "customer": 200, "engineer": 100, "assigned_group": 100}
_COUNTERS = ("paused_seconds", "resolve_attempts", "reopen_count")
_DERIVED = {"respond_met": sa.Boolean(), "resolve_met": sa.Boolean(), "respond_seconds": sa.Integer(),
            "resolve_seconds": sa.Integer()}
_INDEXES = {"ix_case_opened": ["opened_at"], "ix_case_open": ["closed_at", "opened_at"],
            "ix_case_rollup": ["rollup_batch", "opened_at"]}
_MEASURES = ("opened", "resolved", "first_contact", "respond_met", "respond_missed", "resolve_met", "resolve_missed",
             "rated", "chased", "complaints", "reopened", "backlog", "satisfaction_1", "satisfaction_2",
             "satisfaction_3", "satisfaction_4", "satisfaction_5", "chases", "resolve_seconds_sum",
             "resolve_seconds_n", "respond_seconds_sum", "respond_seconds_n", "satisfaction_sum")
_REMINDERS = ("sla_warning", "sla_escalation")
_BATCH = 1000


def _moment() -> engine.store.models.UTCDateTime:
    return engine.store.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    for name, length in _STRINGS.items():
        op.add_column("service_case", sa.Column(name, sa.String(length=length), nullable=True))
    for name in _COUNTERS:
        op.add_column("service_case", sa.Column(name, sa.Integer(), server_default="0", nullable=False))
    for name, type_ in _DERIVED.items():
        op.add_column("service_case", sa.Column(name, type_, nullable=True))
    op.add_column("service_case", sa.Column("rollup_batch", sa.Integer(), nullable=True))
    op.create_table(
        "case_rollup",
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _MEASURES),
        sa.PrimaryKeyConstraint("dimension", "day", "value"),
    )
    for name, columns in _INDEXES.items():
        op.create_index(name, "service_case", columns, unique=False)
    _backfill()


def _backfill() -> None:
    connection = op.get_bind()
    cases = sa.table("service_case", sa.column("instance_id", sa.Integer()), sa.column("opened_at", _moment()),
                     *(sa.column(name, _moment()) for name in ("responded_at", "resolved_at", "respond_due_at",
                                                               "resolve_due_at")),
                     *(sa.column(name, sa.String()) for name in _STRINGS),
                     *(sa.column(name, sa.Integer()) for name in _COUNTERS),
                     *(sa.column(name, type_) for name, type_ in _DERIVED.items()))
    instances = sa.table("process_instance", sa.column("id", sa.Integer()), sa.column("process_id", sa.String()))
    events = sa.table("history_event", sa.column("instance_id", sa.Integer()), sa.column("seq", sa.Integer()),
                      sa.column("kind", sa.String()), sa.column("actor", sa.String()),
                      sa.column("task_record_id", sa.Integer()), sa.column("payload", sa.JSON()))
    tasks = sa.table("task_record", sa.column("id", sa.Integer()), sa.column("candidate_group", sa.String()))
    found: dict[int, dict[str, Any]] = {}
    for row in connection.execute(sa.select(cases, instances.c.process_id.label("of_process"))
                                  .join(instances, instances.c.id == cases.c.instance_id)):
        case = found[row.instance_id] = {"process_id": row.of_process, "customer": None, "engineer": None,
                                         "assigned_group": None, "resolve_attempts": 0, "reopen_count": 0}
        for target, done in (("respond", row.responded_at), ("resolve", row.resolved_at)):
            due = getattr(row, f"{target}_due_at")
            case[f"{target}_met"] = None if done is None or due is None else done <= due
            case[f"{target}_seconds"] = None if done is None else int((done - row.opened_at).total_seconds())
    history = (sa.select(events.c.instance_id, events.c.kind, events.c.actor, events.c.payload,
                         tasks.c.candidate_group)
               .outerjoin(tasks, tasks.c.id == events.c.task_record_id)
               .where(events.c.kind.in_(("instance_started", "task_completed")))
               .order_by(events.c.instance_id, events.c.seq))
    for event in connection.execute(history):
        case = found.get(event.instance_id)
        if case is None:
            continue
        data = (event.payload or {}).get("data") or {}
        if event.kind == "instance_started":
            organisation = data.get("organisation")
            case["customer"] = organisation[:200] if isinstance(organisation, str) and organisation else None
            continue
        group, form_key = event.candidate_group, event.payload.get("form_key")
        if group and group != "requester" and form_key not in _REMINDERS:
            case["assigned_group"] = group
        if isinstance(data.get("resolved"), bool):
            case["engineer"] = event.actor
            case["resolve_attempts"] += 1
        if data.get("remaining_problem") is True:
            case["reopen_count"] += 1
    update = (sa.update(cases).where(cases.c.instance_id == sa.bindparam("case_of"))
              .values({name: sa.bindparam(name) for name in next(iter(found.values()), {})}))
    rows = [{"case_of": instance_id, **case} for instance_id, case in found.items()]
    for start in range(0, len(rows), _BATCH):
        connection.execute(update, rows[start:start + _BATCH])


def downgrade() -> None:
    op.drop_table("case_rollup")
    for name in _INDEXES:
        op.drop_index(name, table_name="service_case")
    for name in ("rollup_batch", *_DERIVED, *_COUNTERS, *_STRINGS):
        op.drop_column("service_case", name)

