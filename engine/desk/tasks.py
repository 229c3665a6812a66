"""Read side of tasks and instances: inbox queries and instance views, from plain columns only."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import access
from engine.desk import conversation
from engine.errors import InvalidInput, NotFound
from engine.process import history
from engine.status import TaskState
from engine.store.models import HistoryEvent, ProcessDefinition, ProcessInstance, TaskRecord
from engine.users import Actor


def task_to_dict(record: Any, instance: ProcessInstance | None = None) -> dict[str, Any]:
    """A task record (ORM object or row of its columns) as plain data, with its instance's columns if given."""
    row = {
        "id": record.id, "instance_id": record.instance_id, "element_id": record.element_id, "name": record.name,
        "group": record.candidate_group, "form_key": record.form_key, "state": record.state,
        "assignee": record.assignee, "due_at": record.due_at.isoformat() if record.due_at else None,
        "created_at": record.created_at.isoformat(),
        "completed_at": record.completed_at.isoformat() if record.completed_at else None,
        "completed_by": record.completed_by,
    }
    if instance is not None:
        row.update(process_id=instance.process_id, title=instance.title, number=instance.number,
                   fault_level=instance.fault_level)
    return row


def list_tasks(session: Session, *, group: str | None = None, user: str | None = None,
               groups: frozenset[str] | None = None, state: str = TaskState.READY, process_id: str | None = None,
               limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Tasks by state, filtered by group, by the user holding them, or 'mine' (those the user may work: held by
    them or open to their groups)."""
    query = (select(TaskRecord, ProcessInstance).join(ProcessInstance, ProcessInstance.id == TaskRecord.instance_id)
             .where(TaskRecord.state == state))
    if group:
        query = query.where(TaskRecord.candidate_group == group)
    if user:  # the rules of engine.access, in their SQL form
        conditions = access.task_conditions(Actor(user, groups or frozenset()), state=state)
        query = query.where(conditions.workable() if groups is not None else conditions.holding())
    if process_id:
        query = query.where(ProcessInstance.process_id == process_id)
    query = query.order_by(TaskRecord.id).limit(limit).offset(offset)
    return [task_to_dict(record, instance) for record, instance in session.execute(query)]


def _missing(instance_id: int) -> NotFound:
    return NotFound(f"instance {instance_id} does not exist", reason="instance_missing",
                    params={"instance_id": instance_id})


def get_instance(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise _missing(instance_id)
    return instance


def instance_view(session: Session, instance_id: int) -> dict[str, Any]:
    """State, open tasks and full history of an instance, as plain data (the CLI's `show --json`)."""
    return {**_instance_summary(session, instance_id),
            "history": [history.event_to_dict(e) for e in history.events_of(session, instance_id)]}


_SUMMARY = (select(ProcessInstance.id, ProcessInstance.process_id, ProcessDefinition.version, ProcessInstance.status,
                   ProcessInstance.title, ProcessInstance.number, ProcessInstance.fault_level,
                   ProcessInstance.started_by, ProcessInstance.started_at, ProcessInstance.ended_at,
                   ProcessInstance.lock_version)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id))
_OPEN_TASKS = select(*TaskRecord.__table__.columns).where(TaskRecord.state == TaskState.READY).order_by(TaskRecord.id)


def _instance_summary(session: Session, instance_id: int) -> dict[str, Any]:
    """The instance's columns (never its workflow state, the bulk of the row) and its open tasks."""
    row = session.connection().execute(_SUMMARY.where(ProcessInstance.id == instance_id)).one_or_none()
    if row is None:
        raise _missing(instance_id)
    open_tasks = session.connection().execute(_OPEN_TASKS.where(TaskRecord.instance_id == instance_id))
    return {
        "id": row.id, "number": row.number, "process_id": row.process_id, "version": row.version,
        "status": row.status, "title": row.title, "fault_level": row.fault_level, "started_by": row.started_by,
        "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None, "lock_version": row.lock_version,
        "open_tasks": [task_to_dict(t) for t in open_tasks],
    }


# --- the REST API's read side (app/api) -------------------------------------------------------------

# Which of the actor's tasks a list shows: those they may work (held or open to their groups), those they
# hold, or every task they may see (colleagues' claims too; auditors see all).
TASK_SCOPES = ("workable", "mine", "visible")


def tasks_page(session: Session, *, actor: Actor, scope: str = "workable", state: str = TaskState.READY,
               process_id: str | None = None, fault_level: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """One page of tasks (oldest first) by engine.access's task rules in SQL, and how many there are."""
    if scope not in TASK_SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(TASK_SCOPES)}", field_errors={"scope": list(TASK_SCOPES)})
    conditions = access.task_conditions(actor, state=state)
    condition = {"workable": conditions.workable, "mine": conditions.holding, "visible": conditions.visible}[scope]()
    query = (select(TaskRecord, ProcessInstance).join(ProcessInstance, ProcessInstance.id == TaskRecord.instance_id)
             .where(TaskRecord.state == state, condition))
    if process_id:
        query = query.where(ProcessInstance.process_id == process_id)
    if fault_level:
        query = query.where(ProcessInstance.fault_level == fault_level)
    total = session.scalar(select(func.count()).select_from(query.with_only_columns(TaskRecord.id).subquery()))
    rows = session.execute(query.order_by(TaskRecord.id).limit(limit).offset(offset))
    return [task_to_dict(record, instance) | {"instance_version": instance.lock_version}
            for record, instance in rows], int(total or 0)


_VISIBLE_TASK = (select(TaskRecord.id, TaskRecord.instance_id, TaskRecord.element_id, TaskRecord.name,
                        TaskRecord.candidate_group, TaskRecord.form_key, TaskRecord.state, TaskRecord.assignee,
                        TaskRecord.due_at, TaskRecord.created_at, TaskRecord.completed_at, TaskRecord.completed_by,
                        ProcessInstance.process_id, ProcessInstance.title, ProcessInstance.number,
                        ProcessInstance.fault_level, ProcessInstance.started_by, ProcessInstance.lock_version)
                 .join(ProcessInstance, ProcessInstance.id == TaskRecord.instance_id))


def visible_task(session: Session, *, task_id: int, actor: Actor, verb: str = "see") -> dict[str, Any]:
    """One task the actor may see, with its instance's version (what an API client's If-Match names); one
    query, as API calls read it before and after every change."""
    row = session.connection().execute(_VISIBLE_TASK.where(TaskRecord.id == task_id)).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist", reason="task_missing", params={"task_id": task_id})
    access.require_see_task(access.Task(row.id, row.instance_id, row.name, row.element_id, row.candidate_group,
                                        row.assignee, row.started_by, row.form_key), actor, verb)
    return {"id": row.id, "instance_id": row.instance_id, "element_id": row.element_id, "name": row.name,
            "group": row.candidate_group, "form_key": row.form_key, "state": row.state, "assignee": row.assignee,
            "due_at": row.due_at.isoformat() if row.due_at else None, "created_at": row.created_at.isoformat(),
            "completed_at": row.completed_at.isoformat() if row.completed_at else None,
            "completed_by": row.completed_by, "process_id": row.process_id, "title": row.title,
            "number": row.number, "fault_level": row.fault_level, "instance_version": row.lock_version}


def visible_instance(session: Session, *, instance_id: int, actor: Actor) -> dict[str, Any]:
    """An instance with its open tasks (no history) for whoever may follow it or oversee every history."""
    found = _instance_summary(session, instance_id)
    access.require_view_instance(_Request(instance_id, found["started_by"]), actor)
    return found


@dataclass(frozen=True)
class _Request:
    """What engine.access's request rules read."""

    id: int
    started_by: str | None


def visible_history(session: Session, *, instance_id: int, actor: Actor, limit: int, offset: int
                    ) -> tuple[list[dict[str, Any]], int]:
    """A page of an instance's history (in order) and its length, for those who may see the instance."""
    facts = select(ProcessInstance.id, ProcessInstance.started_by, ProcessInstance.last_event_seq)
    instance = session.connection().execute(facts.where(ProcessInstance.id == instance_id)).one_or_none()
    if instance is None:
        raise _missing(instance_id)
    access.require_view_instance(instance, actor)
    events = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                             .order_by(HistoryEvent.seq).limit(limit).offset(offset))
    found = [history.event_to_dict(e) for e in events]
    if not conversation.shows_internal_notes(session, instance, actor):  # a requester: internal notes redacted
        found = conversation.redact(found)
    return found, instance.last_event_seq
