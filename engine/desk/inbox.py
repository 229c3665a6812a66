"""Read side of the web pages: agents' inboxes, task pages with their history, requesters' requests.

Plain columns only (task_record, process_instance, service_case, history_event; never a workflow), keyset pages
on the indexes of migration 20261122_0003, so an inbox page stays fast with 100 000 open tasks.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, and_, false, func, or_, select
from sqlalchemy.orm import Session

from engine import access, clock, users
from engine.desk import complaint, handover, zones
from engine.desk.levels import FAULT_LEVELS
from engine.errors import InvalidInput, NotFound
from engine.process import definitions, history
from engine.status import InstanceStatus, TaskState
from engine.store.models import HistoryEvent, ProcessDefinition, ProcessInstance, ServiceCase, TaskRecord, User
from engine.users import Actor

# Task filters of the inbox: actionable (mine + unclaimed), one of those, colleagues' claims, or all.
STATES = ("open", "mine", "unclaimed", "claimed", "all")
PAGE_SIZE = 50
PAGE_SIZE_MAX = 200
# Counting stops here: an exact count of 100 000 rows costs more than the page it labels.
COUNT_CAP = 1000
# A task is flagged when less than this share of its SLA time is left (and late once it is past).
SLA_WARN_SHARE = 0.2

_tasks = cast(Table, TaskRecord.__table__)
_instances = cast(Table, ProcessInstance.__table__)
_definitions = cast(Table, ProcessDefinition.__table__)
_cases = cast(Table, ServiceCase.__table__)
# The case record (engine.desk.case); an instance started without the desk's rules has none.
_CHASES = func.coalesce(_cases.c.chase_count, 0).label("chase_count")
_COMPLAINT = func.coalesce(_cases.c.is_complaint, false()).label("is_complaint")

_ROW_COLUMNS = (
    _tasks.c.id, _tasks.c.instance_id, _tasks.c.element_id, _tasks.c.name, _tasks.c.candidate_group,
    _tasks.c.assignee, _tasks.c.form_key, _tasks.c.state, _tasks.c.created_at, _tasks.c.due_at,
    _tasks.c.completed_at, _tasks.c.completed_by, _instances.c.process_id, _instances.c.title,
    _instances.c.number, _instances.c.fault_level, _instances.c.status.label("instance_status"),
    _instances.c.started_by,
    _COMPLAINT, _definitions.c.name.label("process_name"), _definitions.c.version,
)
_FROM = _tasks.join(_instances, _instances.c.id == _tasks.c.instance_id).join(
    _definitions, _definitions.c.id == _instances.c.definition_id).outerjoin(
    _cases, _cases.c.instance_id == _tasks.c.instance_id)


# --- SLA display ----------------------------------------------------------------------------------

def sla_state(created_at: dt.datetime, due_at: dt.datetime | None, now: dt.datetime) -> tuple[str | None, int | None]:
    """('ok' | 'warn' | 'late', seconds left) for a due time, or (None, None) without one."""
    if due_at is None:
        return None, None
    left = (due_at - now).total_seconds()
    total = (due_at - created_at).total_seconds()
    if left < 0:
        return "late", int(left)
    if total <= 0 or left < SLA_WARN_SHARE * total:
        return "warn", int(left)
    return "ok", int(left)


def _task_row(row: Any, now: dt.datetime) -> dict[str, Any]:
    data = dict(row._mapping)
    if data["state"] == "ready":
        data["sla"], data["seconds_left"] = sla_state(data["created_at"], data["due_at"], now)
        return data
    # A closed task has no time left: a completed one was done by its due time ('met') or after it ('late').
    due, done = data["due_at"], data["completed_at"]
    judged = data["state"] == "completed" and due is not None and done is not None
    data["sla"], data["seconds_left"] = ("met" if done <= due else "late") if judged else None, None
    return data


# --- inbox ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InboxPage:
    """One page of an inbox, the cursor of the next page, and the (capped) number of matches."""

    rows: list[dict[str, Any]]
    next_cursor: str | None
    total: int
    total_capped: bool
    state: str
    processes: list[tuple[str, str]] = field(default_factory=list)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_CURSOR = re.compile(r"(?:d(-?\d{1,20})\.|n)(\d{1,18})")


def _encode_cursor(due_at: dt.datetime | None, task_id: int) -> str:
    if due_at is None:
        return f"n{task_id}"
    micros = (due_at - _EPOCH) // dt.timedelta(microseconds=1)
    return f"d{micros}.{task_id}"


def _decode_cursor(cursor: str) -> tuple[bool, dt.datetime | None, int]:
    """(in the dated part?, due_at, id) of the last row shown."""
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise InvalidInput("not a page cursor of this inbox", field_errors={"after": ["invalid cursor"]})
    if match.group(1) is None:
        return False, None, int(match.group(2))
    return True, _EPOCH + dt.timedelta(microseconds=int(match.group(1))), int(match.group(2))


def _branches(actor: Actor, state: str) -> list[ColumnElement[bool]]:
    """Disjoint conditions whose union is the inbox (with `_apart`): each one runs down one index in
    (due_at, id) order. Who may see what is engine.access's task rule, in its SQL form."""
    if actor.is_auditor:  # auditors see every task; the states only sort them
        every = {"all": _tasks.c.id.is_not(None), "open": _tasks.c.id.is_not(None),
                 "mine": _tasks.c.assignee == actor.username, "unclaimed": _tasks.c.assignee.is_(None),
                 "claimed": _tasks.c.assignee.is_not(None)}
        return [every[state]]
    parts = access.task_conditions(actor)
    chosen = {"open": [*parts.held, *parts.unclaimed], "mine": [*parts.held], "unclaimed": [*parts.unclaimed],
              "claimed": [*parts.claimed], "all": [*parts.held, *parts.unclaimed, *parts.claimed]}
    return chosen[state]


