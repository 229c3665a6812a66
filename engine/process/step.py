"""One step of a process instance, without a database: the one path by which SpiffWorkflow is driven.

Every change of an instance's workflow — start, complete a user task, set instance variables, fire a
timer, migrate to another version — is one function here: it applies its input and ends in `advance`,
which runs the engine until it waits and returns an `Outcome` of what happened, relative to what the
caller has recorded (its open task records and pending timer rows, given as a `Context`).

engine.process.runtime writes an Outcome to the database (task records, timer rows, history events);
engine.audit.verification feeds the recorded inputs through the same functions and compares each Outcome
with the events recorded after the input. Both read the engine clock (engine.clock), which
each caller holds at the instant of the change.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.errors import ExpressionRefused, ProcessFailed
from engine.process import persistence, spiff_fixes
from engine.process.definitions import ParsedDefinition
from engine.process.validation import INITIATOR

spiff_fixes.apply()

# An instance variable naming who gets a user task, by form key: {form_key: {"group": …, "assignee": …}}
# (either may be None; a key left out keeps the diagram's). Domain rules (engine.desk.zones) return it as
# engine data, so it is recorded with the input that set it and the audit's re-execution offers each
# task to the same group and person.
TASK_ROUTES = "task_routes"
# In a route of TASK_ROUTES: a person named in the form field of the task (assignee_field) wins over its assignee.
ROUTE_YIELDS_TO_NAMED = "named_wins"

_GATEWAY_KINDS = ("ExclusiveGateway", "InclusiveGateway", "ParallelGateway", "EventBasedGateway")


def _step_limit_from_env() -> int:
    value = os.environ.get("OPSFLOW_ENGINE_STEP_LIMIT", "1000")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"OPSFLOW_ENGINE_STEP_LIMIT must be a positive whole number, got {value!r}")
    return int(value)


# Engine tasks one change may run before it is taken for a loop that never waits (a diagram that
# cycles through scripts and gateways only would otherwise run forever, holding the write lock).
# The bundled diagrams run no more than 15 per change. SpiffWorkflow walks its whole task tree
# for every engine task, so a runaway costs the square of the limit: 1 000 fail in under a second,
# 10 000 would take over a minute.
ENGINE_STEP_LIMIT = _step_limit_from_env()


# ------------------------------------------------------------------------------------------- what a step knows

@dataclass(frozen=True)
class Context:
    """What a step needs besides the workflow: the definition it runs on (named in errors), who started
    the instance (the assignee `${initiator}`), and what the caller has recorded so far — the SpiffWorkflow
    task ids of open task records, in the caller's order, and of pending timer rows with their due times."""

    definition: ParsedDefinition
    initiator: str | None
    open_tasks: Collection[str] = ()
    timers: Mapping[str, dt.datetime] = field(default_factory=dict)


class Gateway(NamedTuple):
    """A gateway the token passed: where it went (element ids)."""

    element_id: str
    name: str | None
    taken: list[str]


class ReadyTask(NamedTuple):
    """A user task that became ready, as its task record and task_ready event describe it."""

    task: SpiffTask
    element_id: str
    name: str
    lane: str | None
    group: str | None
    assignee: str | None  # `${initiator}` already replaced by who started the instance
    form_key: str | None

    @property
    def spiff_id(self) -> str:
        return str(self.task.id)


class FiredTimer(NamedTuple):
    """A timer with a row that fired during the step (not the one the step was asked to fire)."""

    spiff_id: str
    element_id: str
    name: str | None
    due_at: dt.datetime
    cycle: bool  # a cycle that moved on to its next due time: it waits again under a new row


class ArmedTimer(NamedTuple):
    """A timer that waits and has no row yet."""

    spiff_id: str
    element_id: str
    kind: str  # boundary, start or intermediate
    due_at: dt.datetime


@dataclass
class Outcome:
    """What one step did, in the order the history records it: gateways passed, open tasks cancelled,
    user tasks offered, timers fired, and whether the instance ended (at which end event)."""

    gateways: list[Gateway] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)  # open tasks (context.open_tasks) no longer ready
    ready: list[ReadyTask] = field(default_factory=list)
    timers_fired: list[FiredTimer] = field(default_factory=list)
    timers_cancelled: list[str] = field(default_factory=list)  # rows whose timer went without firing
    timers_armed: list[ArmedTimer] = field(default_factory=list)  # new rows (a fired cycle gets one too)
    timers_moved: dict[str, dt.datetime] = field(default_factory=dict)  # rows whose due time changed
    timers_waiting: dict[str, dt.datetime] = field(default_factory=dict)  # the timers with a row after the step
    ended: bool = False
    end_element: str | None = None
    compacted: tuple[UUID, ...] = ()  # tasks dropped or re-attached by persistence.compact


