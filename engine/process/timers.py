"""Timer rows: every waiting BPMN timer is a row (instance, task, due time, state).

The database is the source of truth; a scheduler (engine.process.scheduler) is only the alarm clock that
calls `runtime.fire_timer` at the due time. Rows are kept in step with the workflow inside the
same transaction as every state change, so a timer is never lost nor left behind.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.process import history, persistence
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


@dataclass(frozen=True)
class TrackedTimer:
    id: int
    due_at: dt.datetime


def due_time(task: SpiffTask) -> dt.datetime | None:
    """When a waiting timer task falls due, from SpiffWorkflow's stored absolute event value."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # cycles keep {'next': …}
        value = value.get("next")
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def waiting_timers(workflow: BpmnWorkflow) -> dict[str, SpiffTask]:
    """Waiting timer tasks by id, from the workflow's event manager (no tree walk)."""
    return {str(task.id): task for task in workflow.event_manager.tasks.values()
            if isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)}


def _kind(task: SpiffTask) -> str:
    name = type(task.task_spec).__name__
    return "boundary" if "Boundary" in name else "start" if "Start" in name else "intermediate"


_TRACKED = "_opsflow_timers"


def _tracked(session: Session, instance_id: int, workflow: BpmnWorkflow) -> dict[str, TrackedTimer]:
    """Pending rows by task id; kept on a cached workflow (valid for its instance version)."""
    return persistence.kept_on(workflow, _TRACKED, lambda: {
        row.spiff_task_id: TrackedTimer(row.id, row.due_at)
        for row in session.connection().execute(_SELECT_PENDING, {"instance_id": instance_id})})


def start_tracking(workflow: BpmnWorkflow) -> None:
    """A new instance's workflow: it has no timer rows yet, so `sync` need not look for any."""
    persistence.kept_on(workflow, _TRACKED, dict)


def sync(session: Session, *, instance_id: int, workflow: BpmnWorkflow, recorder: history.Recorder,
         actor: str | None, fired_by: str | None = None) -> None:
    """Bring the instance's timer rows in line with the workflow's waiting timers.

    Rows whose timer fired in this step are marked fired (with lateness and a history event);
    rows whose timer was cancelled (its task finished first) are marked cancelled.
    """
    tracked = _tracked(session, instance_id, workflow)
    waiting = waiting_timers(workflow)
    now = clock.now()
    cancelled: list[int] = []
    for spiff_id in [s for s in tracked if s not in waiting]:
        row = tracked.pop(spiff_id)
        task = workflow.get_task_from_id(UUID(spiff_id))
        if task is None or task.state != TaskState.COMPLETED:
            cancelled.append(row.id)
            continue
        late = max(0, int((now - row.due_at).total_seconds() * 1000))
        marked = _MARK.run(session, {"timer_id": row.id, "new_status": "fired", "now": now, "by": fired_by,
                                            "late": late}).rowcount
        if marked:  # not already claimed by the firing transaction itself
            record_fired(recorder, task, row.id, row.due_at, late, actor, fired_by)
    if cancelled:  # the usual case: the task finished before its timers; one executemany for all
        _CANCEL.run(session, [{"timer_id": timer_id, "now": now} for timer_id in cancelled])
    new_rows: list[dict[str, Any]] = []
    for spiff_id, task in waiting.items():
        due = due_time(task)
        if due is None:
            continue
        known = tracked.get(spiff_id)
        if known is None:
            new_rows.append({"instance_id": instance_id, "spiff_task_id": spiff_id,
                             "element_id": task.task_spec.bpmn_id, "kind": _kind(task), "due_at": due,
                             "status": "pending", "created_at": now})
        elif known.due_at != due:
            # Re-armed (a new fault level) or a cycle moved on: the row follows the workflow.
            if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition) and known.due_at <= now:
                _MARK.run(session, {"timer_id": known.id, "new_status": "fired", "now": now,
                                           "by": fired_by, "late": int((now - known.due_at).total_seconds() * 1000)})
                record_fired(recorder, task, known.id, known.due_at, 0, actor, fired_by)
                new_rows.append({"instance_id": instance_id, "spiff_task_id": spiff_id,
                                 "element_id": task.task_spec.bpmn_id, "kind": _kind(task), "due_at": due,
                                 "status": "pending", "created_at": now})
                del tracked[spiff_id]
            else:
                _MOVE.run(session, {"timer_id": known.id, "due": due})
                tracked[spiff_id] = TrackedTimer(known.id, due)
    if new_rows:
        ids: dict[str, int] = dict(_INSERT.run(session, new_rows).rows)
        armed = []
        for new in new_rows:
            timer_id = ids[new["spiff_task_id"]]
            tracked[new["spiff_task_id"]] = TrackedTimer(timer_id, new["due_at"])
            armed.append((timer_id, new["due_at"]))
        if listeners:
            after_commit(session, lambda: _notify(armed))


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


def record_fired(recorder: history.Recorder, task: Any, timer_id: int, due_at: dt.datetime, late_ms: int,
                 actor: str | None, fired_by: str | None) -> None:
    recorder.add(history.TIMER_FIRED, actor=actor, element_id=task.task_spec.bpmn_id,
                 payload={"timer_id": timer_id, "due_at": due_at.isoformat(), "late_ms": late_ms,
                          "fired_by": fired_by, "name": task.task_spec.bpmn_name})


def due_soon(session: Session, until: dt.datetime, *, limit: int = 10_000) -> list[tuple[int, dt.datetime]]:
    """Pending timers falling due before `until` (the scheduler arms these)."""
    rows = session.execute(select(_timers.c.id, _timers.c.due_at)
                           .where(_timers.c.status == "pending", _timers.c.due_at <= until)
                           .order_by(_timers.c.due_at).limit(limit))
    return [(row.id, row.due_at) for row in rows]

