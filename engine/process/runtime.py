"""Process instance runtime: every state change of an instance, in the database.

Every public function here is one state change of one instance: it checks the rules, has
engine.process.step advance the workflow until it waits, writes what the step did (task records,
timer rows, history), and saves the state with an optimistic version check. The caller's transaction commits it all or
nothing; the live workflow is handed back to the cache only after commit.

Writes on this path are prebuilt statements run directly on the driver (engine.store.direct), not the
ORM unit of work: a step is a handful of statements, and the bookkeeping cost more than the database did.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from sqlalchemy import String, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

import forms
from engine import access, clock
from engine.errors import Conflict, InvalidInput, NotFound, VersionMismatch
from engine.process import definitions, history, hooks, persistence, step, timers
from engine.process.persistence import LiveInstance, OpenTask
from engine.process.step import task_group
from engine.store.db import after_commit
from engine.store.direct import DirectStatement
from engine.store.models import ProcessDefinition, ProcessInstance, TaskRecord
from engine.users import Actor

# Instance columns mirrored from workflow data, so lists can show them without the workflow.
_MIRRORED_FIELDS = ("title", "fault_level")

_instances = cast(Table, ProcessInstance.__table__)
_tasks = cast(Table, TaskRecord.__table__)
_definitions = cast(Table, ProcessDefinition.__table__)
# Statements built once: building SQLAlchemy expressions per call cost more than running them.
# The writes of every change run directly on the driver (engine.store.direct).
_COMPLETE_TASK = DirectStatement(
    update(_tasks).where(_tasks.c.id == bindparam("task_id"), _tasks.c.state == "ready")
    .values(state="completed", completed_at=bindparam("now"), completed_by=bindparam("user"),
            assignee=bindparam("assignee")))
SELECT_OPEN_TASKS = (select(_tasks.c.id, _tasks.c.spiff_task_id, _tasks.c.element_id)
                      .where(_tasks.c.instance_id == bindparam("instance_id"), _tasks.c.state == "ready"))
_CANCEL_TASK = DirectStatement(update(_tasks).where(_tasks.c.id == bindparam("task_record_id"))
                               .values(state="cancelled", completed_at=bindparam("now")))
_INSERT_INSTANCE = DirectStatement(insert(_instances).returning(_instances.c.id))
_INSERT_TASKS = DirectStatement(insert(_tasks).returning(_tasks.c.spiff_task_id, _tasks.c.id))
SELECT_WORKFLOW_STATE = select(_instances.c.workflow_state).where(_instances.c.id == bindparam("instance_id"))
_SAVE_INSTANCE_ROW = (update(_instances)
                  .where(_instances.c.id == bindparam("instance_id"),
                         _instances.c.lock_version == bindparam("expected_version"))
                  .values(lock_version=bindparam("new_version"), last_event_seq=bindparam("seq"),
                          last_event_hash=bindparam("hash"), title=bindparam("new_title"),
                          fault_level=bindparam("new_fault_level"), status=bindparam("new_status"),
                          ended_at=func.coalesce(bindparam("new_ended_at"), _instances.c.ended_at),
                          workflow_state=func.coalesce(bindparam("new_state"), _instances.c.workflow_state)))
_CONFLICT = "someone else changed this instance at the same time; nothing was saved, reload and try again"


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
    lock_version: int
    last_event_seq: int
    last_event_hash: str
    # What hook receivers note during this change, written by their instance_saved receiver (engine.process.hooks).
    pending: dict[str, Any] = field(default_factory=dict)


_STATE_COLUMNS = (_instances.c.id, _instances.c.process_id, _instances.c.definition_id,
                  _definitions.c.sha256.label("definition_sha256"), _instances.c.status, _instances.c.title,
                  _instances.c.fault_level, _instances.c.started_by, _instances.c.started_at, _instances.c.lock_version,
                  _instances.c.last_event_seq, _instances.c.last_event_hash)


@dataclass
class _Change:
    """One state change in progress: the instance, its live workflow and what to record."""

    session: Session
    instance: InstanceState
    live: LiveInstance
    definition: definitions.ParsedDefinition
    recorder: history.Recorder
    actor: str | None
    new_tasks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def workflow(self) -> BpmnWorkflow:
        return self.live.workflow

    def context(self) -> step.Context:
        """What the step is told of the records: open task records and pending timer rows."""
        tracked = timers.tracked(self.session, self.instance.id, self.live)
        return step.Context(self.definition, self.instance.started_by,
                            _open_records(self.session, self.instance.id, self.live),
                            {spiff_id: timer.due_at for spiff_id, timer in tracked.items()})


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


def _open_records(session: Session, instance_id: int, live: LiveInstance) -> dict[str, OpenTask]:
    """Open task records by SpiffWorkflow task id; kept with a cached workflow to save a query per step."""
    if live.open_tasks is None:
        live.open_tasks = {row.spiff_task_id: OpenTask(row.id, row.element_id)
                           for row in session.connection().execute(SELECT_OPEN_TASKS, {"instance_id": instance_id})}
    return live.open_tasks


def _write_task_records(change: _Change, outcome: step.Outcome) -> None:
    """Close the records of tasks the step cancelled; open a record for each user task it made ready."""
    session, instance = change.session, change.instance
    open_records = _open_records(session, instance.id, change.live)
    now = clock.now()
    gone = [(spiff_id, open_records[spiff_id]) for spiff_id in outcome.cancelled]
    if gone:
        _CANCEL_TASK.run(session, [{"task_record_id": row.id, "now": now} for _, row in gone])
        for _, row in gone:
            change.recorder.add(history.TASK_CANCELLED, actor=change.actor, element_id=row.element_id,
                                task_record_id=row.id)
    new_rows = [{"instance_id": instance.id, "spiff_task_id": ready.spiff_id, "element_id": ready.element_id,
                 "name": ready.name, "lane": ready.lane, "candidate_group": ready.group, "form_key": ready.form_key,
                 "state": "ready", "assignee": ready.assignee, "created_at": now,
                 "due_at": _task_due(ready.task, ready.form_key)} for ready in outcome.ready]
    for spiff_id, _ in gone:
        del open_records[spiff_id]
    if new_rows:
        hooks.tasks_opened.send(hooks.Opened(session, instance, new_rows))
        ids: dict[str, int] = dict(_INSERT_TASKS.run(session, new_rows).rows)
        for new in new_rows:
            # The rows the tasks_opened receivers were given learn their id (noted notices link the task).
            task_id = new["id"] = ids[new["spiff_task_id"]]
            open_records[new["spiff_task_id"]] = OpenTask(task_id, new["element_id"])
            change.new_tasks.append({"id": task_id, "element_id": new["element_id"],
                                     "group": new["candidate_group"], "assignee": new["assignee"]})
            change.recorder.add(history.TASK_READY, actor=change.actor, element_id=new["element_id"],
                                task_record_id=task_id,
                                payload={"name": new["name"], "group": new["candidate_group"],
                                         "assignee": new["assignee"], "form_key": new["form_key"]})


def _task_due(task: SpiffTask, form_key: str | None) -> Any:
    """The due time a task record shows, as the task_due hook's receivers (engine.desk.sla) decide."""
    return hooks.first_value(hooks.task_due, hooks.Due(task, form_key))