# ------------------------------------------------------------------------------------------- the changes

def start(definition: ParsedDefinition, data: dict[str, Any], engine_data: dict[str, Any], *,
          initiator: str | None) -> tuple[BpmnWorkflow, Outcome]:
    """A new workflow with the start form's data (on the start task) and the engine's (instance variables)."""
    workflow = persistence.new_workflow(definition)
    since = time.time()
    workflow.data.update(engine_data)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(**data)
    return workflow, advance(workflow, since, Context(definition, initiator))


def ready_task(workflow: BpmnWorkflow, spiff_id: str, element_id: str) -> SpiffTask | None:
    """The ready user task a task record stands for; None when it no longer waits there.
    SpiffWorkflow runs whatever it is given, so nothing else may be completed."""
    try:
        task = workflow.get_task_from_id(UUID(spiff_id))
    except TaskNotFoundException:
        return None
    if task is None or task.state != TaskState.READY or not task.task_spec.manual \
            or task.task_spec.bpmn_id != element_id:
        return None
    return task


def complete(workflow: BpmnWorkflow, task: SpiffTask, data: dict[str, Any], engine_data: dict[str, Any],
             context: Context) -> Outcome:
    """Complete a ready user task (see `ready_task`) with form data; `engine_data` set first as instance variables."""
    since = time.time()
    if engine_data:
        _set_variables(workflow, engine_data)
    task.set_data(**data)
    task.run()
    return advance(workflow, since, context)


def set_variables(workflow: BpmnWorkflow, variables: dict[str, Any], context: Context) -> Outcome:
    """New instance variables (SLA deadlines after a re-grade); waiting timers are re-armed on them."""
    since = time.time()
    _set_variables(workflow, variables)
    return advance(workflow, since, context)


def fire_timer(workflow: BpmnWorkflow, timer: SpiffTask, context: Context) -> Outcome | None:
    """Let the workflow react to a waiting timer falling due; None when, by the workflow's reckoning,
    it is not due yet (clock skew between processes) — nothing ran then."""
    since = time.time()
    due = due_time(timer)
    workflow.refresh_timers()
    # A cycle that fired keeps waiting for its next turn, with a later due time.
    if timer.state == TaskState.WAITING and due_time(timer) == due:
        return None
    return advance(workflow, since, context, fired=str(timer.id))


def migrate(workflow: BpmnWorkflow, definition: ParsedDefinition, context: Context) -> tuple[BpmnWorkflow, Outcome]:
    """The workflow rebuilt on another version of its process from its own serialization (task specs
    match by id), the token continuing from where it stands."""
    moved = persistence.load(persistence.dump(workflow), definition)
    since = time.time()
    moved.refresh_timers()
    return moved, advance(moved, since, replace(context, definition=definition))


def _set_variables(workflow: BpmnWorkflow, variables: dict[str, Any]) -> None:
    """Deadlines live in the workflow's own data, where every expression sees them (see
    engine.process.expressions); waiting timers computed their due time already, so they are re-armed."""
    workflow.data.update(variables)
    for task in waiting_timers(workflow).values():
        task.internal_data.pop("event_value", None)
    workflow.refresh_timers()


# ------------------------------------------------------------------------------------------- advance

def advance(workflow: BpmnWorkflow, since: float, context: Context, *, fired: str | None = None) -> Outcome:
    """Run the engine until it waits and tell what happened since `since` (time.time() before the input):
    relative to `context`, which open tasks went and which user tasks are new; which timers with a row
    fired (`fired`, the one the step was asked to fire, is the step's input, not its outcome) and which
    timers wait now. Long loops are compacted last, once everything is read."""
    _run_engine(workflow, context.definition)
    passed = _passed_tasks(workflow, since)
    outcome = Outcome(gateways=_gateways(passed))
    ready = {str(task.id): task for task in ready_user_tasks(workflow)}
    outcome.cancelled = [spiff_id for spiff_id in context.open_tasks if spiff_id not in ready]
    outcome.ready = [offer(task, context.initiator) for spiff_id, task in ready.items()
                     if spiff_id not in context.open_tasks]
    _timers(workflow, context.timers, fired, outcome)
    if workflow.is_completed():
        outcome.ended = True
        ends = [t.task_spec.bpmn_id for t in passed if type(t.task_spec).__name__ == "EndEvent"]
        outcome.end_element = ends[-1] if ends else None
    outcome.compacted = persistence.compact(workflow)
    return outcome