def _apart(actor: Actor, state: str) -> list[ColumnElement[bool]]:
    """The parts of the inbox read whole rather than a page at a time, each a handful of rows down the group
    index: engine.access.TaskConditions.held_apart (held) and own_surveys (workable, not held)."""
    if actor.is_auditor or state == "claimed":
        return []
    parts = access.task_conditions(actor)
    chosen = {"open": [parts.held_apart, parts.own_surveys], "mine": [parts.held_apart],
              "unclaimed": [parts.own_surveys], "all": [parts.held_apart, parts.own_surveys]}[state]
    return [part for part in chosen if part is not None]


def _filtered(query: Select[Any], condition: ColumnElement[bool], process_id: str | None,
              fault_level: str | None, zone: str | None = None) -> Select[Any]:
    query = query.where(_tasks.c.state == TaskState.READY, condition)
    if zone:  # the case's zone (engine.desk.zones)
        query = query.where(_tasks.c.instance_id.in_(select(_cases.c.instance_id).where(_cases.c.zone == zone)))
    if process_id or fault_level:
        # As a set of instance ids (one index range, probed in memory): a join would look up the
        # instance row of every task the index scan passes.
        cases = select(_instances.c.id)
        if process_id:
            cases = cases.where(_instances.c.process_id == process_id)
        if fault_level:
            cases = cases.where(_instances.c.fault_level == fault_level)
        query = query.where(_tasks.c.instance_id.in_(cases))
    return query


def _count_query(condition: ColumnElement[bool], process_id: str | None, fault_level: str | None,
                 zone: str | None = None) -> Select[Any]:
    inner = select(_tasks.c.id).select_from(_tasks)
    limited = _filtered(inner, condition, process_id, fault_level, zone).limit(COUNT_CAP + 1).subquery()
    return select(func.count()).select_from(limited)


def _process_choices(session: Session) -> list[tuple[str, str]]:
    newest = (select(_definitions.c.process_id, func.max(_definitions.c.version).label("version"))
              .group_by(_definitions.c.process_id).subquery())
    rows = session.execute(select(_definitions.c.process_id, _definitions.c.name)
                           .join(newest, and_(newest.c.process_id == _definitions.c.process_id,
                                              newest.c.version == _definitions.c.version))
                           .order_by(_definitions.c.process_id))
    return [(row.process_id, row.name) for row in rows]