_SAVE_INSTANCE = DirectStatement(_SAVE_INSTANCE_ROW)


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
    if _SAVE_INSTANCE.run(session, params).rowcount != 1:
        raise Conflict(_CONFLICT, process_id=instance.process_id)
    instance.lock_version += 1
    hooks.instance_saved.send(hooks.Moment(session, instance))


def _finish(change: _Change, outcome: step.Outcome, *, fired_by: str | None = None) -> InstanceRef:
    """Write what the step did (history, task records, timer rows) and save the instance."""
    live, instance = change.live, change.instance
    for gateway in outcome.gateways:
        change.recorder.add(history.GATEWAY_TAKEN, actor=change.actor, element_id=gateway.element_id,
                            payload={"name": gateway.name, "taken": gateway.taken})
    _write_task_records(change, outcome)
    live.timers = timers.write(change.session, instance_id=instance.id,
                               tracked=timers.tracked(change.session, instance.id, live), outcome=outcome,
                               recorder=change.recorder, actor=change.actor, fired_by=fired_by)
    live.forget(outcome.compacted)
    values: dict[str, Any] = {"workflow_state": persistence.dump(live.workflow, live.fragments)}
    if outcome.ended and instance.status == "running":
        instance.status = "completed"
        values["ended_at"] = clock.now()
        change.recorder.add(history.INSTANCE_ENDED, actor=change.actor, element_id=outcome.end_element,
                            payload={"status": "completed"})
        hooks.instance_ended.send(hooks.Moment(change.session, instance))
    # The instance row first: a racing change of the same instance queues on it and then conflicts,
    # instead of colliding on the history's (instance, seq) key.
    _save_instance(change.session, instance, **values)
    change.recorder.flush(change.session)
    instance_id, version = instance.id, instance.lock_version
    after_commit(change.session, lambda: persistence.workflow_cache.checkin(instance_id, version, live))
    ref = InstanceRef(instance.id, instance.status, instance.lock_version, tuple(change.new_tasks))
    hooks.change_recorded.send(hooks.Recorded(change.session, instance, change.definition,
                                              outcome.end_element if outcome.ended else None, change.actor))
    return ref


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
    live = persistence.workflow_cache.checkout(instance.id, instance.lock_version)
    if live is None:
        state = session.connection().scalar(SELECT_WORKFLOW_STATE, {"instance_id": instance.id})
        live = LiveInstance(persistence.load(str(state), parsed))
    return _Change(session, instance, live, parsed, history.Recorder(instance), actor)