class _Runaway(Exception):
    def __init__(self, task: SpiffTask):
        self.task = task


def _run_engine(workflow: BpmnWorkflow, definition: ParsedDefinition) -> None:
    limit, count = ENGINE_STEP_LIMIT, 0

    def count_step(task: SpiffTask) -> None:
        nonlocal count
        count += 1
        if count > limit:
            raise _Runaway(task)

    try:
        workflow.do_engine_steps(will_complete_task=count_step)
    except ExpressionRefused:
        raise
    except _Runaway as runaway:
        element, name = _element_of(runaway.task)
        where = f"element {element}" + (f" ({name})" if name and name != element else "")
        raise ProcessFailed(f"the process ran more than {limit} engine steps in one change without stopping at a "
                            f"user task or timer: it loops at {where} with no wait state; nothing was saved",
                            process_id=definition.process_id, version=definition.version,
                            element_id=element) from None
    except SpiffWorkflowException as exc:
        task = getattr(exc, "task", None)
        spec = task.task_spec if task is not None else getattr(exc, "task_spec", None)
        inner = getattr(exc, "exception", None)
        cause = getattr(exc, "error", None) or exc
        message = (f"expression refused: {inner.message}" if isinstance(inner, ExpressionRefused)
                   else f"the process cannot continue: {cause}")
        raise ProcessFailed(message, process_id=definition.process_id, version=definition.version,
                            element_id=getattr(spec, "bpmn_id", None)) from None


def _element_of(task: SpiffTask | None) -> tuple[str | None, str | None]:
    """The BPMN element a task stands for, or the nearest ancestor's (SpiffWorkflow's own tasks have none)."""
    while task is not None:
        element = getattr(task.task_spec, "bpmn_id", None)
        if element:
            return element, getattr(task.task_spec, "bpmn_name", None)
        task = task.parent
    return None, None


# ------------------------------------------------------------------------------------------- reading the workflow

def ready_user_tasks(workflow: BpmnWorkflow) -> list[SpiffTask]:
    """READY user tasks; a flat scan of the task map is far cheaper than a tree walk when there are
    no subprocesses (whose tasks only the walk finds)."""
    if workflow.subprocesses:
        return list(workflow.get_tasks(state=TaskState.READY, manual=True))
    return [t for t in workflow.tasks.values() if t.state == TaskState.READY and t.task_spec.manual]


# camunda:properties of a user task naming a form field whose answer decides its group or its assignee
# (服务升级 picks the group of 服务支持; 派发现场服务单 names the engineer of 现场服务). The field's value
# is in the task's data when it becomes ready, so replay offers the task exactly as it was offered.
GROUP_FIELD = "candidate_group_field"
ASSIGNEE_FIELD = "assignee_field"


def _from_field(task: SpiffTask, extensions: dict[str, Any], name: str) -> str | None:
    field = extensions.get(name)
    value = task.data.get(field) if field else None
    return value if isinstance(value, str) and value else None


def task_group(task: SpiffTask) -> tuple[str | None, str | None, str | None]:
    """(candidate group, assignee, form key) of a user task, as its task record gets them."""
    extensions = getattr(task.task_spec, "extensions", {}) or {}
    form = getattr(task.task_spec, "form", None)
    form_key = extensions.get("formKey") or getattr(form, "key", None)
    group = extensions.get("candidateGroups")
    if group and "," in group:
        group = group.split(",")[0].strip()  # one owning group per task; the first listed
    # camunda:property elements are kept among the task's extensions, by name.
    return (_from_field(task, extensions, GROUP_FIELD) or group,
            _from_field(task, extensions, ASSIGNEE_FIELD) or extensions.get("assignee"), form_key)


def _ready_task(task: SpiffTask, initiator: str | None) -> ReadyTask:
    spec = task.task_spec
    group, assignee, form_key = task_group(task)
    return ReadyTask(task, spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, spec.lane, group,
                     initiator if assignee == INITIATOR else assignee, form_key)


def offer(task: SpiffTask, initiator: str | None) -> ReadyTask:
    """A ready user task as its record offers it: the diagram's group and assignee, unless the instance's
    TASK_ROUTES name its form. A route marked ROUTE_YIELDS_TO_NAMED gives way to a person named in the case's
    own form field (派发's engineer): the route's group, the named assignee. Routes recorded without the mark
    (before it existed) keep overriding, so their audits re-execute as they ran."""
    ready = _ready_task(task, initiator)
    routes = task.workflow.top_workflow.data.get(TASK_ROUTES)
    route = routes.get(ready.form_key) if isinstance(routes, Mapping) and ready.form_key else None
    if not isinstance(route, Mapping):
        return ready
    assignee = route.get("assignee", ready.assignee)
    if route.get(ROUTE_YIELDS_TO_NAMED):
        extensions = getattr(task.task_spec, "extensions", {}) or {}
        named = _from_field(task, extensions, ASSIGNEE_FIELD)
        assignee = (initiator if named == INITIATOR else named) or assignee
    return ready._replace(group=route.get("group", ready.group), assignee=assignee)