def inbox_page(session: Session, *, actor: Actor, state: str = "open", process_id: str | None = None,
               fault_level: str | None = None, after: str | None = None, limit: int = PAGE_SIZE,
               zone: str | None = None) -> InboxPage:
    """Ready tasks the actor may work on (or, for auditors, see), soonest SLA due first, then oldest;
    optionally only one process's, one fault level's, one zone's."""
    if state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}", field_errors={"state": list(STATES)})
    if fault_level and fault_level not in FAULT_LEVELS:
        raise InvalidInput("unknown fault level", field_errors={"fault_level": list(FAULT_LEVELS)})
    limit = max(1, min(limit, PAGE_SIZE_MAX))
    in_dated, due, last_id = _decode_cursor(after) if after else (True, None, 0)
    branches = _branches(actor, state)
    base = select(*_ROW_COLUMNS).select_from(_FROM)
    apart = [row for condition in _apart(actor, state)
             for row in session.execute(_filtered(base, condition, process_id, fault_level, zone)).all()]
    found: list[Any] = []
    # Dated tasks first in (due_at, id) order, then undated ones by id: two index-ordered parts,
    # because NULLS LAST sorts differently on SQLite and PostgreSQL and defeats the index on both.
    if in_dated:
        for condition in branches:
            query = _filtered(base, condition, process_id, fault_level, zone).where(_tasks.c.due_at.is_not(None))
            if due is not None:
                query = query.where(or_(_tasks.c.due_at > due, and_(_tasks.c.due_at == due, _tasks.c.id > last_id)))
            found += session.execute(query.order_by(_tasks.c.due_at, _tasks.c.id).limit(limit + 1)).all()
        found += [r for r in apart if r.due_at is not None and (due is None or (r.due_at, r.id) > (due, last_id))]
        found = sorted(found, key=lambda r: (r.due_at, r.id))[:limit + 1]
    if len(found) <= limit:
        undated: list[Any] = []
        for condition in branches:
            query = _filtered(base, condition, process_id, fault_level, zone).where(_tasks.c.due_at.is_(None))
            if not in_dated:
                query = query.where(_tasks.c.id > last_id)
            undated += session.execute(query.order_by(_tasks.c.id).limit(limit + 1)).all()
        undated += [r for r in apart if r.due_at is None and (in_dated or r.id > last_id)]
        found += sorted(undated, key=lambda r: r.id)[:limit + 1 - len(found)]
    more = len(found) > limit
    found = found[:limit]
    next_cursor = _encode_cursor(found[-1].due_at, found[-1].id) if more else None
    total = len(apart) + sum(session.execute(_count_query(c, process_id, fault_level, zone)).scalar_one()
                             for c in branches)
    now = clock.now()
    rows = [{**_task_row(r, now), "may_claim": access.may_claim(r, actor)} for r in found]  # the row's button
    return InboxPage(rows, next_cursor, min(total, COUNT_CAP), total > COUNT_CAP, state, _process_choices(session))


# --- task page ------------------------------------------------------------------------------------

def _load_task(session: Session, task_id: int) -> Any:
    row = session.execute(select(*_ROW_COLUMNS, _instances.c.started_at, _CHASES, _instances.c.definition_id,
                                 _definitions.c.sha256)
                          .select_from(_FROM).where(_tasks.c.id == task_id)).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist", reason="task_missing", params={"task_id": task_id})
    return row


