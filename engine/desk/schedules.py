"""健康检查 by the calendar: each contract's inspection cycle starts the process by itself.

One schedule row per contract (an ISO 8601 duration, monthly by default) instead of a BPMN timer
start event: one diagram serves every contract, and a process owner changes a contract's cycle
without deploying anything. The scheduler calls `start_due` every minute; a row is advanced in the
same transaction as the start, so a check starts once even with several schedulers (the job
`JOB`, registered on the core's scheduler by engine.desk.install).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import InvalidInput
from engine.process import hooks, runtime
from engine.store.models import HealthCheckSchedule
from engine.users import Actor

PROCESS_ID = "health_check"
DEFAULT_CYCLE = "P1M"
SCHEDULER = Actor("scheduler", frozenset({"system"}))


def _next(after: dt.datetime, cycle: str) -> dt.datetime:
    duration = TimerEventDefinition.parse_iso_duration(cycle)
    return after + TimerEventDefinition.get_timedelta_from_start(duration, after)


def set_schedule(session: Session, *, contract: str, organisation: str, cycle: str = DEFAULT_CYCLE,
                 first_at: dt.datetime | None = None, active: bool = True) -> HealthCheckSchedule:
    """Create or change a contract's inspection cycle (e.g. P1M monthly, P3M quarterly)."""
    if not cycle.startswith("P"):
        raise InvalidInput(f"cycle must be an ISO 8601 duration such as P1M, got {cycle!r}",
                           field_errors={"cycle": ["ISO 8601 duration, e.g. P1M"]})
    try:
        step = _next(clock.now(), cycle) - clock.now()
    except Exception:
        raise InvalidInput(f"cycle {cycle!r} is not a valid ISO 8601 duration",
                           field_errors={"cycle": ["ISO 8601 duration, e.g. P1M"]}) from None
    if step < dt.timedelta(days=1):
        raise InvalidInput("a health-check cycle shorter than a day is not sensible", field_errors={"cycle": ["≥ P1D"]})
    row = session.scalars(select(HealthCheckSchedule).where(HealthCheckSchedule.contract == contract)).first()
    if row is None:
        row = HealthCheckSchedule(contract=contract, organisation=organisation, cycle=cycle,
                                  next_due_at=first_at or _next(clock.now(), cycle), is_active=active)
        session.add(row)
    else:
        row.organisation, row.cycle, row.is_active = organisation, cycle, active
        if first_at is not None:
            row.next_due_at = first_at
    session.flush()
    return row


def list_schedules(session: Session) -> list[dict[str, Any]]:
    return [{"contract": r.contract, "organisation": r.organisation, "cycle": r.cycle,
             "next_due_at": r.next_due_at.isoformat(), "active": r.is_active}
            for r in session.scalars(select(HealthCheckSchedule).order_by(HealthCheckSchedule.next_due_at))]


def start_due(session: Session) -> list[int]:
    """Start a health check for every contract whose time has come; returns the new instance ids."""
    now = clock.now()
    query = (select(HealthCheckSchedule).where(HealthCheckSchedule.is_active.is_(True),
                                              HealthCheckSchedule.next_due_at <= now)
             .order_by(HealthCheckSchedule.next_due_at))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    started = []
    for row in session.scalars(query):
        due = row.next_due_at
        # Advance first, conditionally: another scheduler that read the same row finds it moved on.
        moved = session.connection().execute(update(HealthCheckSchedule).where(HealthCheckSchedule.id == row.id,
                                                                   HealthCheckSchedule.next_due_at == due)
                                .values(next_due_at=_next(max(due, now - dt.timedelta(days=1)), row.cycle)))
        if moved.rowcount != 1:
            continue
        data = {"organisation": row.organisation, "contract": row.contract, "scheduled_for": due.date().isoformat()}
        started.append(runtime.start_instance(session, process_id=PROCESS_ID, data=data, actor=SCHEDULER).id)
    return started


# Every minute, in a transaction of its own (engine.process.scheduler runs the registered jobs).
JOB = hooks.Job("health_checks", 60, start_due)