@clock.one_instant
def start_instance(session: Session, *, process_id: str, data: dict[str, Any], actor: Actor,
                   version: int | None = None, locale: str = "en") -> InstanceRef:
    """Start the newest (or given) version of a process with its start-form data (errors in `locale`)."""
    definition = definitions.get_definition(session, process_id, version)
    access.require_start(actor)
    cleaned = _validate_form(definition.start_form_key, data, locale=locale)
    parsed = definitions.parsed(definition)
    now = clock.now()
    instance = InstanceState(id=0, process_id=definition.process_id, definition_id=definition.id,
                             definition_sha256=definition.sha256, status="running", title=None, fault_level=None,
                             started_by=actor.username, started_at=now, lock_version=0,
                             last_event_seq=0, last_event_hash="")
    _mirror_fields(instance, cleaned)
    instance.id = _INSERT_INSTANCE.run(session, dict(
        definition_id=definition.id, process_id=definition.process_id, status="running", title=instance.title,
        fault_level=instance.fault_level, started_by=actor.username, started_at=now, workflow_state="",
        lock_version=0, last_event_seq=0, last_event_hash="")).rows[0][0]
    recorder = history.Recorder(instance)
    # Data hook receivers add (e.g. SLA deadlines) is recorded with the input, so replay can repeat it.
    start = hooks.Start(session, instance, parsed, cleaned)
    engine_data = start.engine_data = hooks.engine_data(hooks.instance_starting, start)
    recorder.add(history.INSTANCE_STARTED, actor=actor.username, at=now,
                 payload={"process_id": definition.process_id, "version": definition.version,
                          "data": cleaned, "form_key": definition.start_form_key, "engine_data": engine_data})
    hooks.instance_started.send(start)
    workflow, outcome = step.start(parsed, cleaned, engine_data, initiator=actor.username)
    # A new instance has no task records and no timer rows yet: nothing to read back.
    change = _Change(session, instance, LiveInstance(workflow, open_tasks={}, timers={}), parsed, recorder,
                     actor.username)
    return _finish(change, outcome)


def _task_record(session: Session, task_id: int) -> TaskRecord:
    record = session.get(TaskRecord, task_id)
    if record is None:
        raise NotFound(f"task {task_id} does not exist")
    return record


def _require_open(record: Any) -> None:
    if record.state == "completed":
        by = f" by {record.completed_by}" if record.completed_by else ""
        at = f" at {record.completed_at:%Y-%m-%d %H:%M:%S} UTC" if record.completed_at else ""
        raise Conflict(f"task {record.id} ({record.name}) was already completed{by}{at}",
                       element_id=record.element_id)
    if record.state != "ready":
        raise Conflict(f"task {record.id} ({record.name}) is {record.state}", element_id=record.element_id)


