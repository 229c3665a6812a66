"""Read side of tasks and instances: inbox queries and instance views, from plain columns only."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import access
from engine.errors import NotFound
from engine.process import history
from engine.status import TaskState
from engine.store.models import ProcessInstance, TaskRecord
from engine.users import Actor


def task_to_dict(record: TaskRecord, instance: ProcessInstance | None = None) -> dict[str, Any]:
    row = {
        "id": record.id, "instance_id": record.instance_id, "element_id": record.element_id, "name": record.name,
        "group": record.candidate_group, "form_key": record.form_key, "state": record.state,
        "assignee": record.assignee, "due_at": record.due_at.isoformat() if record.due_at else None,
        "created_at": record.created_at.isoformat(),
        "completed_at": record.completed_at.isoformat() if record.completed_at else None,
        "completed_by": record.completed_by,
    }
    if instance is not None:
        row.update(process_id=instance.process_id, title=instance.title, fault_level=instance.fault_level)
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


def get_instance(session: Session, instance_id: int) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} does not exist", reason="instance_missing",
                       params={"instance_id": instance_id})
    return instance


def instance_view(session: Session, instance_id: int) -> dict[str, Any]:
    """State, open tasks and full history of an instance, as plain data (the CLI's `show --json`)."""
    instance = get_instance(session, instance_id)
    open_tasks = session.scalars(select(TaskRecord).where(TaskRecord.instance_id == instance.id,
                                                          TaskRecord.state == TaskState.READY).order_by(TaskRecord.id))
    return {
        "id": instance.id, "process_id": instance.process_id, "version": instance.definition.version,
        "status": instance.status, "title": instance.title, "fault_level": instance.fault_level,
        "started_by": instance.started_by, "started_at": instance.started_at.isoformat(),
        "ended_at": instance.ended_at.isoformat() if instance.ended_at else None,
        "lock_version": instance.lock_version,
        "open_tasks": [task_to_dict(t) for t in open_tasks],
        "history": [history.event_to_dict(e) for e in history.events_of(session, instance.id)],
    }
