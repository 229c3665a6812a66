"""Process instance runtime: the only code that drives SpiffWorkflow.

Every public function here is one state change of one instance: it checks the rules, advances
the workflow until it waits, mirrors ready user tasks into task records, appends history, and
saves the state with an optimistic version check. The caller's transaction commits it all or
nothing; the live workflow is handed back to the cache only after commit.

Writes on this path are prebuilt statements run directly on the driver (engine.store.direct), not the
ORM unit of work: a step is a handful of statements, and the bookkeeping cost more than the database did.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, NamedTuple, ParamSpec, TypeVar, cast
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Boolean, String, Table, bindparam, case, func, insert, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

import forms
from engine import users
from engine.desk import notify, sla
from engine.errors import Conflict, ExpressionRefused, Forbidden, InvalidInput, NotFound, ProcessFailed
from engine.process import clock, definitions, history, persistence, spiff_fixes, timers
from engine.store.db import after_commit
from engine.store.direct import DirectStatement
from engine.store.models import ProcessDefinition, ProcessInstance, TaskRecord
from engine.users import Actor

spiff_fixes.apply()

# Instance columns mirrored from workflow data, so lists can show them without the workflow.
_MIRRORED_FIELDS = ("title", "fault_level")
_GATEWAY_KINDS = ("ExclusiveGateway", "InclusiveGateway", "ParallelGateway", "EventBasedGateway")
INITIATOR = "${initiator}"

P = ParamSpec("P")
R = TypeVar("R")

_instances = cast(Table, ProcessInstance.__table__)
_tasks = cast(Table, TaskRecord.__table__)
_definitions = cast(Table, ProcessDefinition.__table__)
# Statements built once: building SQLAlchemy expressions per call cost more than running them.
# The writes of every change run directly on the driver (engine.store.direct).
_COMPLETE_TASK = DirectStatement(
    update(_tasks).where(_tasks.c.id == bindparam("task_id"), _tasks.c.state == "ready")
    .values(state="completed", completed_at=bindparam("now"), completed_by=bindparam("user"),
            assignee=bindparam("assignee")))
_SELECT_OPEN_TASKS = (select(_tasks.c.id, _tasks.c.spiff_task_id, _tasks.c.element_id)
                      .where(_tasks.c.instance_id == bindparam("instance_id"), _tasks.c.state == "ready"))
_CANCEL_TASK = DirectStatement(update(_tasks).where(_tasks.c.id == bindparam("task_record_id"))
                               .values(state="cancelled", completed_at=bindparam("now")))
_INSERT_INSTANCE = DirectStatement(insert(_instances).returning(_instances.c.id))
_INSERT_TASKS = DirectStatement(insert(_tasks).returning(_tasks.c.spiff_task_id, _tasks.c.id))
_SELECT_WORKFLOW_STATE = select(_instances.c.workflow_state).where(_instances.c.id == bindparam("instance_id"))
_SAVE_INSTANCE_ROW = (update(_instances)
                  .where(_instances.c.id == bindparam("instance_id"),
                         _instances.c.lock_version == bindparam("expected_version"))
                  .values(lock_version=bindparam("new_version"), last_event_seq=bindparam("seq"),
                          last_event_hash=bindparam("hash"), title=bindparam("new_title"),
                          fault_level=bindparam("new_fault_level"), status=bindparam("new_status"),
                          ended_at=func.coalesce(bindparam("new_ended_at"), _instances.c.ended_at),
                          workflow_state=func.coalesce(bindparam("new_state"), _instances.c.workflow_state)))
_CONFLICT = "someone else changed this instance at the same time; nothing was saved, reload and try again"


def _one_instant(function: Callable[P, R]) -> Callable[P, R]:
    """Run a whole state change at one instant of the engine clock, so every time it records —
    event times, timer due times, lateness — is exactly reproducible on replay."""
    @wraps(function)
    def at_one_instant(*args: P.args, **kwargs: P.kwargs) -> R:
        with clock.frozen(clock.now()):
            return function(*args, **kwargs)
    return at_one_instant


@dataclass
class InstanceState:
    """The instance row as one state change sees and updates it (plain data, not an ORM object)."""

    id: int
    process_id: str
    definition_id: int
    definition_sha256: str
    status: str
    title: str | None
    fault_level: str | None
    started_by: str | None
    started_at: Any
    resolved_at: Any
    lock_version: int
    last_event_seq: int
    last_event_hash: str
    # Deadline columns this change sets; written with the instance row (one UPDATE per change).
    deadlines: dict[str, Any] = field(default_factory=dict)


_STATE_COLUMNS = (_instances.c.id, _instances.c.process_id, _instances.c.definition_id,
                  _definitions.c.sha256.label("definition_sha256"), _instances.c.status, _instances.c.title,
                  _instances.c.fault_level, _instances.c.started_by, _instances.c.started_at,
                  _instances.c.resolved_at, _instances.c.lock_version,
                  _instances.c.last_event_seq, _instances.c.last_event_hash)


@dataclass
class _Change:
    """One state change in progress: the instance, its live workflow and what to record."""

    session: Session
    instance: InstanceState
    workflow: BpmnWorkflow
    definition: definitions.ParsedDefinition
    recorder: history.Recorder
    actor: str | None
    new_tasks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class InstanceRef:
    """What a state change returns: enough to show or fetch the instance, and the tasks it opened."""

    id: int
    status: str
    lock_version: int
    new_tasks: tuple[dict[str, Any], ...] = ()


def _validate_form(form_key: str | None, data: dict[str, Any], *, locale: str = "en") -> dict[str, Any]:
    if not form_key:
        if data:
            raise InvalidInput("this step has no form; submit no data")
        return {}
    try:
        form = forms.get_form(form_key)
    except forms.UnknownFormKey:
        raise InvalidInput(f"form {form_key!r} is not defined") from None
    try:
        return form.validate(data, locale=locale)
    except forms.FormValidationError as exc:
        raise InvalidInput(f"form {form_key!r} has errors", field_errors=exc.errors) from None


def _engine_steps(change: _Change) -> None:
    try:
        change.workflow.do_engine_steps()
    except ExpressionRefused:
        raise
    except SpiffWorkflowException as exc:
        task = getattr(exc, "task", None)
        spec = task.task_spec if task is not None else getattr(exc, "task_spec", None)
        element = getattr(spec, "bpmn_id", None)
        inner = getattr(exc, "exception", None)
        cause = getattr(exc, "error", None) or exc
        message = (f"expression refused: {inner.message}" if isinstance(inner, ExpressionRefused)
                   else f"the process cannot continue: {cause}")
        raise ProcessFailed(message, process_id=change.instance.process_id, version=change.definition.version,
                            element_id=element) from None


def task_group(task: SpiffTask) -> tuple[str | None, str | None, str | None]:
    """(candidate group, assignee, form key) of a user task, as its task record gets them."""
    extensions = getattr(task.task_spec, "extensions", {}) or {}
    form = getattr(task.task_spec, "form", None)
    form_key = extensions.get("formKey") or getattr(form, "key", None)
    group = extensions.get("candidateGroups")
    if group and "," in group:
        group = group.split(",")[0].strip()  # one owning group per task; the first listed
    return group, extensions.get("assignee"), form_key


def _elements_of(task: SpiffTask) -> list[str]:
    """The BPMN element a task stands for; a task with boundary events sits behind an unnamed
    split task, whose non-boundary child is the element."""
    element = getattr(task.task_spec, "bpmn_id", None)
    if element:
        return [element]
    return [c.task_spec.bpmn_id for c in task.children
            if getattr(c.task_spec, "bpmn_id", None) and "Boundary" not in type(c.task_spec).__name__]


def passed_tasks(workflow: BpmnWorkflow, since: float) -> list[SpiffTask]:
    """The BPMN elements the engine ran by itself since `since` (not user tasks), in order.

    Public because the audit's re-execution must derive its expectations exactly as we record.
    """
    return sorted((t for t in workflow.tasks.values()
                   if t.last_state_change >= since and t.state == TaskState.COMPLETED
                   and not t.task_spec.manual and getattr(t.task_spec, "bpmn_id", None)),
                  key=lambda t: t.last_state_change)


def gateway_decisions(passed: list[SpiffTask]) -> list[tuple[str, str | None, list[str]]]:
    """(gateway id, gateway name, element ids the token went to) for each gateway passed."""
    return [(task.task_spec.bpmn_id, task.task_spec.bpmn_name,
             [element for c in task.children if c.state != TaskState.CANCELLED for element in _elements_of(c)])
            for task in passed if type(task.task_spec).__name__ in _GATEWAY_KINDS]


def _record_path(change: _Change, since: float) -> list[SpiffTask]:
    """Append gateway events for what the engine just ran; return the tasks it passed, in order."""
    passed = passed_tasks(change.workflow, since)
    for gateway, name, taken in gateway_decisions(passed):
        change.recorder.add(history.GATEWAY_TAKEN, actor=change.actor, element_id=gateway,
                            payload={"name": name, "taken": taken})
    return passed


def ready_user_tasks(workflow: BpmnWorkflow) -> list[SpiffTask]:
    """READY user tasks; a flat scan of the task map is far cheaper than a tree walk when there are
    no subprocesses (whose tasks only the walk finds)."""
    if workflow.subprocesses:
        return list(workflow.get_tasks(state=TaskState.READY, manual=True))
    return [t for t in workflow.tasks.values() if t.state == TaskState.READY and t.task_spec.manual]


@dataclass(frozen=True)
class OpenTask:
    id: int
    element_id: str


_OPEN = "_opsflow_open_tasks"


def _open_records(session: Session, instance_id: int, workflow: BpmnWorkflow) -> dict[str, OpenTask]:
    """Open task records by SpiffWorkflow task id; kept on a cached workflow to save a query per step.

    Valid because records only change through this module, under the same instance version as
    the workflow object (a workflow from another version is never taken from the cache).
    """
    return persistence.kept_on(workflow, _OPEN, lambda: {
        row.spiff_task_id: OpenTask(row.id, row.element_id)
        for row in session.connection().execute(_SELECT_OPEN_TASKS, {"instance_id": instance_id})})


def _sync_task_records(change: _Change) -> None:
    """Mirror READY user tasks into task records; close records whose task went away."""
    session, instance, workflow = change.session, change.instance, change.workflow
    ready = {str(t.id): t for t in ready_user_tasks(workflow)}
    open_records = _open_records(session, instance.id, workflow)
    now = clock.now()
    gone = [(spiff_id, row) for spiff_id, row in open_records.items() if spiff_id not in ready]
    if gone:
        _CANCEL_TASK.run(session, [{"task_record_id": row.id, "now": now} for _, row in gone])
        for _, row in gone:
            change.recorder.add(history.TASK_CANCELLED, actor=change.actor, element_id=row.element_id,
                                task_record_id=row.id)
    new_rows = []
    for spiff_id, task in ready.items():
        if spiff_id in open_records:
            continue
        group, assignee, form_key = task_group(task)
        if assignee == INITIATOR:
            assignee = instance.started_by
        new_rows.append({"instance_id": instance.id, "spiff_task_id": spiff_id, "element_id": task.task_spec.bpmn_id,
                         "name": task.task_spec.bpmn_name or task.task_spec.bpmn_id, "lane": task.task_spec.lane,
                         "candidate_group": group, "form_key": form_key, "state": "ready", "assignee": assignee,
                         "created_at": now, "due_at": _task_due(task, form_key)})
    for spiff_id, _ in gone:
        del open_records[spiff_id]
    if new_rows:
        _mail_escalations(session, instance, [r for r in new_rows if r["form_key"] == "sla_escalation"])
        ids: dict[str, int] = dict(_INSERT_TASKS.run(session, new_rows).rows)
        for new in new_rows:
            task_id = ids[new["spiff_task_id"]]
            open_records[new["spiff_task_id"]] = OpenTask(task_id, new["element_id"])
            change.new_tasks.append({"id": task_id, "element_id": new["element_id"],
                                     "group": new["candidate_group"], "assignee": new["assignee"]})
            change.recorder.add(history.TASK_READY, actor=change.actor, element_id=new["element_id"],
                                task_record_id=task_id,
                                payload={"name": new["name"], "group": new["candidate_group"],
                                         "assignee": new["assignee"], "form_key": new["form_key"]})


def _task_due(task: SpiffTask, form_key: str | None) -> Any:
    """The SLA due time an inbox shows for a task: its own target, or for a warning/escalation
    task the target of the task its boundary timer is attached to."""
    target = sla.task_target(task.task_spec)
    if target is None and form_key in ("sla_warning", "sla_escalation"):
        split = task.parent.parent if task.parent is not None else None
        siblings = split.children if split is not None else []
        target = next((t for t in (sla.task_target(s.task_spec) for s in siblings) if t), None)
    elif form_key == "emergency_plan":
        target = "emergency_plan"
    value = task.workflow.top_workflow.data.get(f"{sla.PREFIX}{target}_due") if target else None
    if not value:
        return None
    due = dt.datetime.fromisoformat(value)
    return None if due >= sla.NEVER else due


def _sla_variables(session: Session, instance: InstanceState, cleaned: dict[str, Any],
                   now: dt.datetime) -> dict[str, Any]:
    """New SLA deadlines when this step sets or changes the fault level, or resolves the fault."""
    variables: dict[str, Any] = {}
    level = cleaned.get("fault_level")
    if level and level != instance.fault_level:
        variables.update(sla.deadline_variables(sla.get_policy(session, level), instance.started_at))
    if cleaned.get("resolved") is True and instance.resolved_at is None:
        instance.resolved_at = now
        policy = sla.get_policy(session, level or instance.fault_level)
        variables.update(sla.fault_report_variables(policy, now))
    return variables


def set_instance_variables(workflow: BpmnWorkflow, variables: dict[str, Any]) -> None:
    """Deadlines live in the workflow's own data, where every expression sees them (see
    engine.process.expressions); waiting timers computed their due time already, so they are re-armed."""
    workflow.data.update(variables)
    for task in timers.waiting_timers(workflow).values():
        task.internal_data.pop("event_value", None)
    workflow.refresh_timers()


_DEADLINE_COLUMNS = ("respond_due_at", "plan_due_at", "resolve_due_at", "emergency_plan_due_at",
                     "fault_report_due_at", "resolved_at")
# Each column keeps its value unless this change sets it (possibly to NULL: a level without the rule).
_SAVE_INSTANCE = DirectStatement(_SAVE_INSTANCE_ROW)
_SAVE_INSTANCE_AND_DEADLINES = DirectStatement(_SAVE_INSTANCE_ROW.values(
    {name: case((bindparam(f"set_{name}", type_=Boolean) == true(),
                 bindparam(f"new_{name}", type_=_instances.c[name].type)),
                else_=_instances.c[name])
     for name in _DEADLINE_COLUMNS}))


def _stage_deadlines(instance: InstanceState, variables: dict[str, Any]) -> None:
    """Note the deadline columns `variables` set; `_save_instance` writes them with the row."""
    values: dict[str, Any] = {k: v for k, v in sla.instance_deadlines(variables).items()
                              if f"{sla.PREFIX}{k.removesuffix('_at')}" in variables}
    if instance.resolved_at is not None:
        values["resolved_at"] = instance.resolved_at
    instance.deadlines.update(values)


def _mail_escalations(session: Session, instance: InstanceState, escalations: list[dict[str, Any]]) -> None:
    """Escalation tasks also reach their group by mail when SMTP is configured — after commit,
    best effort, so mail can never undo or delay an escalation."""
    settings = notify.settings_from_env() if escalations else None
    if settings is None:
        return
    for row in escalations:
        recipients = users.group_emails(session, row["candidate_group"]) if row["candidate_group"] else []
        if not recipients:
            continue
        step = int(row["element_id"].rsplit("_", 1)[-1]) if row["element_id"][-1:].isdigit() else 1
        after_commit(session, _mailer(recipients, instance_id=instance.id, title=instance.title,
                                      task_name=row["name"], group=row["candidate_group"], due_at=row["due_at"],
                                      step=step, fault_level=instance.fault_level, settings=settings))


def _mailer(recipients: list[str], **message: Any) -> Callable[[], None]:
    def send() -> None:
        notify.notify_escalation(recipients, **message)
    return send


def _mirror_fields(instance: InstanceState, data: dict[str, Any]) -> None:
    for name in _MIRRORED_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value:
            setattr(instance, name, value[:200])


def _save_instance(session: Session, instance: InstanceState, *, workflow_state: str | None = None,
                   ended_at: Any = None) -> None:
    """Write the instance row if nobody else did since we read it; bump its version."""
    params = {
        "instance_id": instance.id, "expected_version": instance.lock_version,
        "new_version": instance.lock_version + 1, "seq": instance.last_event_seq, "hash": instance.last_event_hash,
        "new_title": instance.title, "new_fault_level": instance.fault_level, "new_status": instance.status,
        "new_ended_at": ended_at, "new_state": workflow_state}
    statement = _SAVE_INSTANCE
    if instance.deadlines:
        statement = _SAVE_INSTANCE_AND_DEADLINES
        for name in _DEADLINE_COLUMNS:
            params[f"set_{name}"] = name in instance.deadlines
            params[f"new_{name}"] = instance.deadlines.get(name)
    if statement.run(session, params).rowcount != 1:
        raise Conflict(_CONFLICT, process_id=instance.process_id)
    instance.lock_version += 1
    instance.deadlines = {}


def _finish(change: _Change, since: float, *, fired_by: str | None = None) -> InstanceRef:
    """Run the engine until it waits, record what happened, save."""
    _engine_steps(change)
    path = _record_path(change, since)
    _sync_task_records(change)
    workflow, instance = change.workflow, change.instance
    timers.sync(change.session, instance_id=instance.id, workflow=workflow, recorder=change.recorder,
                actor=change.actor, fired_by=fired_by)
    persistence.compact(workflow)  # engine.audit.verification compacts at the same point of its re-execution
    values: dict[str, Any] = {"workflow_state": persistence.dump(workflow)}
    if workflow.is_completed() and instance.status == "running":
        instance.status = "completed"
        values["ended_at"] = clock.now()
        ends = [t.task_spec.bpmn_id for t in path if type(t.task_spec).__name__ == "EndEvent"]
        change.recorder.add(history.INSTANCE_ENDED, actor=change.actor, element_id=ends[-1] if ends else None,
                            payload={"status": "completed"})
    # The instance row first: a racing change of the same instance queues on it and then conflicts,
    # instead of colliding on the history's (instance, seq) key.
    _save_instance(change.session, instance, **values)
    change.recorder.flush(change.session)
    instance_id, version = instance.id, instance.lock_version
    after_commit(change.session, lambda: persistence.workflow_cache.checkin(instance_id, version, workflow))
    return InstanceRef(instance.id, instance.status, instance.lock_version, tuple(change.new_tasks))


_SELECT_STATE = (select(*_STATE_COLUMNS).join(_definitions, _definitions.c.id == _instances.c.definition_id)
                 .where(_instances.c.id == bindparam("instance_id")))


# One round trip for the task and its instance: the start of every completion.
_SELECT_TASK_AND_STATE = (select(_tasks, *_STATE_COLUMNS)
                          .join(_instances, _instances.c.id == _tasks.c.instance_id)
                          .join(_definitions, _definitions.c.id == _instances.c.definition_id)
                          .where(_tasks.c.id == bindparam("task_id")))


class _TaskRow(NamedTuple):
    """A task_record row, in column order (checked below)."""

    id: int
    instance_id: int
    spiff_task_id: str
    element_id: str
    name: str
    lane: str | None
    candidate_group: str | None
    form_key: str | None
    state: str
    assignee: str | None
    due_at: Any
    created_at: Any
    completed_at: Any
    completed_by: str | None


assert list(_TaskRow._fields) == [c.name for c in _tasks.c], "update _TaskRow with task_record's columns"


def _load_state(session: Session, instance_id: int) -> InstanceState:
    row = session.connection().execute(_SELECT_STATE, {"instance_id": instance_id}).one_or_none()
    if row is None:
        raise NotFound(f"instance {instance_id} does not exist")
    return InstanceState(**row._mapping)


def _open_change(session: Session, instance: InstanceState, actor: str | None) -> _Change:
    parsed = definitions.parsed_by_id(session, instance.definition_id, instance.definition_sha256)
    workflow = persistence.workflow_cache.checkout(instance.id, instance.lock_version)
    if workflow is None:
        state = session.connection().scalar(_SELECT_WORKFLOW_STATE, {"instance_id": instance.id})
        workflow = persistence.load(str(state), parsed)
    return _Change(session, instance, workflow, parsed, history.Recorder(instance), actor)


@_one_instant
def start_instance(session: Session, *, process_id: str, data: dict[str, Any], actor: Actor,
                   version: int | None = None, locale: str = "en") -> InstanceRef:
    """Start the newest (or given) version of a process with its start-form data (errors in `locale`)."""
    definition = definitions.get_definition(session, process_id, version)
    if actor.groups <= {"auditor"}:
        raise Forbidden("auditors cannot start processes")
    cleaned = _validate_form(definition.start_form_key, data, locale=locale)
    parsed = definitions.parsed(definition)
    now = clock.now()
    instance = InstanceState(id=0, process_id=definition.process_id, definition_id=definition.id,
                             definition_sha256=definition.sha256, status="running", title=None, fault_level=None,
                             started_by=actor.username, started_at=now, resolved_at=None, lock_version=0,
                             last_event_seq=0, last_event_hash="")
    _mirror_fields(instance, cleaned)
    instance.id = _INSERT_INSTANCE.run(session, dict(
        definition_id=definition.id, process_id=definition.process_id, status="running", title=instance.title,
        fault_level=instance.fault_level, started_by=actor.username, started_at=now, workflow_state="",
        lock_version=0, chase_count=0, is_complaint=False, last_event_seq=0, last_event_hash="")).rows[0][0]
    workflow = persistence.new_workflow(parsed)
    # A new instance has no task records and no timer rows yet: nothing to read back.
    persistence.kept_on(workflow, _OPEN, dict)
    timers.start_tracking(workflow)
    change = _Change(session, instance, workflow, parsed, history.Recorder(instance), actor.username)
    # Data the engine adds (SLA deadlines) is recorded with the input, so replay can repeat it.
    engine_data = (sla.deadline_variables(sla.get_policy(session, cleaned.get("fault_level")), now)
                   if sla.uses_sla(parsed) else {})
    change.recorder.add(history.INSTANCE_STARTED, actor=actor.username, at=now,
                        payload={"process_id": definition.process_id, "version": definition.version,
                                 "data": cleaned, "form_key": definition.start_form_key, "engine_data": engine_data})
    since = time.time()
    change.workflow.data.update(engine_data)
    for task in change.workflow.get_tasks(state=TaskState.READY):
        task.set_data(**cleaned)
    _stage_deadlines(instance, engine_data)
    return _finish(change, since)


def _task_record(session: Session, task_id: int) -> TaskRecord:
    record = session.get(TaskRecord, task_id)
    if record is None:
        raise NotFound(f"task {task_id} does not exist")
    return record


def may_act(record: Any, actor: Actor) -> bool:
    """Whether the actor may claim or complete this task: assigned to them, or open to their group."""
    if record.assignee:
        return bool(record.assignee == actor.username)
    return record.candidate_group is None or record.candidate_group in actor.groups


def _require_open(record: Any) -> None:
    if record.state == "completed":
        by = f" by {record.completed_by}" if record.completed_by else ""
        at = f" at {record.completed_at:%Y-%m-%d %H:%M:%S} UTC" if record.completed_at else ""
        raise Conflict(f"task {record.id} ({record.name}) was already completed{by}{at}",
                       element_id=record.element_id)
    if record.state != "ready":
        raise Conflict(f"task {record.id} ({record.name}) is {record.state}", element_id=record.element_id)


def _require_may_act(record: Any, actor: Actor, verb: str) -> None:
    if not may_act(record, actor) or (actor.is_auditor and record.candidate_group not in actor.groups):
        who = f"assigned to {record.assignee}" if record.assignee else f"for group {record.candidate_group}"
        raise Forbidden(f"task {record.id} ({record.name}) is {who}; {actor.username} may not {verb} it",
                        element_id=record.element_id)


@_one_instant
def complete_task(session: Session, *, task_id: int, data: dict[str, Any], actor: Actor,
                  locale: str = "en") -> InstanceRef:
    """Complete a ready user task with form data and run the instance until it waits again."""
    row = session.connection().execute(_SELECT_TASK_AND_STATE, {"task_id": task_id}).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    record = _TaskRow(*row[:len(_tasks.c)])
    _require_open(record)
    _require_may_act(record, actor, "complete")
    cleaned = _validate_form(record.form_key, data, locale=locale)
    instance = InstanceState(*row[len(_tasks.c):])
    from engine.desk import knowledge  # closure gate and review outcomes (seed 003); to move onto a hook
    knowledge.before_complete(session, process_id=instance.process_id, instance_id=instance.id,
                              element_id=record.element_id, form_key=record.form_key, data=cleaned, actor=actor)
    change = _open_change(session, instance, actor.username)
    task = change.workflow.get_task_from_id(UUID(record.spiff_task_id))
    # SpiffWorkflow runs whatever it is given; refuse anything but the exact ready user task.
    if task is None or task.state != TaskState.READY or not task.task_spec.manual \
            or task.task_spec.bpmn_id != record.element_id:
        raise Conflict(f"task {record.id} is no longer waiting in the process", element_id=record.element_id,
                       process_id=instance.process_id)
    now = clock.now()
    # Claim the completion first: a racing completion blocks here and then finds the task done.
    claimed = _COMPLETE_TASK.run(session, {"task_id": task_id, "now": now, "user": actor.username,
                                               "assignee": record.assignee or actor.username})
    if claimed.rowcount != 1:
        raise Conflict(f"task {record.id} ({record.name}) was completed by someone else just now",
                       element_id=record.element_id)
    _open_records(session, instance.id, change.workflow).pop(record.spiff_task_id, None)
    since = time.time()
    engine_data = _sla_variables(session, instance, cleaned, now) if sla.uses_sla(change.definition) else {}
    if engine_data:
        set_instance_variables(change.workflow, engine_data)
        _stage_deadlines(instance, engine_data)
    task.set_data(**cleaned)
    task.run()
    _mirror_fields(instance, cleaned)
    payload = {"name": record.name, "form_key": record.form_key, "data": cleaned}
    if engine_data:
        payload["engine_data"] = engine_data
    change.recorder.add(history.TASK_COMPLETED, actor=actor.username, element_id=record.element_id,
                        task_record_id=record.id, at=now, payload=payload)
    return _finish(change, since)


SYSTEM_ACTOR = "system"


@_one_instant
def fire_timer(session: Session, *, timer_id: int, fired_by: str) -> InstanceRef | None:
    """Fire one due timer: claim its row, let the workflow react, record how late it was.

    Returns None when there is nothing to do (another process fired it, or it is not due).
    """
    row = timers.claim(session, timer_id, fired_by=fired_by)
    if row is None:
        return None
    instance = _load_state(session, row.instance_id)
    if instance.status != "running":
        return None
    change = _open_change(session, instance, SYSTEM_ACTOR)
    task = change.workflow.get_task_from_id(UUID(row.spiff_task_id))
    now = clock.now()
    late_ms = max(0, int((now - row.due_at).total_seconds() * 1000))
    since = time.time()
    change.workflow.refresh_timers()
    if task is not None and task.state == TaskState.WAITING:
        # Not due by the workflow's reckoning (clock skew between processes): leave it pending.
        timers.unclaim(session, row.id)
        return None
    if task is None:  # the workflow no longer has it; the row was stale
        return None
    timers.record_fired(change.recorder, task, row.id, row.due_at, late_ms, SYSTEM_ACTOR, fired_by)
    return _finish(change, since, fired_by=fired_by)


_REASSIGN = (update(_tasks).where(_tasks.c.id == bindparam("task_id"), _tasks.c.state == "ready",
                                  _tasks.c.assignee.is_not_distinct_from(bindparam("expected", type_=String)))
             .values(assignee=bindparam("new_assignee", type_=String)))


def _reassign(session: Session, record: TaskRecord, new_assignee: str | None, kind: str, actor: str,
              payload: dict[str, Any]) -> None:
    """Claim, release or assign: the instance version is bumped first (racers queue on its row and
    then conflict), the assignee changes only if nobody changed it meanwhile, and it is recorded."""
    instance = _load_state(session, record.instance_id)
    recorder = history.Recorder(instance)
    recorder.add(kind, actor=actor, element_id=record.element_id, task_record_id=record.id, payload=payload)
    _save_instance(session, instance)
    changed = session.connection().execute(_REASSIGN, {"task_id": record.id, "expected": record.assignee,
                                                       "new_assignee": new_assignee}).rowcount
    if changed != 1:
        raise Conflict(f"task {record.id} ({record.name}) was changed by someone else just now",
                       element_id=record.element_id)
    recorder.flush(session)
    set_committed_value(record, "assignee", new_assignee)
    _keep_cached_workflow(session, instance)


def _keep_cached_workflow(session: Session, instance: InstanceState) -> None:
    """After a change that did not touch the workflow, keep its cached copy valid under the new version."""
    workflow = persistence.workflow_cache.checkout(instance.id, instance.lock_version - 1)
    if workflow is not None:
        instance_id, version = instance.id, instance.lock_version
        after_commit(session, lambda: persistence.workflow_cache.checkin(instance_id, version, workflow))


@_one_instant
def claim_task(session: Session, *, task_id: int, actor: Actor) -> TaskRecord:
    """Take a group task for oneself, so no colleague works on it at the same time."""
    record = _task_record(session, task_id)
    _require_open(record)
    if record.assignee == actor.username:
        return record
    if record.assignee:
        raise Conflict(f"task {record.id} is already claimed by {record.assignee}", element_id=record.element_id)
    _require_may_act(record, actor, "claim")
    _reassign(session, record, actor.username, history.TASK_CLAIMED, actor.username, {"assignee": actor.username})
    return record


@_one_instant
def release_task(session: Session, *, task_id: int, actor: Actor) -> TaskRecord:
    """Give a claimed task back to its group."""
    record = _task_record(session, task_id)
    _require_open(record)
    if record.assignee != actor.username and not actor.is_manager:
        raise Forbidden(f"task {record.id} is not claimed by {actor.username}", element_id=record.element_id)
    _reassign(session, record, None, history.TASK_RELEASED, actor.username, {"previous_assignee": record.assignee})
    return record


@_one_instant
def assign_task(session: Session, *, task_id: int, assignee: Actor, actor: Actor) -> TaskRecord:
    """A manager hands a task to a member of its group."""
    record = _task_record(session, task_id)
    _require_open(record)
    if not actor.is_manager:
        raise Forbidden(f"only managers assign tasks; {actor.username} is not one")
    if record.candidate_group and record.candidate_group not in assignee.groups:
        raise InvalidInput(f"{assignee.username} is not in group {record.candidate_group}")
    _reassign(session, record, assignee.username, history.TASK_ASSIGNED, actor.username,
              {"assignee": assignee.username, "previous_assignee": record.assignee})
    return record


# Seed 000 第二篇: the same request chased this many times becomes a complaint (投诉).
COMPLAINT_AFTER_CHASES = 3


@_one_instant
def chase_request(session: Session, *, instance_id: int, actor: Actor, note: str | None = None) -> int:
    """Record that the requester chased (督促) an open request; returns the chase count."""
    instance = _load_state(session, instance_id)
    if instance.status != "running":
        raise Conflict(f"request {instance_id} is already {instance.status}")
    if actor.username != instance.started_by and "service_desk" not in actor.groups:
        raise Forbidden(f"only the requester or the service desk can chase request {instance_id}")
    if note and len(note) > 2000:
        raise InvalidInput("note longer than 2000 characters", field_errors={"note": ["at most 2000 characters"]})
    count = session.connection().execute(
        update(_instances).where(_instances.c.id == instance_id)
        .values(chase_count=_instances.c.chase_count + 1).returning(_instances.c.chase_count)).scalar_one()
    recorder = history.Recorder(instance)
    recorder.add(history.REQUEST_CHASED, actor=actor.username, payload={"count": count, "note": note})
    if count == COMPLAINT_AFTER_CHASES:
        session.connection().execute(update(_instances).where(_instances.c.id == instance_id)
                                     .values(is_complaint=True))
        recorder.add(history.COMPLAINT_RAISED, actor=actor.username, payload={"chases": count})
    _save_instance(session, instance)
    recorder.flush(session)
    _keep_cached_workflow(session, instance)
    return int(count)


@_one_instant
def change_fault_level(session: Session, *, instance_id: int, level: str, actor: Actor,
                       reason: str | None = None) -> InstanceRef:
    """Re-grade a running request: new deadlines from the level's policy, every waiting timer re-armed."""
    if not actor.groups & {"service_desk", "service_manager", "project_manager", "resident_manager"}:
        raise Forbidden(f"{actor.username} may not change fault levels")
    instance = _load_state(session, instance_id)
    if instance.status != "running":
        raise Conflict(f"instance {instance_id} is already {instance.status}")
    policy = sla.get_policy(session, level)  # NotFound for an unknown level
    if level == instance.fault_level:
        raise InvalidInput(f"instance {instance_id} is already level {level}")
    change = _open_change(session, instance, actor.username)
    engine_data = sla.deadline_variables(policy, instance.started_at)
    if instance.resolved_at is not None:
        engine_data.update(sla.fault_report_variables(policy, instance.resolved_at))
    since = time.time()
    set_instance_variables(change.workflow, {**engine_data, "fault_level": level})
    _stage_deadlines(instance, engine_data)
    previous = instance.fault_level
    instance.fault_level = level
    change.recorder.add(history.FAULT_LEVEL_CHANGED, actor=actor.username,
                        payload={"from": previous, "to": level, "reason": reason, "engine_data": engine_data})
    _refresh_open_due_times(session, change)
    return _finish(change, since)