def _facts(record: Any, instance: InstanceState) -> access.Task:
    """What engine.access reads of a task: its record and who raised its request."""
    return access.Task(record.id, record.instance_id, record.name, record.element_id, record.candidate_group,
                       record.assignee, instance.started_by, record.form_key)


def _bound_to_initiator(session: Session, instance: InstanceState, element_id: str) -> bool:
    parsed = definitions.parsed_by_id(session, instance.definition_id, instance.definition_sha256)
    return definitions.assigns_initiator(parsed, element_id)


@clock.one_instant
def complete_task(session: Session, *, task_id: int, data: dict[str, Any], actor: Actor,
                  locale: str = "en") -> InstanceRef:
    """Complete a ready user task with form data and run the instance until it waits again."""
    row = session.connection().execute(_SELECT_TASK_AND_STATE, {"task_id": task_id}).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    record = _TaskRow(*row[:len(_tasks.c)])
    instance = InstanceState(*row[len(_tasks.c):])
    facts = _facts(record, instance)
    access.require_see_task(facts, actor, "complete")
    _require_open(record)
    access.require_work_task(facts, actor, "complete")
    cleaned = _validate_form(record.form_key, data, locale=locale)
    change = _open_change(session, instance, actor.username)
    task = step.ready_task(change.workflow, record.spiff_task_id, record.element_id)
    if task is None:
        raise Conflict(f"task {record.id} is no longer waiting in the process", element_id=record.element_id,
                       process_id=instance.process_id)
    now = clock.now()
    # Claim the completion first: a racing completion blocks here and then finds the task done.
    claimed = _COMPLETE_TASK.run(session, {"task_id": task_id, "now": now, "user": actor.username,
                                               "assignee": record.assignee or actor.username})
    if claimed.rowcount != 1:
        raise Conflict(f"task {record.id} ({record.name}) was completed by someone else just now",
                       element_id=record.element_id)
    _open_records(session, instance.id, change.live).pop(record.spiff_task_id, None)
    completion = hooks.Completion(session, instance, change.definition, change.workflow, task, record.form_key,
                                  cleaned, actor, locale=locale)
    engine_data = completion.engine_data = hooks.engine_data(hooks.task_completing, completion)
    outcome = step.complete(change.workflow, task, cleaned, engine_data, change.context())
    _mirror_fields(instance, cleaned)
    payload = {"name": record.name, "form_key": record.form_key, "data": cleaned}
    if engine_data:
        payload["engine_data"] = engine_data
    change.recorder.add(history.TASK_COMPLETED, actor=actor.username, element_id=record.element_id,
                        task_record_id=record.id, at=now, payload=payload)
    hooks.task_completed.send(completion)
    return _finish(change, outcome)


SYSTEM_ACTOR = "system"


@clock.one_instant
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
    if task is None:  # the workflow no longer has it; the row was stale
        return None
    if step.never_moves_on(task):
        timers.retire(session, row.id)
        return None
    now = clock.now()
    late_ms = max(0, int((now - row.due_at).total_seconds() * 1000))
    outcome = step.fire_timer(change.workflow, task, change.context())
    if outcome is None:
        # Not due by the workflow's reckoning (clock skew between processes): leave it pending.
        timers.unclaim(session, row.id)
        return None
    timers.record_fired(change.recorder, task.task_spec.bpmn_id, task.task_spec.bpmn_name, row.id, row.due_at,
                        late_ms, SYSTEM_ACTOR, fired_by)
    return _finish(change, outcome, fired_by=fired_by)


_REASSIGN = (update(_tasks).where(_tasks.c.id == bindparam("task_id"), _tasks.c.state == "ready",
                                  _tasks.c.assignee.is_not_distinct_from(bindparam("expected", type_=String)))
             .values(assignee=bindparam("new_assignee", type_=String)))


