"""Timer rows: every waiting BPMN timer is a row (instance, task, due time, state).

The database is the source of truth; a scheduler (engine.process.scheduler) is only the alarm clock that
calls `runtime.fire_timer` at the due time. Rows are kept in step with the workflow inside the
same transaction as every state change, so a timer is never lost nor left behind.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.process import history, step
from engine.process.persistence import LiveInstance, TrackedTimer
from engine.store.db import after_commit
from engine.store.direct import DirectStatement
from engine.store.models import Timer

_timers = cast(Table, Timer.__table__)
_SELECT_PENDING = (select(_timers.c.id, _timers.c.spiff_task_id, _timers.c.due_at)
                   .where(_timers.c.instance_id == bindparam("instance_id"), _timers.c.status == "pending"))
# The writes of every change run directly on the driver (engine.store.direct).
_INSERT = DirectStatement(insert(_timers).returning(_timers.c.spiff_task_id, _timers.c.id))
_MARK = DirectStatement(update(_timers).where(_timers.c.id == bindparam("timer_id"), _timers.c.status == "pending")
                        .values(status=bindparam("new_status"), fired_at=bindparam("now"), fired_by=bindparam("by"),
                                late_ms=bindparam("late")))
_CANCEL = DirectStatement(update(_timers).where(_timers.c.id == bindparam("timer_id"), _timers.c.status == "pending")
                          .values(status="cancelled", fired_at=bindparam("now")))
_MOVE = DirectStatement(update(_timers).where(_timers.c.id == bindparam("timer_id")).values(due_at=bindparam("due")))

# Called after commit with [(timer id, due at)] of new rows, so an in-process scheduler arms them at once.
listeners: list[Callable[[list[tuple[int, dt.datetime]]], None]] = []


def tracked(session: Session, instance_id: int, live: LiveInstance) -> dict[str, TrackedTimer]:
    """Pending rows by task id; kept with a cached workflow (valid for its instance version)."""
    if live.timers is None:
        live.timers = {row.spiff_task_id: TrackedTimer(row.id, row.due_at)
                       for row in session.connection().execute(_SELECT_PENDING, {"instance_id": instance_id})}
    return live.timers


def write(session: Session, *, instance_id: int, tracked: dict[str, TrackedTimer], outcome: step.Outcome,
          recorder: history.Recorder, actor: str | None, fired_by: str | None = None) -> dict[str, TrackedTimer]:
    """Bring the instance's timer rows in line with what the step did; returns the pending rows now.

    Rows whose timer fired in this step are marked fired (with lateness and a history event);
    rows whose timer went without firing (its task finished first) are marked cancelled.
    """
    now = clock.now()
    for timer in outcome.timers_fired:
        row = tracked[timer.spiff_id]
        late = int((now - timer.due_at).total_seconds() * 1000)
        if timer.cycle:
            _MARK.run(session, {"timer_id": row.id, "new_status": "fired", "now": now, "by": fired_by, "late": late})
            record_fired(recorder, timer.element_id, timer.name, row.id, timer.due_at, 0, actor, fired_by)
            continue
        late = max(0, late)
        marked = _MARK.run(session, {"timer_id": row.id, "new_status": "fired", "now": now, "by": fired_by,
                                     "late": late}).rowcount
        if marked:  # not already claimed by the firing transaction itself
            record_fired(recorder, timer.element_id, timer.name, row.id, timer.due_at, late, actor, fired_by)
    if outcome.timers_cancelled:  # the usual case: the task finished before its timers; one executemany for all
        _CANCEL.run(session, [{"timer_id": tracked[spiff_id].id, "now": now} for spiff_id in outcome.timers_cancelled])
    for spiff_id, due in outcome.timers_moved.items():
        _MOVE.run(session, {"timer_id": tracked[spiff_id].id, "due": due})
    ids: dict[str, int] = {}
    if outcome.timers_armed:
        new_rows = [{"instance_id": instance_id, "spiff_task_id": timer.spiff_id, "element_id": timer.element_id,
                     "kind": timer.kind, "due_at": timer.due_at, "status": "pending", "created_at": now}
                    for timer in outcome.timers_armed]
        ids = dict(_INSERT.run(session, new_rows).rows)
        if listeners:
            armed = [(ids[timer.spiff_id], timer.due_at) for timer in outcome.timers_armed]
            after_commit(session, lambda: _notify(armed))
    return {spiff_id: TrackedTimer(ids[spiff_id] if spiff_id in ids else tracked[spiff_id].id, due)
            for spiff_id, due in outcome.timers_waiting.items()}


def _notify(armed: list[tuple[int, dt.datetime]]) -> None:
    for listener in listeners:
        listener(armed)


def claim(session: Session, timer_id: int, *, fired_by: str) -> Any | None:
    """Take a due, pending row for firing inside this transaction; None if another process has it
    (or it is not due yet)."""
    query = select(_timers).where(_timers.c.id == timer_id, _timers.c.status == "pending",
                                  _timers.c.due_at < clock.now())  # SpiffWorkflow fires strictly after
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = session.connection().execute(query).one_or_none()
    if row is None:
        return None
    now = clock.now()
    late = max(0, int((now - row.due_at).total_seconds() * 1000))
    marked = _MARK.run(session, {"timer_id": timer_id, "new_status": "fired", "now": now,
                                                  "by": fired_by, "late": late}).rowcount
    return row if marked == 1 else None


def unclaim(session: Session, timer_id: int) -> None:
    """Give a claimed row back (the workflow did not consider it due); the scheduler re-arms it."""
    session.connection().execute(update(_timers).where(_timers.c.id == timer_id)
                                 .values(status="pending", fired_at=None, fired_by=None, late_ms=None))


def retire(session: Session, timer_id: int) -> None:
    """A claimed row that must never fire (see `step.never_moves_on`): cancelled, so no scheduler arms it again."""
    session.connection().execute(update(_timers).where(_timers.c.id == timer_id).values(status="cancelled"))


def record_fired(recorder: history.Recorder, element_id: str, name: str | None, timer_id: int, due_at: dt.datetime,
                 late_ms: int, actor: str | None, fired_by: str | None) -> None:
    recorder.add(history.TIMER_FIRED, actor=actor, element_id=element_id,
                 payload={"timer_id": timer_id, "due_at": due_at.isoformat(), "late_ms": late_ms,
                          "fired_by": fired_by, "name": name})


def due_soon(session: Session, until: dt.datetime, *, limit: int = 10_000) -> list[tuple[int, dt.datetime]]:
    """Pending timers falling due before `until` (the scheduler arms these)."""
    rows = session.execute(select(_timers.c.id, _timers.c.due_at)
                           .where(_timers.c.status == "pending", _timers.c.due_at <= until)
                           .order_by(_timers.c.due_at).limit(limit))
    return [(row.id, row.due_at) for row in rows]

