"""A request's facts as engine.access weighs them, read once for the desk modules that add to a request
(engine.desk.attachments, engine.desk.conversation): who raised it and whether it is open, and its task
records (open or done) as access.Task, whose visibility to an actor decides who works on the request."""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from engine import access
from engine.errors import NotFound
from engine.store.models import ProcessInstance, TaskRecord

_instances = cast(Table, ProcessInstance.__table__)
_tasks = cast(Table, TaskRecord.__table__)


@dataclass(frozen=True)
class Request:
    id: int
    started_by: str | None
    status: str


def load(session: Session, instance_id: int) -> Request:
    row = session.connection().execute(select(_instances.c.id, _instances.c.started_by, _instances.c.status)
                                       .where(_instances.c.id == instance_id)).one_or_none()
    if row is None:
        raise NotFound(f"request {instance_id} does not exist", reason="request_missing",
                       params={"instance_id": instance_id})
    return Request(row.id, row.started_by, row.status)


def tasks(session: Session, request: access.RequestFacts, *, task_id: int | None = None) -> list[access.Task]:
    """The request's task records (or the one with `task_id`) as the access rules read tasks."""
    query = select(_tasks.c.id, _tasks.c.instance_id, _tasks.c.name, _tasks.c.element_id, _tasks.c.candidate_group,
                   _tasks.c.assignee, _tasks.c.form_key).where(_tasks.c.instance_id == request.id)
    if task_id is not None:
        query = query.where(_tasks.c.id == task_id)
    return [access.Task(r.id, r.instance_id, r.name, r.element_id, r.candidate_group, r.assignee, request.started_by,
                        r.form_key) for r in session.connection().execute(query)]
