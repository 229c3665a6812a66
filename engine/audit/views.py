"""Read side of the auditors' pages: the instance list, one instance's history with what each event changed,
its SLA outcomes and verdict, and its replay on its own diagram.

Who may look is engine.access.may_audit (auditors, process owners, managers); every look at an instance is
written to the access log (engine.audit.verification.log_access) in the same unit of work as the read itself.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, or_, select
from sqlalchemy.orm import Session

import forms
from engine import access, clock
from engine.audit import verification as audit
from engine.desk import conversation
from engine.desk.sla import REMINDER_FORMS
from engine.errors import NotFound, OpsflowError
from engine.process import definitions, history
from engine.status import InstanceStatus, TaskState
from engine.store.models import HistoryEvent, ProcessDefinition, ProcessInstance, ServiceCase, TaskRecord
from engine.users import Actor

STATUSES = tuple(InstanceStatus)
PAGE_SIZE = 50
PAGE_SIZE_MAX = 200
# Event kinds in the order a case usually meets them (the filter lists them so).
KINDS = (history.INSTANCE_STARTED, history.TASK_READY, history.TASK_CLAIMED, history.TASK_RELEASED,
         history.TASK_ASSIGNED, history.TASK_COMPLETED, history.TASK_CANCELLED, history.GATEWAY_TAKEN,
         history.TIMER_FIRED, history.FAULT_LEVEL_CHANGED, history.REQUEST_CHASED, history.COMPLAINT_RAISED,
         history.SOLUTION_LINKED, history.NO_REUSABLE_SOLUTION, history.INSTANCE_MIGRATED, history.INSTANCE_ENDED,
         history.INSTANCE_FAILED, history.ALERT_REPEATED, history.ALERT_RESOLVED, history.ZONE_CORRECTED,
         history.HANDED_OVER, history.CASE_AUTO_CLOSED, history.ATTACHMENT_ADDED, history.COMMENT_ADDED)
# The case record's deadline columns (engine.desk.case, engine.desk.sla), one per SLA target.
SLA_TARGETS = ("respond", "plan", "resolve", "emergency_plan", "fault_report")
# Events that record an element being entered: counted for the replay's "visited n times".
_ENTRY_KINDS = frozenset({history.TASK_READY, history.GATEWAY_TAKEN, history.TIMER_FIRED, history.INSTANCE_ENDED})

_instances = cast(Table, ProcessInstance.__table__)
_definitions = cast(Table, ProcessDefinition.__table__)
_tasks = cast(Table, TaskRecord.__table__)
_events = cast(Table, HistoryEvent.__table__)
_cases = cast(Table, ServiceCase.__table__)

_INSTANCE_COLUMNS = (
    _instances.c.id, _instances.c.process_id, _definitions.c.name.label("process_name"), _definitions.c.version,
    _instances.c.definition_id, _definitions.c.sha256, _instances.c.status, _instances.c.title,
    _instances.c.number, _instances.c.fault_level, _instances.c.started_by, _instances.c.started_at,
    _instances.c.ended_at,
    _cases.c.resolved_at, _cases.c.chase_count, _cases.c.is_complaint, _instances.c.last_event_seq,
    *(_cases.c[f"{target}_due_at"] for target in SLA_TARGETS),
)
# The case record (engine.desk.case) is the desk's; an instance started without its rules has none.
_INSTANCES_FROM = _instances.join(_definitions, _definitions.c.id == _instances.c.definition_id).outerjoin(
    _cases, _cases.c.instance_id == _instances.c.id)


# --- the list -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InstancesPage:
    """Instances newest first, the cursor of the next (older) page, how many match, the processes to filter by."""

    rows: list[dict[str, Any]]
    next_cursor: int | None
    total: int
    processes: list[tuple[str, str]] = field(default_factory=list)


def instances_page(session: Session, *, actor: Actor, process_id: str | None = None, status: str | None = None,
                   before: int | None = None, limit: int = PAGE_SIZE) -> InstancesPage:
    """One page of every instance, newest first (keyset on id), optionally of one process or status."""
    access.require_audit(actor)
    limit = max(1, min(limit, PAGE_SIZE_MAX))
    query = select(*_INSTANCE_COLUMNS).select_from(_INSTANCES_FROM)
    count = select(func.count()).select_from(_instances)
    if process_id:
        query, count = query.where(_instances.c.process_id == process_id), count.where(
            _instances.c.process_id == process_id)
    if status:
        query, count = query.where(_instances.c.status == status), count.where(_instances.c.status == status)
    if before is not None:
        query = query.where(_instances.c.id < before)
    rows = session.execute(query.order_by(_instances.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    newest = (select(_definitions.c.process_id, func.max(_definitions.c.version).label("version"))
              .group_by(_definitions.c.process_id).subquery())
    processes = session.execute(select(_definitions.c.process_id, _definitions.c.name).join(
        newest, (newest.c.process_id == _definitions.c.process_id) & (newest.c.version == _definitions.c.version))
        .order_by(_definitions.c.process_id)).all()
    return InstancesPage([dict(r._mapping) for r in rows], rows[-1].id if more else None,
                         int(session.execute(count).scalar_one()), [(p.process_id, p.name) for p in processes])


def _instance(session: Session, instance_id: int) -> dict[str, Any]:
    row = session.execute(select(*_INSTANCE_COLUMNS).select_from(_INSTANCES_FROM)
                          .where(_instances.c.id == instance_id)).one_or_none()
    if row is None:
        raise NotFound(f"instance {instance_id} does not exist", reason="instance_missing",
                       params={"instance_id": instance_id})
    return dict(row._mapping)


# --- one instance's history -----------------------------------------------------------------------

def data_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed from one state of the instance data to the next: added, changed and removed keys."""
    changes = []
    for key, value in after.items():
        if key not in before:
            changes.append({"key": key, "change": "added", "old": None, "new": value})
        elif before[key] != value:
            changes.append({"key": key, "change": "changed", "old": before[key], "new": value})
    changes += [{"key": key, "change": "removed", "old": value, "new": None}
                for key, value in before.items() if key not in after]
    return changes