def _reassign(session: Session, record: TaskRecord, instance: InstanceState, new_assignee: str | None, kind: str,
              actor: str, payload: dict[str, Any]) -> None:
    """Claim, release or assign: the instance version is bumped first (racers queue on its row and
    then conflict), the assignee changes only if nobody changed it meanwhile, and it is recorded."""
    recorder = history.Recorder(instance)
    recorder.add(kind, actor=actor, element_id=record.element_id, task_record_id=record.id, payload=payload)
    _save_instance(session, instance)
    changed = session.connection().execute(_REASSIGN, {"task_id": record.id, "expected": record.assignee,
                                                       "new_assignee": new_assignee}).rowcount
    if changed != 1:
        raise Conflict(f"task {record.id} ({record.name}) was changed by someone else just now",
                       element_id=record.element_id)
    recorder.flush(session)
    previous = record.assignee
    set_committed_value(record, "assignee", new_assignee)
    _keep_cached_workflow(session, instance)
    if hooks.task_reassigned.receivers:
        hooks.task_reassigned.send(hooks.Reassigned(
            session, instance, {"id": record.id, "element_id": record.element_id, "name": record.name,
                                "candidate_group": record.candidate_group, "form_key": record.form_key},
            kind, previous, new_assignee, actor))


def _keep_cached_workflow(session: Session, instance: InstanceState) -> None:
    """After a change that did not touch the workflow, keep its cached copy valid under the new version."""
    live = persistence.workflow_cache.checkout(instance.id, instance.lock_version - 1)
    if live is not None:
        instance_id, version = instance.id, instance.lock_version
        after_commit(session, lambda: persistence.workflow_cache.checkin(instance_id, version, live))


def _open_task(session: Session, task_id: int, actor: Actor,
               verb: str) -> tuple[TaskRecord, InstanceState, access.Task]:
    """The task, its instance and its facts, once the actor may see it and it is still open."""
    record = _task_record(session, task_id)
    instance = _load_state(session, record.instance_id)
    facts = _facts(record, instance)
    access.require_see_task(facts, actor, verb)
    _require_open(record)
    return record, instance, facts


@clock.one_instant
def claim_task(session: Session, *, task_id: int, actor: Actor) -> TaskRecord:
    """Take a group task for oneself, so no colleague works on it at the same time."""
    record, instance, facts = _open_task(session, task_id, actor, "claim")
    if record.assignee == actor.username and access.holder(facts) == actor.username:
        return record
    access.require_claim(facts, actor)
    _reassign(session, record, instance, actor.username, history.TASK_CLAIMED, actor.username,
              {"assignee": actor.username})
    return record


@clock.one_instant
def release_task(session: Session, *, task_id: int, actor: Actor) -> TaskRecord:
    """Give a claimed task back to its group (never the requester's own: see engine.access.never_to_a_group)."""
    record, instance, facts = _open_task(session, task_id, actor, "release")
    access.require_release(facts, actor, bound_to_initiator=_bound_to_initiator(session, instance, record.element_id))
    _reassign(session, record, instance, None, history.TASK_RELEASED, actor.username,
              {"previous_assignee": record.assignee})
    return record


@clock.one_instant
def release_from_deactivated(session: Session, *, task_id: int, holder: Actor, actor: Actor) -> bool:
    """A user administrator deactivating `holder` gives a task they claimed back to its group, recorded as
    their release (the history names the administrator). False, nothing changed, for a task that never
    goes to a group (the requester's own): it stays with them."""
    access.require_administer_users(actor)
    record, instance, facts = _open_task(session, task_id, holder, "release")
    if not access.may_release(facts, holder,
                              bound_to_initiator=_bound_to_initiator(session, instance, record.element_id)):
        return False
    _reassign(session, record, instance, None, history.TASK_RELEASED, actor.username,
              {"previous_assignee": record.assignee, "reason": "user_deactivated"})
    return True


@clock.one_instant
def assign_task(session: Session, *, task_id: int, assignee: Actor, actor: Actor) -> TaskRecord:
    """A manager hands a task to a member of its group."""
    record, instance, facts = _open_task(session, task_id, actor, "assign")
    access.require_assign(facts, actor, assignee,
                          bound_to_initiator=_bound_to_initiator(session, instance, record.element_id))
    _reassign(session, record, instance, assignee.username, history.TASK_ASSIGNED, actor.username,
              {"assignee": assignee.username, "previous_assignee": record.assignee})
    return record



def load_instance(session: Session, instance_id: int) -> InstanceState:
    """The instance as a change sees it (NotFound if there is none); for changes made elsewhere (engine.desk)."""
    return _load_state(session, instance_id)