def _refresh_open_due_times(session: Session, change: _Change) -> None:
    """Open tasks show the deadline of the level in force."""
    for spiff_id, open_task in _open_records(session, change.instance.id, change.workflow).items():
        task = change.workflow.get_task_from_id(UUID(spiff_id))
        if task is not None:
            _, _, form_key = task_group(task)
            session.connection().execute(update(_tasks).where(_tasks.c.id == open_task.id)
                                         .values(due_at=_task_due(task, form_key)))


def _spec_names(state: str) -> set[str]:
    """Every task spec the saved workflow refers to (top level and sub-processes)."""
    dct = json.loads(state)
    names = {task["task_spec"] for task in dct["tasks"].values()}
    for sub in dct.get("subprocesses", {}).values():
        names |= {task["task_spec"] for task in sub["tasks"].values()}
    return names


def _user_task_facts(spec: Any) -> dict[str, Any]:
    extensions = getattr(spec, "extensions", None) or {}
    return {"name": getattr(spec, "bpmn_name", None), "group": extensions.get("candidateGroups"),
            "form_key": extensions.get("formKey"), "lane": getattr(spec, "lane", None)}


def preview_migration(session: Session, *, instance_id: int, to_version: int) -> dict[str, Any]:
    """What moving a running instance to another version of its process would do.

    Migration is possible when every element the instance has passed or waits in exists in the
    target version (by id): the token then continues on the new diagram from where it stands.
    """
    instance = _load_state(session, instance_id)
    current = session.get(ProcessDefinition, instance.definition_id)
    assert current is not None
    target = definitions.get_definition(session, instance.process_id, to_version)
    old = definitions.parsed(current)
    new = definitions.parsed(target)
    state = session.connection().scalar(_SELECT_WORKFLOW_STATE, {"instance_id": instance_id})
    all_new = {name for spec in [new.spec, *new.subprocess_specs.values()] for name in spec.task_specs}
    missing = sorted(_spec_names(str(state)) - all_new)
    waiting = []
    for row in session.connection().execute(_SELECT_OPEN_TASKS, {"instance_id": instance_id}):
        old_spec = old.spec.task_specs.get(row.element_id)
        new_spec = new.spec.task_specs.get(row.element_id)
        before, after = _user_task_facts(old_spec), _user_task_facts(new_spec)
        waiting.append({"task_id": row.id, "element_id": row.element_id, "exists": new_spec is not None,
                        "changes": {k: {"from": before[k], "to": after[k]} for k in before
                                    if new_spec is not None and before[k] != after[k]}})
    problems = []
    if instance.status != "running":
        problems.append(f"instance is {instance.status}")
    if target.id == current.id:
        problems.append(f"instance already runs on version {current.version}")
    if missing:
        problems.append(f"version {target.version} lacks elements this instance uses: {', '.join(missing)}")
    return {"instance_id": instance_id, "process_id": instance.process_id, "from_version": current.version,
            "to_version": target.version, "can_migrate": not problems, "problems": problems, "missing": missing,
            "waiting": waiting}