def _steps(events: list[HistoryEvent]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The request (start data) and each completed step: who, when, which form, what data."""
    request: dict[str, Any] = {"form_key": None, "data": {}, "actor": None, "at": None}
    steps = []
    for event in events:
        if event.kind == history.INSTANCE_STARTED:
            request = {"form_key": event.payload.get("form_key"), "data": event.payload.get("data") or {},
                       "actor": event.actor, "at": event.at}
        elif event.kind == history.TASK_COMPLETED:
            steps.append({"task_id": event.task_record_id, "element_id": event.element_id,
                          "name": event.payload.get("name") or event.element_id, "actor": event.actor,
                          "at": event.at, "form_key": event.payload.get("form_key"),
                          "data": event.payload.get("data") or {}})
    return request, steps


def _open_tasks(session: Session, instance_ids: list[int]) -> list[Any]:
    if not instance_ids:
        return []
    return list(session.execute(
        select(_tasks.c.id, _tasks.c.instance_id, _tasks.c.element_id, _tasks.c.name, _tasks.c.candidate_group,
               _tasks.c.assignee, _tasks.c.form_key)
        .where(_tasks.c.instance_id.in_(instance_ids), _tasks.c.state == TaskState.READY).order_by(_tasks.c.id)))


def task_page(session: Session, *, task_id: int, actor: Actor) -> dict[str, Any]:
    """Everything a task page shows: the task, its request, every earlier step, and what the actor may do."""
    row = _load_task(session, task_id)
    access.require_see_task(row, actor)
    events = history.events_of(session, row.instance_id)
    request, steps = _steps(events)
    task = _task_row(row, clock.now())
    is_ready = row.state == TaskState.READY and row.instance_status == InstanceStatus.RUNNING
    # The rules engine.process.runtime enforces, so a button is shown exactly when its action would be allowed.
    bound = definitions.assigns_initiator(definitions.parsed_by_id(session, row.definition_id, row.sha256),
                                          row.element_id)
    may_act = is_ready and access.may_work_task(row, actor)
    may_assign = is_ready and access.may_assign(row, actor)
    members: list[str] = []
    if may_assign and (access.is_initiators(row) or bound):  # only ever back to whoever raised the request
        members = [row.started_by] if row.started_by and row.started_by != row.assignee else []
    elif may_assign and row.candidate_group:
        members = [u.username for u in users.list_users(session, group=row.candidate_group)
                   if u.is_active and u.username != row.assignee]
    return {
        "task": task, "request": request, "steps": steps,
        "open_tasks": [dict(r._mapping) for r in _open_tasks(session, [row.instance_id])],
        "instance": {"id": row.instance_id, "number": row.number, "process_id": row.process_id,
                     "process_name": row.process_name,
                     "version": row.version, "status": row.instance_status, "title": row.title,
                     "fault_level": row.fault_level, "started_by": row.started_by, "started_at": row.started_at,
                     "chase_count": row.chase_count, "is_complaint": row.is_complaint},
        "may_complete": may_act, "may_claim": is_ready and access.may_claim(row, actor),
        "may_release": is_ready and access.may_release(row, actor, bound_to_initiator=bound),
        "may_assign": may_assign, "members": members,
        # What the form starts with: the zone's 社区经理 in 派发's engineer picker.
        "suggested": zones.suggested_picks(session, instance_id=row.instance_id, form_key=row.form_key)
        if may_act else {},
        # Chases (who, when, the note) for whoever handles the request; its complaint flow, or the request of one.
        "chases": complaint.chases_of(session, row.instance_id),
        "complaint": complaint.link_of(session, row.instance_id),
    }


def diagram(session: Session, *, task_id: int, actor: Actor) -> dict[str, Any]:
    """The BPMN XML of the task's process version, with the open and the completed element ids."""
    row = _load_task(session, task_id)
    access.require_see_task(row, actor)
    sources = session.scalars(select(ProcessDefinition.sources)
                              .where(ProcessDefinition.id == row.definition_id)).one()
    done = session.scalars(select(_tasks.c.element_id).distinct()
                           .where(_tasks.c.instance_id == row.instance_id, _tasks.c.state == TaskState.COMPLETED))
    current = sorted({r.element_id for r in _open_tasks(session, [row.instance_id])})
    return {"xml": sources[0]["xml"], "current": current, "completed": sorted(done),
            "task_element_id": row.element_id}


# --- requester portal -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestsPage:
    rows: list[dict[str, Any]]
    next_cursor: int | None


_REQUEST_COLUMNS = (_instances.c.id, _instances.c.process_id, _definitions.c.name.label("process_name"),
                    _instances.c.title, _instances.c.number, _instances.c.status, _instances.c.fault_level,
                    _instances.c.started_by,
                    _instances.c.started_at, _instances.c.ended_at, _CHASES, _COMPLAINT)
_REQUESTS_FROM = _instances.join(_definitions, _definitions.c.id == _instances.c.definition_id).outerjoin(
    _cases, _cases.c.instance_id == _instances.c.id)


def _request_row(row: Any, open_tasks: list[Any], actor: Actor) -> dict[str, Any]:
    data = dict(row._mapping)
    data["open_steps"] = [t.name for t in open_tasks]
    # What waits for the requester's answer: their own tasks, and the survey they may answer themselves.
    data["my_tasks"] = []
    for task in open_tasks:
        facts = _with_requester(task, row.started_by)
        survey = access.answers_own_survey(facts, actor)
        if survey or access.holder(facts) == actor.username:
            data["my_tasks"].append({"id": task.id, "name": task.name, "survey": survey})
    return data


def _with_requester(task: Any, started_by: str | None) -> access.Task:
    return access.Task(task.id, task.instance_id, task.name, task.element_id, task.candidate_group, task.assignee,
                       started_by, task.form_key)


def my_requests(session: Session, *, actor: Actor, before: int | None = None,
                limit: int = PAGE_SIZE) -> RequestsPage:
    """Requests the actor started, newest first, with where each stands and what waits for them."""
    limit = max(1, min(limit, PAGE_SIZE_MAX))
    query = select(*_REQUEST_COLUMNS).select_from(_REQUESTS_FROM).where(_instances.c.started_by == actor.username)
    if before is not None:
        query = query.where(_instances.c.id < before)
    rows = session.execute(query.order_by(_instances.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    tasks_by_instance: dict[int, list[Any]] = {}
    for task in _open_tasks(session, [r.id for r in rows]):
        tasks_by_instance.setdefault(task.instance_id, []).append(task)
    return RequestsPage([_request_row(r, tasks_by_instance.get(r.id, []), actor) for r in rows],
                        rows[-1].id if more else None)


def request_page(session: Session, *, instance_id: int, actor: Actor) -> dict[str, Any]:
    """One request as its requester (or the service desk, or an auditor) follows it."""
    row = session.execute(select(*_REQUEST_COLUMNS).select_from(_REQUESTS_FROM)
                          .where(_instances.c.id == instance_id)).one_or_none()
    if row is None:
        raise NotFound(f"request {instance_id} does not exist", reason="request_missing",
                       params={"instance_id": instance_id})
    access.require_view_request(row, actor)
    request, steps = _steps(history.events_of(session, instance_id))
    page = _request_row(row, _open_tasks(session, [instance_id]), actor)
    page.update(request=request, steps=steps, may_chase=row.status == "running" and access.may_chase(row, actor),
                linked=handover.linked(session, instance_id),
                chases=complaint.chases_of(session, instance_id), complaint=complaint.link_of(session, instance_id))
    return page


def request_processes(session: Session) -> list[tuple[str, str]]:
    """Processes a requester can start with the request form: (process id, name), service desk first."""
    newest = (select(_definitions.c.process_id, func.max(_definitions.c.version).label("version"))
              .group_by(_definitions.c.process_id).subquery())
    rows = session.execute(select(_definitions.c.process_id, _definitions.c.name, _definitions.c.start_form_key)
                           .join(newest, and_(newest.c.process_id == _definitions.c.process_id,
                                              newest.c.version == _definitions.c.version)))
    found = [(r.process_id, r.name) for r in rows if r.start_form_key == "request"]
    return sorted(found, key=lambda p: (p[0] != "service_desk", p[0]))


# --- directory ------------------------------------------------------------------------------------

def directory(session: Session, *, actor: Actor) -> dict[str, Any]:
    """Users and groups, for process owners, managers and auditors."""
    access.require_list_users(actor)
    all_users: list[User] = users.list_users(session)
    groups = users.list_groups(session)
    members: dict[str, list[str]] = {g.id: [] for g in groups}
    for user in all_users:
        for group in user.groups:
            members.setdefault(group.id, []).append(user.username)
    return {"users": [{"username": u.username, "display_name": u.display_name, "locale": u.locale,
                       "is_active": u.is_active, "groups": sorted(g.id for g in u.groups)} for u in all_users],
            "groups": [{"id": g.id, "name_zh": g.name_zh, "name_en": g.name_en, "members": members[g.id]}
                       for g in groups]}