def _element_names(session: Session, instance: dict[str, Any]) -> dict[str, str]:
    """Element id -> name in the instance's version (the id itself where the element has no name)."""
    try:
        return dict(definitions.parsed_by_id(session, instance["definition_id"], instance["sha256"]).element_names)
    except OpsflowError:
        return {}


def _events_with_changes(session: Session, instance_id: int, element_names: dict[str, str],
                         steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every event with the instance data and variables it left behind, from the re-executed `steps`.

    Where the definition cannot be loaded there is nothing to re-execute: the events alone, no changes.
    """
    if not steps:
        steps = [{"event": history.event_to_dict(e), "data": {}, "variables": {}, "divergence": None, "replayed": False}
                 for e in history.events_of(session, instance_id)]
    events = []
    names: dict[int, str] = {}  # task record id -> name, as its task_ready event gave it
    data: dict[str, Any] = {}
    variables: dict[str, Any] = {}
    for step in steps:
        event = step["event"]
        name = event["payload"].get("name")
        if name and event["task_id"] is not None:
            names[event["task_id"]] = name
        replayed = step.get("replayed", True)
        name = name or names.get(event["task_id"]) or element_names.get(event["element_id"] or "")
        events.append({**event, "name": name,
                       "changes": data_changes(data, step["data"]) if replayed else [],
                       "variable_changes": data_changes(variables, step["variables"]) if replayed else [],
                       "replayed": replayed, "divergence": step["divergence"]})
        data, variables = step["data"], step["variables"]
    return events


def sla_outcomes(session: Session, instance: dict[str, Any], *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Each SLA target of the instance, met or missed: tasks with a due time against their completion,
    then the deadlines no task carries; resolution always against `resolved_at` (see `_resolution`)."""
    now = now or clock.now()
    deadlines = {target: instance[f"{target}_due_at"] for target in SLA_TARGETS}
    resolver_id = _resolver(session, instance["id"]) if instance["resolved_at"] is not None else None
    wanted: ColumnElement[bool] = _tasks.c.due_at.is_not(None)
    if resolver_id is not None:  # and the step that resolved the case, with a due time or not
        wanted = or_(wanted, _tasks.c.id == resolver_id)
    rows = session.execute(
        select(_tasks.c.id, _tasks.c.element_id, _tasks.c.name, _tasks.c.form_key, _tasks.c.state, _tasks.c.due_at,
               _tasks.c.completed_at, _tasks.c.completed_by)
        .where(_tasks.c.instance_id == instance["id"], wanted).order_by(_tasks.c.id)).all()
    outcomes: list[dict[str, Any]] = []
    carried = set()
    resolving = []  # steps that carry the resolution target, and the one that resolved the case
    resolution_at = None  # where the resolution outcome goes: in the place of the first step carrying it
    for row in rows:
        if row.form_key in REMINDER_FORMS:  # they carry the due time of the target they chase; not a target
            continue
        target = next((t for t, due in deadlines.items() if due is not None and due == row.due_at), None)
        if target == "resolve" or row.due_at is None:
            # A step showing the resolve due time that does not answer 是否解决 (the callback) resolves nothing.
            if row.due_at is None or _answers_resolved(row.form_key):
                resolving.append(row)
            if target == "resolve" and resolution_at is None:
                resolution_at = len(outcomes)
            continue
        carried.add(target)
        if row.state == TaskState.COMPLETED:
            state = "met" if row.completed_at is not None and row.completed_at <= row.due_at else "missed"
        elif row.state == TaskState.CANCELLED:
            state = "cancelled"
        else:
            state = "missed" if now > row.due_at else "open"
        outcomes.append({"target": target, "task_id": row.id, "element_id": row.element_id, "name": row.name,
                         "form_key": row.form_key, "due_at": row.due_at, "done_at": row.completed_at,
                         "done_by": row.completed_by, "state": state})
    if resolution_at is not None:
        outcomes.insert(resolution_at, _resolution(instance, deadlines["resolve"], resolving, resolver_id, now))
        carried.add("resolve")
    for target, due in deadlines.items():
        if due is None or target in carried:
            continue
        if target == "resolve":
            outcomes.append(_resolution(instance, due, resolving, resolver_id, now))
            continue
        if instance["status"] == InstanceStatus.RUNNING:
            state = "missed" if now > due else "open"
        else:
            state = "untracked"
        outcomes.append({"target": target, "task_id": None, "element_id": None, "name": None, "form_key": None,
                         "due_at": due, "done_at": None, "done_by": None, "state": state})
    return outcomes


def _answers_resolved(form_key: str | None) -> bool:
    """Whether a step's form asks 是否解决 (the `resolved` field every resolution form has)."""
    try:
        return form_key is not None and any(f.id == "resolved" for f in forms.get_form(form_key).fields)
    except forms.UnknownFormKey:
        return False


def _resolver(session: Session, instance_id: int) -> int | None:
    """The task whose completion resolved the case: the first answered 是否解决 = 是 (when
    engine.process.runtime sets the instance's resolved_at)."""
    completions = session.execute(select(_events.c.task_record_id, _events.c.payload).where(
        _events.c.instance_id == instance_id, _events.c.kind == history.TASK_COMPLETED).order_by(_events.c.seq))
    return next((task_id for task_id, payload in completions if (payload.get("data") or {}).get("resolved") is True),
                None)


def _resolution(instance: dict[str, Any], due: dt.datetime, resolving: list[Any], resolver_id: int | None,
                now: dt.datetime) -> dict[str, Any]:
    """The resolution target, judged by when the case was resolved, never by a step being completed: a remote
    fix answered 是否解决 = 否 resolves nothing. Met when resolved by the due time; missed when resolved later,
    past due unresolved, or closed unresolved by the steps that were to resolve it; open until then."""
    done = instance["resolved_at"]
    # The step shown: the one that resolved the case, else the last one that was to resolve it.
    resolver = next((r for r in resolving if r.id == resolver_id), None)
    step = resolver or next((r for r in reversed(resolving) if r.due_at is not None), None)
    if done is not None:
        state = "met" if done <= due else "missed"
    elif instance["status"] == "running":
        state = "missed" if now > due else "open"
    else:
        state = "missed" if step is not None else "untracked"
    return {"target": "resolve", "task_id": step.id if step else None, "element_id": step.element_id if step else None,
            "name": step.name if step else None, "form_key": step.form_key if step else None, "due_at": due,
            "done_at": done, "done_by": resolver.completed_by if resolver else None, "state": state}


def history_page(session: Session, *, instance_id: int, actor: Actor, kind: str | None = None,
                 who: str | None = None) -> dict[str, Any]:
    """Everything the history page shows: the instance, its events (filtered by kind and actor) each with
    what it changed, the SLA outcomes and the verification verdict; the look is logged as 'view'."""
    access.require_audit(actor)
    instance = _instance(session, instance_id)
    element_names = _element_names(session, instance)
    verdict, steps = audit.verify_with_steps(session, instance_id)  # one re-execution serves both
    events = _events_with_changes(session, instance_id, element_names, steps)
    shown = [e for e in events if (kind is None or e["kind"] == kind) and (who is None or e["actor"] == who)]
    audit.log_access(session, actor.username, "view", instance_id,
                     {"kind": kind, "actor": who, "events": len(shown), "ok": verdict.ok})
    present = {e["kind"] for e in events}
    return {"instance": instance, "events": shown, "total_events": len(events),
            "kinds": [k for k in KINDS if k in present] + sorted(present - set(KINDS)),
            "actors": sorted({e["actor"] for e in events if e["actor"]}),
            "verdict": verdict, "sla": sla_outcomes(session, instance), "element_names": element_names,
            "comments": conversation.for_audit(session, instance_id)}


# --- replay ---------------------------------------------------------------------------------------

def replay_page(session: Session, *, instance_id: int, actor: Actor) -> dict[str, Any]:
    """The instance the replay page shows (its steps come as JSON); the look is logged as 'replay'."""
    access.require_audit(actor)
    instance = _instance(session, instance_id)
    audit.log_access(session, actor.username, "replay", instance_id, {"part": "page"})
    return {"instance": instance}


def replay_steps(session: Session, *, instance_id: int, actor: Actor) -> dict[str, Any]:
    """The diagram of the instance's version and its state after each event, with how often each element
    had been entered by then (from the events that record an entry); logged as 'replay'."""
    access.require_audit(actor)
    instance = _instance(session, instance_id)
    sources = session.scalars(select(ProcessDefinition.sources)
                              .where(ProcessDefinition.id == instance["definition_id"])).one()
    steps = audit.replay_steps(session, instance_id)
    visits: dict[str, int] = {}
    for step in steps:
        event = step["event"]
        if event["kind"] in _ENTRY_KINDS and event["element_id"]:
            visits[event["element_id"]] = visits.get(event["element_id"], 0) + 1
        step["visits"] = dict(visits)
    audit.log_access(session, actor.username, "replay", instance_id, {"part": "steps", "steps": len(steps)})
    return {"instance": instance, "xml": sources[0]["xml"], "steps": steps}


# --- export and verification ----------------------------------------------------------------------

def export_history(session: Session, *, instance_id: int, fmt: str, actor: Actor) -> str:
    """The instance's history as JSON or CSV with every hash (engine.audit.verification.history_export logs it)."""
    access.require_audit(actor)
    return audit.history_export(session, instance_id, fmt=fmt, actor=actor.username)


def verify_summary(session: Session, *, actor: Actor) -> dict[str, Any]:
    """Verify every instance (logged as 'verify' each) and sum it up: counts and the ones that diverge."""
    access.require_audit(actor)
    verdicts = audit.verify_all(session, actor=actor.username)
    failed = [v for v in verdicts if not v.ok]
    return {"instances": len(verdicts), "events": sum(v.events_checked for v in verdicts),
            "ok": len(verdicts) - len(failed), "failed": failed}
