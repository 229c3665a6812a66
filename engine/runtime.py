"""Process instance runtime: the only code that drives SpiffWorkflow.

Every public function here is one state change of one instance: it checks the rules, advances
the workflow until it waits, mirrors ready user tasks into task records, appends history, and
saves the state with an optimistic version check. The caller's transaction commits it all or
nothing; the live workflow is handed back to the cache only after commit.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

import forms
from engine import clock, definitions, history, persistence
from engine.db import after_commit
from engine.errors import Conflict, ExpressionRefused, Forbidden, InvalidInput, NotFound, ProcessFailed
from engine.models import ProcessInstance, TaskRecord
from engine.users import Actor

clock.install()

# Instance columns mirrored from workflow data, so lists can show them without the workflow.
_MIRRORED_FIELDS = ("title", "fault_level")
_GATEWAY_KINDS = ("ExclusiveGateway", "InclusiveGateway", "ParallelGateway", "EventBasedGateway")
INITIATOR = "${initiator}"
P = ParamSpec("P")
R = TypeVar("R")


def _one_change(function: Callable[P, R]) -> Callable[P, R]:
    """Turn a lost optimistic-lock race (at any flush, autoflush included) into a Conflict."""
    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except StaleDataError:
            raise Conflict("someone else changed this instance at the same time; nothing was saved, "
                           "reload and try again") from None
    return wrapper


@dataclass
class _Change:
    """One state change in progress: the instance, its live workflow and what to record."""

    session: Session
    instance: ProcessInstance
    workflow: BpmnWorkflow
    definition: definitions.ParsedDefinition
    recorder: history.Recorder
    actor: str | None


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
        cause = getattr(exc, "error", None) or exc
        if isinstance(getattr(exc, "exception", None), ExpressionRefused):
            raise ProcessFailed(f"expression refused: {exc.exception.message}",
                                process_id=change.instance.process_id, version=change.definition.version,
                                element_id=element) from None
        raise ProcessFailed(f"the process cannot continue: {cause}", process_id=change.instance.process_id,
                            version=change.definition.version, element_id=element) from None


def _task_group(task: SpiffTask) -> tuple[str | None, str | None, str | None]:
    extensions = getattr(task.task_spec, "extensions", {}) or {}
    form = getattr(task.task_spec, "form", None)
    form_key = extensions.get("formKey") or getattr(form, "key", None)
    group = extensions.get("candidateGroups")
    if group and "," in group:
        group = group.split(",")[0].strip()  # one owning group per task; the first listed
    return group, extensions.get("assignee"), form_key


def _record_path(change: _Change, since: float) -> list[str]:
    """Append gateway events for what the engine just ran; return the element ids it passed."""
    passed = sorted((t for t in change.workflow.tasks.values()
                     if t.last_state_change >= since and t.state == TaskState.COMPLETED
                     and not t.task_spec.manual and getattr(t.task_spec, "bpmn_id", None)),
                    key=lambda t: t.last_state_change)
    for task in passed:
        if type(task.task_spec).__name__ in _GATEWAY_KINDS:
            taken = [c.task_spec.bpmn_id for c in task.children
                     if c.state not in (TaskState.CANCELLED,) and getattr(c.task_spec, "bpmn_id", None)]
            change.recorder.add(history.GATEWAY_TAKEN, actor=change.actor, element_id=task.task_spec.bpmn_id,
                                payload={"name": task.task_spec.bpmn_name, "taken": taken})
    return [t.task_spec.bpmn_id for t in passed]


def _sync_task_records(change: _Change) -> None:
    """Mirror READY user tasks into task records; close records whose task went away."""
    session, instance = change.session, change.instance
    ready = {str(t.id): t for t in change.workflow.get_tasks(state=TaskState.READY, manual=True)}
    open_records = {r.spiff_task_id: r for r in session.scalars(
        select(TaskRecord).where(TaskRecord.instance_id == instance.id, TaskRecord.state == "ready"))}
    now = clock.now()
    for spiff_id, record in open_records.items():
        if spiff_id not in ready:
            record.state = "cancelled"
            record.completed_at = now
            change.recorder.add(history.TASK_CANCELLED, actor=change.actor, element_id=record.element_id,
                                task_record_id=record.id)
    new_records = []
    for spiff_id, task in ready.items():
        if spiff_id in open_records:
            continue
        group, assignee, form_key = _task_group(task)
        if assignee == INITIATOR:
            assignee = instance.started_by
        record = TaskRecord(instance_id=instance.id, spiff_task_id=spiff_id, element_id=task.task_spec.bpmn_id,
                            name=task.task_spec.bpmn_name or task.task_spec.bpmn_id, lane=task.task_spec.lane,
                            candidate_group=group, form_key=form_key, state="ready", assignee=assignee,
                            created_at=now)
        session.add(record)
        new_records.append(record)
    if new_records:
        session.flush()
    for record in new_records:
        change.recorder.add(history.TASK_READY, actor=change.actor, element_id=record.element_id,
                            task_record_id=record.id,
                            payload={"name": record.name, "group": record.candidate_group,
                                     "assignee": record.assignee, "form_key": record.form_key})


def _mirror_fields(instance: ProcessInstance, data: dict[str, Any]) -> None:
    for name in _MIRRORED_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value:
            setattr(instance, name, value[:200])


def _finish(change: _Change, since: float) -> list[str]:
    """Run the engine until it waits, record what happened, save. Returns the path passed."""
    _engine_steps(change)
    path = _record_path(change, since)
    _sync_task_records(change)
    workflow, instance = change.workflow, change.instance
    if workflow.is_completed() and instance.status == "running":
        instance.status = "completed"
        instance.ended_at = clock.now()
        ends = [e for e in path if e.startswith("end")] or path[-1:]
        change.recorder.add(history.INSTANCE_ENDED, actor=change.actor, element_id=ends[-1] if ends else None,
                            payload={"status": "completed"})
    instance.workflow_state = persistence.dump(workflow)
    change.recorder.flush(change.session)
    change.session.flush()
    instance_id, version = instance.id, instance.lock_version
    after_commit(change.session, lambda: persistence.workflow_cache.checkin(instance_id, version, workflow))
    return path


def _open_change(session: Session, instance: ProcessInstance, actor: str | None) -> _Change:
    parsed = definitions.parsed(instance.definition)
    workflow = persistence.workflow_cache.checkout(instance.id, instance.lock_version)
    if workflow is None:
        workflow = persistence.load(instance.workflow_state, parsed)
    return _Change(session, instance, workflow, parsed, history.Recorder(instance), actor)


@_one_change
def start_instance(session: Session, *, process_id: str, data: dict[str, Any], actor: Actor,
                   version: int | None = None) -> ProcessInstance:
    """Start the newest (or given) version of a process with its start-form data."""
    definition = definitions.get_definition(session, process_id, version)
    if actor.is_auditor and len(actor.groups) == 1:
        raise Forbidden("auditors cannot start processes")
    cleaned = _validate_form(definition.start_form_key, data)
    parsed = definitions.parsed(definition)
    workflow = persistence.new_workflow(parsed)
    instance = ProcessInstance(definition=definition, definition_id=definition.id, process_id=definition.process_id,
                               status="running", started_by=actor.username, started_at=clock.now(),
                               workflow_state="", last_event_seq=0, last_event_hash="")
    _mirror_fields(instance, cleaned)
    session.add(instance)
    session.flush()
    change = _Change(session, instance, workflow, parsed, history.Recorder(instance), actor.username)
    change.recorder.add(history.INSTANCE_STARTED, actor=actor.username,
                        payload={"process_id": definition.process_id, "version": definition.version,
                                 "data": cleaned, "form_key": definition.start_form_key})
    since = time.time()
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(**cleaned)
    _finish(change, since)
    return instance


def _task_record(session: Session, task_id: int) -> TaskRecord:
    record = session.get(TaskRecord, task_id)
    if record is None:
        raise NotFound(f"task {task_id} does not exist")
    return record


def may_act(record: TaskRecord, actor: Actor) -> bool:
    """Whether the actor may claim or complete this task: assigned to them, or open to their group."""
    if record.assignee:
        return record.assignee == actor.username
    return record.candidate_group is None or record.candidate_group in actor.groups


def _require_open(record: TaskRecord) -> None:
    if record.state == "completed":
        by = f" by {record.completed_by}" if record.completed_by else ""
        at = f" at {record.completed_at:%Y-%m-%d %H:%M:%S} UTC" if record.completed_at else ""
        raise Conflict(f"task {record.id} ({record.name}) was already completed{by}{at}",
                       element_id=record.element_id)
    if record.state != "ready":
        raise Conflict(f"task {record.id} ({record.name}) is {record.state}", element_id=record.element_id)


@_one_change
def complete_task(session: Session, *, task_id: int, data: dict[str, Any], actor: Actor,
                  locale: str = "en") -> ProcessInstance:
    """Complete a ready user task with form data and run the instance until it waits again."""
    record = _task_record(session, task_id)
    _require_open(record)
    if not may_act(record, actor) or (actor.is_auditor and record.candidate_group not in actor.groups):
        who = f"assigned to {record.assignee}" if record.assignee else f"for group {record.candidate_group}"
        raise Forbidden(f"task {record.id} ({record.name}) is {who}; {actor.username} may not complete it",
                        element_id=record.element_id)
    cleaned = _validate_form(record.form_key, data, locale=locale)
    instance = session.get(ProcessInstance, record.instance_id)
    assert instance is not None
    change = _open_change(session, instance, actor.username)
    task = change.workflow.get_task_from_id(UUID(record.spiff_task_id))
    # SpiffWorkflow runs whatever it is given; refuse anything but the exact ready user task.
    if task is None or task.state != TaskState.READY or not task.task_spec.manual \
            or task.task_spec.bpmn_id != record.element_id:
        raise Conflict(f"task {record.id} is no longer waiting in the process", element_id=record.element_id,
                       process_id=instance.process_id)
    since = time.time()
    task.set_data(**cleaned)
    task.run()
    now = clock.now()
    record.state = "completed"
    record.completed_at = now
    record.completed_by = actor.username
    if record.assignee is None:
        record.assignee = actor.username
    _mirror_fields(instance, cleaned)
    change.recorder.add(history.TASK_COMPLETED, actor=actor.username, element_id=record.element_id,
                        task_record_id=record.id, at=now,
                        payload={"name": record.name, "form_key": record.form_key, "data": cleaned})
    _finish(change, since)
    return instance


def _bump(session: Session, record: TaskRecord, kind: str, actor: str, payload: dict[str, Any]) -> None:
    """Record a claim/release/assign: history plus a version bump, so racing claims conflict."""
    instance = session.get(ProcessInstance, record.instance_id)
    assert instance is not None
    recorder = history.Recorder(instance)
    recorder.add(kind, actor=actor, element_id=record.element_id, task_record_id=record.id, payload=payload)
    recorder.flush(session)
    session.flush()
    # The workflow itself did not change: keep a cached copy valid under the new version.
    workflow = persistence.workflow_cache.checkout(instance.id, instance.lock_version - 1)
    if workflow is not None:
        instance_id, version = instance.id, instance.lock_version
        after_commit(session, lambda: persistence.workflow_cache.checkin(instance_id, version, workflow))


@_one_change
def claim_task(session: Session, *, task_id: int, actor: Actor) -> TaskRecord:
    """Take a group task for oneself, so no colleague works on it at the same time."""
    record = _task_record(session, task_id)
    _require_open(record)
    if record.assignee == actor.username:
        return record
    if record.assignee:
        raise Conflict(f"task {record.id} is already claimed by {record.assignee}", element_id=record.element_id)
    if not may_act(record, actor) or (actor.is_auditor and record.candidate_group not in actor.groups):
        raise Forbidden(f"task {record.id} is for group {record.candidate_group}; "
                        f"{actor.username} is not a member", element_id=record.element_id)
    record.assignee = actor.username
    _bump(session, record, history.TASK_CLAIMED, actor.username, {"assignee": actor.username})
    return record


@_one_change
def release_task(session: Session, *, task_id: int, actor: Actor) -> TaskRecord:
    """Give a claimed task back to its group."""
    record = _task_record(session, task_id)
    _require_open(record)
    if record.assignee != actor.username and not actor.is_manager:
        raise Forbidden(f"task {record.id} is not claimed by {actor.username}", element_id=record.element_id)
    previous = record.assignee
    record.assignee = None
    _bump(session, record, history.TASK_RELEASED, actor.username, {"previous_assignee": previous})
    return record


@_one_change
def assign_task(session: Session, *, task_id: int, assignee: Actor, actor: Actor) -> TaskRecord:
    """A manager hands a task to a member of its group."""
    record = _task_record(session, task_id)
    _require_open(record)
    if not actor.is_manager:
        raise Forbidden(f"only managers assign tasks; {actor.username} is not one")
    if record.candidate_group and record.candidate_group not in assignee.groups:
        raise InvalidInput(f"{assignee.username} is not in group {record.candidate_group}")
    previous = record.assignee
    record.assignee = assignee.username
    _bump(session, record, history.TASK_ASSIGNED, actor.username,
          {"assignee": assignee.username, "previous_assignee": previous})
    return record


def instance_data(session: Session, instance: ProcessInstance) -> dict[str, Any]:
    """The instance's current data: what the last finished step left behind."""
    parsed = definitions.parsed(instance.definition)
    workflow = persistence.workflow_cache.checkout(instance.id, instance.lock_version)
    if workflow is None:
        workflow = persistence.load(instance.workflow_state, parsed)
    try:
        last = workflow.last_task
        return dict(last.data) if last is not None else {}
    finally:
        persistence.workflow_cache.checkin(instance.id, instance.lock_version, workflow)