@_one_instant
def migrate_instance(session: Session, *, instance_id: int, to_version: int, actor: Actor) -> InstanceRef:
    """Move a running instance to another version of its process (opt-in; one transaction)."""
    if "process_owner" not in actor.groups:
        raise Forbidden(f"only process owners migrate instances; {actor.username} is not one")
    preview = preview_migration(session, instance_id=instance_id, to_version=to_version)
    if not preview["can_migrate"]:
        raise Conflict(f"instance {instance_id} cannot move to version {to_version}: "
                       + "; ".join(preview["problems"]), process_id=preview["process_id"], version=to_version)
    instance = _load_state(session, instance_id)
    target = definitions.get_definition(session, instance.process_id, to_version)
    parsed_new = definitions.parsed(target)
    old = _open_change(session, instance, actor.username)
    # Rebuild the live workflow on the new spec from its own serialization (task specs match by id).
    workflow = persistence.load(persistence.dump(old.workflow), parsed_new)
    change = _Change(session, instance, workflow, parsed_new, old.recorder, actor.username)
    session.connection().execute(update(_instances).where(_instances.c.id == instance_id)
                                 .values(definition_id=target.id))
    change.recorder.add(history.INSTANCE_MIGRATED, actor=actor.username,
                        payload={"from_version": preview["from_version"], "to_version": target.version,
                                 "to_definition_id": target.id, "waiting": preview["waiting"]})
    # Open tasks take the new version's name, group and form.
    for spiff_id, open_task in _open_records(session, instance_id, workflow).items():
        task = workflow.get_task_from_id(UUID(spiff_id))
        if task is not None:
            group, _assignee, form_key = task_group(task)
            session.connection().execute(update(_tasks).where(_tasks.c.id == open_task.id).values(
                name=task.task_spec.bpmn_name or task.task_spec.bpmn_id, candidate_group=group, form_key=form_key,
                lane=task.task_spec.lane))
    since = time.time()
    workflow.refresh_timers()
    return _finish(change, since)


@_one_instant
def record_case_event(session: Session, *, instance_id: int, kind: str, actor: Actor,
                      payload: dict[str, Any]) -> None:
    """Append an event about a running case that leaves its workflow alone (a knowledge-base link, a
    manager's waiver): the instance version is bumped like any change, so racing changes conflict."""
    instance = _load_state(session, instance_id)
    if instance.status != "running":
        raise Conflict(f"request {instance_id} is already {instance.status}")
    recorder = history.Recorder(instance)
    recorder.add(kind, actor=actor.username, payload=payload)
    _save_instance(session, instance)
    recorder.flush(session)
    _keep_cached_workflow(session, instance)
