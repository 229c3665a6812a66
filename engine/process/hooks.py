"""The moments of a state change where domain rules act on the process core without the core knowing them.

In the spirit of indico's signals, with typed receivers: the runtime announces each moment; rules
such as the service desk's (engine.desk) connect receivers to it. Nothing connects itself on import:
`engine.desk.install()` connects the desk's receivers, once, and every entry point calls it (the app
factory, the test fixtures, the benchmarks, the timer worker).

What a receiver may rely on, and must keep to:
- It runs inside the change's transaction (the same Session) and at the change's one instant
  (engine.clock): what it writes commits or rolls back with the change; if it raises, nothing is saved.
- Data it adds to the workflow is *returned* (instance_starting, task_completing), never written into
  the workflow: the runtime applies it and records it with the input as `engine_data`, so the audit's
  re-execution repeats exactly what happened without running any receiver.
- Rows it keeps beside the instance are written with the instance row: it notes values in
  `instance.pending` (one dict per change) and writes them from its `instance_saved` receiver. The
  instance row is always written first, so racing changes queue on it and then conflict cleanly.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.task import Task as SpiffTask

    from engine.process.definitions import ParsedDefinition
    from engine.process.runtime import InstanceState
    from engine.users import Actor

C = TypeVar("C")
R = TypeVar("R")


class Hook(Generic[C, R]):
    """One moment of a state change; its receivers are called in the order they were connected."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.receivers: list[Callable[[C], R]] = []

    def connect(self, receiver: Callable[[C], R]) -> Callable[[C], R]:
        """Add a receiver (once: connecting it again changes nothing)."""
        if receiver not in self.receivers:
            self.receivers.append(receiver)
        return receiver

    def disconnect(self, receiver: Callable[[C], R]) -> None:
        if receiver in self.receivers:
            self.receivers.remove(receiver)

    def send(self, context: C) -> list[R]:
        """What each receiver returned, in order."""
        return [receiver(context) for receiver in self.receivers]

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self.receivers)} receivers>"


def engine_data(hook: Hook[C, dict[str, Any]], context: C) -> dict[str, Any]:
    """The variables every receiver of `hook` adds, merged (a later receiver wins on a clash)."""
    merged: dict[str, Any] = {}
    for added in hook.send(context):
        merged.update(added)
    return merged


def first_value(hook: Hook[C, R | None], context: C) -> R | None:
    """The first answer of a receiver that has one."""
    for receiver in hook.receivers:
        value = receiver(context)
        if value is not None:
            return value
    return None


# --- what the receivers are given -----------------------------------------------------------------

@dataclass
class Start:
    """An instance being started: its row exists; the workflow has not run yet."""

    session: Session
    instance: InstanceState
    definition: ParsedDefinition
    data: dict[str, Any]  # the start form's cleaned data
    engine_data: dict[str, Any] = field(default_factory=dict)  # set before instance_started


@dataclass
class Completion:
    """A user task being completed with the form's cleaned data."""

    session: Session
    instance: InstanceState
    definition: ParsedDefinition
    workflow: BpmnWorkflow
    task: SpiffTask
    form_key: str | None
    data: dict[str, Any]
    actor: Actor
    engine_data: dict[str, Any] = field(default_factory=dict)  # set before task_completed
    locale: str = "en"  # of the person completing it: a receiver's refusal is in it (engine.desk.parts, pickers)


@dataclass(frozen=True)
class Due:
    """A user task about to get its task record (or whose due time may have moved)."""

    task: SpiffTask
    form_key: str | None


@dataclass(frozen=True)
class Opened:
    """New task records as they are written (element_id, name, candidate_group, form_key, assignee, due_at …);
    receivers read them and leave them as they are. Each row gains its "id" once inserted, right after the
    receivers ran: one kept for later (a notice written at instance_saved) reads it then."""

    session: Session
    instance: InstanceState
    tasks: list[dict[str, Any]]


@dataclass(frozen=True)
class Reassigned:
    """A task's holder changed without the workflow moving: claimed, released or assigned (`kind` is the
    history kind); the instance row is saved and the change recorded."""

    session: Session
    instance: InstanceState
    task: dict[str, Any]  # the task record's id, element_id, name, candidate_group, form_key
    kind: str
    previous_assignee: str | None
    assignee: str | None
    actor: str


@dataclass(frozen=True)
class Moment:
    """A change of the instance as a whole (ended, saved)."""

    session: Session
    instance: InstanceState


@dataclass(frozen=True)
class Recorded:
    """A change of the workflow, fully recorded (history written, instance row saved): whether the
    instance ended, and at which end event of its definition."""

    session: Session
    instance: InstanceState
    definition: ParsedDefinition
    end_element: str | None  # the end event it ended at in this change; None while it runs on
    actor: str | None  # who made the change (system for a timer)


# --- the moments ----------------------------------------------------------------------------------

# Before the start is recorded: variables to add to the new workflow's data (recorded as engine_data).
instance_starting: Hook[Start, dict[str, Any]] = Hook("instance_starting")
# The start is recorded, with its engine_data; the workflow runs next.
instance_started: Hook[Start, None] = Hook("instance_started")
# Before the task runs: variables to set on the workflow (recorded as engine_data of task_completed).
task_completing: Hook[Completion, dict[str, Any]] = Hook("task_completing")
# The completion is recorded, with its engine_data; the workflow runs on next.
task_completed: Hook[Completion, None] = Hook("task_completed")
# The due time a task record shows (the first receiver with an answer decides; None: no due time).
task_due: Hook[Due, dt.datetime | None] = Hook("task_due")
# New user tasks get their records (work after commit, such as mail, goes through engine.store.db.after_commit).
tasks_opened: Hook[Opened, None] = Hook("tasks_opened")
# A task was claimed, released or assigned (work after commit goes through engine.store.db.after_commit).
task_reassigned: Hook[Reassigned, None] = Hook("task_reassigned")
# The workflow completed; the instance is saved next with status 'completed'.
instance_ended: Hook[Moment, None] = Hook("instance_ended")
# The instance row was written (version checked and bumped): write what `instance.pending` holds.
instance_saved: Hook[Moment, None] = Hook("instance_saved")
# A change of the workflow is recorded: receivers may make changes of their own that follow from it (each
# one recorded as its own change, after this one), such as starting a linked process when it ended.
change_recorded: Hook[Recorded, None] = Hook("change_recorded")


# --- periodic work --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """Work the timer scheduler (engine.process.scheduler) runs every `seconds`, in a transaction of its own."""

    id: str
    seconds: float
    run: Callable[[Session], object]


jobs: list[Job] = []


def add_job(job: Job) -> None:
    """Register periodic work (once per id)."""
    if all(existing.id != job.id for existing in jobs):
        jobs.append(job)