def _passed_tasks(workflow: BpmnWorkflow, since: float) -> list[SpiffTask]:
    """The BPMN elements the engine ran by itself since `since` (not user tasks), in order."""
    return sorted((t for t in workflow.tasks.values()
                   if t.last_state_change >= since and t.state == TaskState.COMPLETED
                   and not t.task_spec.manual and getattr(t.task_spec, "bpmn_id", None)),
                  key=lambda t: t.last_state_change)


def _elements_of(task: SpiffTask) -> list[str]:
    """The BPMN element a task stands for; a task with boundary events sits behind an unnamed
    split task, whose non-boundary child is the element."""
    element = getattr(task.task_spec, "bpmn_id", None)
    if element:
        return [element]
    return [c.task_spec.bpmn_id for c in task.children
            if getattr(c.task_spec, "bpmn_id", None) and "Boundary" not in type(c.task_spec).__name__]


def _gateways(passed: list[SpiffTask]) -> list[Gateway]:
    return [Gateway(task.task_spec.bpmn_id, task.task_spec.bpmn_name,
                    [element for c in task.children if c.state != TaskState.CANCELLED for element in _elements_of(c)])
            for task in passed if type(task.task_spec).__name__ in _GATEWAY_KINDS]


# ------------------------------------------------------------------------------------------- timers

def due_time(task: SpiffTask) -> dt.datetime | None:
    """When a waiting timer task falls due, from SpiffWorkflow's stored absolute event value."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # cycles keep {'next': …}
        value = value.get("next")
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def never_moves_on(task: SpiffTask) -> bool:
    """A cycle with a zero period (R/PT0S): due again the instant it fires, forever. Validation refuses
    these; a version deployed before it did may still hold one, and it must not be re-armed every second."""
    value = task.internal_data.get("event_value")
    return (isinstance(task.task_spec.event_definition, CycleTimerEventDefinition) and isinstance(value, dict)
            and value.get("cycles") != 0 and not value.get("duration"))


def waiting_timers(workflow: BpmnWorkflow) -> dict[str, SpiffTask]:
    """Waiting timer tasks by id, from the workflow's event manager (no tree walk)."""
    return {str(task.id): task for task in workflow.event_manager.tasks.values()
            if isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)}


def _kind(task: SpiffTask) -> str:
    name = type(task.task_spec).__name__
    return "boundary" if "Boundary" in name else "start" if "Start" in name else "intermediate"


def _timers(workflow: BpmnWorkflow, tracked: Mapping[str, dt.datetime], fired: str | None, outcome: Outcome) -> None:
    """The workflow's waiting timers against the timers with a row: which fired, went, moved or are new."""
    waiting = waiting_timers(workflow)
    now = clock.now()
    kept = dict(tracked)
    for spiff_id, due_at in tracked.items():
        if spiff_id in waiting:
            continue
        del kept[spiff_id]
        task = workflow.get_task_from_id(UUID(spiff_id))
        if task is None or task.state != TaskState.COMPLETED:
            outcome.timers_cancelled.append(spiff_id)
        elif spiff_id != fired:
            outcome.timers_fired.append(FiredTimer(spiff_id, task.task_spec.bpmn_id, task.task_spec.bpmn_name,
                                                   due_at, cycle=False))
    for spiff_id, task in waiting.items():
        due = due_time(task)
        if due is None or never_moves_on(task):
            continue
        known = tracked.get(spiff_id)
        if known is None:
            outcome.timers_armed.append(ArmedTimer(spiff_id, task.task_spec.bpmn_id, _kind(task), due))
        elif known != due:
            # Re-armed (a new fault level) or a cycle moved on: the row follows the workflow.
            if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition) and known <= now:
                if spiff_id != fired:  # the one this step fired was recorded as its input
                    outcome.timers_fired.append(FiredTimer(spiff_id, task.task_spec.bpmn_id,
                                                           task.task_spec.bpmn_name, known, cycle=True))
                outcome.timers_armed.append(ArmedTimer(spiff_id, task.task_spec.bpmn_id, _kind(task), due))
            else:
                outcome.timers_moved[spiff_id] = due
        kept[spiff_id] = due
    outcome.timers_waiting = kept