@clock.one_instant
def record_events(session: Session, *, instance: InstanceState, actor: str,
                  events: list[tuple[str, dict[str, Any]]]) -> None:
    """A change that leaves the workflow alone: save the instance row (version checked) and append
    `events` (kind, payload). What hook receivers noted in `instance.pending` is written with it."""
    recorder = history.Recorder(instance)
    for kind, payload in events:
        recorder.add(kind, actor=actor, payload=payload)
    _save_instance(session, instance)
    recorder.flush(session)
    _keep_cached_workflow(session, instance)


@clock.one_instant
def change_variables(session: Session, *, instance: InstanceState, variables: dict[str, Any], actor: str,
                     kind: str, payload: dict[str, Any]) -> InstanceRef:
    """Set instance variables of a running instance (waiting timers re-armed, open tasks' due times
    asked again) and record it as one `kind` event. The payload is the input the audit's replay
    re-applies: it must let the replay derive `variables` exactly (as fault_level_changed does)."""
    if instance.status != "running":
        raise Conflict(f"instance {instance.id} is already {instance.status}")
    change = _open_change(session, instance, actor)
    outcome = step.set_variables(change.workflow, variables, change.context())
    _mirror_fields(instance, variables)
    change.recorder.add(kind, actor=actor, payload=payload)
    _refresh_open_due_times(session, change)
    return _finish(change, outcome)


def _refresh_open_due_times(session: Session, change: _Change) -> None:
    """Open tasks show the deadline of the level in force."""
    for spiff_id, open_task in _open_records(session, change.instance.id, change.live).items():
        task = change.workflow.get_task_from_id(UUID(spiff_id))
        if task is not None:
            _, _, form_key = task_group(task)
            session.connection().execute(update(_tasks).where(_tasks.c.id == open_task.id)
                                         .values(due_at=_task_due(task, form_key)))


@clock.one_instant
def change_version(session: Session, *, instance_id: int, target: ProcessDefinition, actor: str,
                   payload: dict[str, Any]) -> InstanceRef:
    """Move the instance's workflow onto another deployed version (engine.process.migration decides
    whether it may); open task records take the new version's name, group and form."""
    instance = _load_state(session, instance_id)
    old = _open_change(session, instance, actor)
    parsed_new = definitions.parsed(target)
    workflow, outcome = step.migrate(old.workflow, parsed_new, old.context())
    live = LiveInstance(workflow, old.live.open_tasks, old.live.timers)  # same task ids, same records and rows
    change = _Change(session, instance, live, parsed_new, old.recorder, actor)
    session.connection().execute(update(_instances).where(_instances.c.id == instance_id)
                                 .values(definition_id=target.id))
    change.recorder.add(history.INSTANCE_MIGRATED, actor=actor, payload=payload)
    for spiff_id, open_task in _open_records(session, instance_id, live).items():
        task = workflow.get_task_from_id(UUID(spiff_id))
        if task is not None:
            offered = step.offer(task, instance.started_by)  # the group the instance's routes give, if any
            session.connection().execute(update(_tasks).where(_tasks.c.id == open_task.id).values(
                name=offered.name, candidate_group=offered.group, form_key=offered.form_key, lane=offered.lane))
    return _finish(change, outcome)


def require_version(session: Session, *, instance_id: int, expected: int, after_change: bool = False) -> None:
    """Refuse a change made on the strength of an older version of the instance (an HTTP If-Match).

    Asked before the change (a stale version is refused at once) and again after it, in the same
    transaction (`after_change`): the change saved the version it read plus one, so anything but `expected`
    or `expected + 1` means another change came in between, and raising rolls this one back. No row lock
    is taken: locking the instance before the task row would deadlock with a change that locks them the
    other way round."""
    found = session.connection().scalar(select(_instances.c.lock_version).where(_instances.c.id == instance_id))
    if found is None:
        raise NotFound(f"instance {instance_id} does not exist")
    if found != expected and not (after_change and found == expected + 1):
        raise VersionMismatch(f"instance {instance_id} is at version {found}, not {expected}: someone changed it "
                              "since you read it; nothing was saved, read it again", reason="version_mismatch",
                              params={"instance_id": instance_id, "version": found, "expected": expected})
