"""Auditors' verification of instance histories: the hash chain, and re-execution from the recorded inputs.

The chain shows that no event was edited, removed or reordered after it was written; re-execution
shows that the events also tell the truth: a fresh workflow of the instance's definition version, fed
the recorded start data, completions and timer firings under the recorded clock, must do exactly what
the history says the engine did, change by change. Auditors only read; what they look at is logged.
"""
from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from engine import clock, sla_clock
from engine.errors import InvalidInput, NotFound, OpsflowError, ProcessFailed
from engine.process import definitions, history, persistence, step
from engine.store.models import AccessLog, HistoryEvent, ProcessDefinition, ProcessInstance, TaskRecord

_events = cast(Table, HistoryEvent.__table__)
_instances = cast(Table, ProcessInstance.__table__)
_definitions = cast(Table, ProcessDefinition.__table__)
_tasks = cast(Table, TaskRecord.__table__)
_access = cast(Table, AccessLog.__table__)

# Events that feed the engine an input, events that record what the engine did in answer, and events
# about open tasks that leave the workflow alone. Other kinds (request_chased, …) need no engine action.
# timer_fired is an input when the scheduler fired the timer, an outcome when another change did.
_ACTIONS = frozenset({history.INSTANCE_STARTED, history.TASK_COMPLETED, history.TIMER_FIRED,
                      history.FAULT_LEVEL_CHANGED, history.ZONE_CORRECTED})
_OUTCOMES = frozenset({history.GATEWAY_TAKEN, history.TASK_CANCELLED, history.TASK_READY, history.INSTANCE_ENDED})
_ON_OPEN_TASKS = frozenset({history.TASK_CLAIMED, history.TASK_RELEASED, history.TASK_ASSIGNED})
_WHILE_RUNNING = frozenset({history.REQUEST_CHASED, history.COMPLAINT_RAISED, history.ATTACHMENT_ADDED})

BATCH_SIZE = 200
EXPORT_FORMATS = ("json", "csv")
HASH_RULE = "hash = sha256(prev_hash + canonical(event)); canonical = JSON of instance_id, seq, kind, element_id, " \
            "task_record_id, actor, at, payload with sorted keys, separators (',', ':'), UTF-8"


# ------------------------------------------------------------------------------------------- results

@dataclass(frozen=True)
class Divergence:
    """Where an instance's history stops being believable: the event at fault, and what should be there.

    `expected` is what the chain or the re-execution says, `found` what the history (or the stored state)
    holds; `check` is `chain`, `replay` (a change re-executed differently) or `final` (the state after the
    last event differs from the stored instance), `seq` None only for `final`.
    """

    instance_id: int
    seq: int | None
    kind: str | None
    expected: Any
    found: Any
    check: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "seq": self.seq, "kind": self.kind, "expected": self.expected,
                "found": self.found, "check": self.check, "message": self.message}

    def __str__(self) -> str:
        where = f"seq {self.seq} ({self.kind})" if self.seq is not None else "final state"
        return (f"{where} [{self.check}]: {self.message}; expected {abbreviate(self.expected)}, "
                f"found {abbreviate(self.found)}")


@dataclass(frozen=True)
class Verdict:
    """One instance verified: `ok` when the chain holds and re-execution agrees with every event."""

    instance_id: int
    ok: bool
    chain_ok: bool
    replay_ok: bool
    events_checked: int
    first_divergence: Divergence | None
    divergences: tuple[Divergence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "ok": self.ok, "chain_ok": self.chain_ok,
                "replay_ok": self.replay_ok, "events_checked": self.events_checked,
                "first_divergence": self.first_divergence.to_dict() if self.first_divergence else None,
                "divergences": [d.to_dict() for d in self.divergences]}


def abbreviate(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _plain(value: Any) -> Any:
    """JSON-normal form, so data from the history, a live workflow and a stored one compare equal."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


# ------------------------------------------------------------------------------------------- loading

@dataclass(frozen=True, slots=True)
class _Event:
    instance_id: int
    seq: int
    kind: str
    element_id: str | None
    task_record_id: int | None
    actor: str | None
    at: dt.datetime
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def content(self) -> dict[str, Any]:
        """What the hash covers, exactly as `history.Recorder` built it."""
        return {"instance_id": self.instance_id, "seq": self.seq, "kind": self.kind, "element_id": self.element_id,
                "task_record_id": self.task_record_id, "actor": self.actor,
                "at": self.at.isoformat(timespec="microseconds"), "payload": self.payload}

    def to_dict(self) -> dict[str, Any]:
        return {**self.content(), "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class _Instance:
    id: int
    definition_id: int
    sha256: str
    process_id: str
    version: int
    status: str
    started_by: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    last_event_seq: int
    last_event_hash: str


_EVENT_COLUMNS = (_events.c.instance_id, _events.c.seq, _events.c.kind, _events.c.element_id,
                  _events.c.task_record_id, _events.c.actor, _events.c.at, _events.c.payload,
                  _events.c.prev_hash, _events.c.hash)
_INSTANCE_COLUMNS = (_instances.c.id, _instances.c.definition_id, _definitions.c.sha256, _instances.c.process_id,
                     _definitions.c.version, _instances.c.status, _instances.c.started_by, _instances.c.started_at,
                     _instances.c.ended_at, _instances.c.last_event_seq, _instances.c.last_event_hash)


def _load_instances(session: Session, ids: Sequence[int]) -> dict[int, _Instance]:
    rows = session.connection().execute(
        select(*_INSTANCE_COLUMNS).join(_definitions, _definitions.c.id == _instances.c.definition_id)
        .where(_instances.c.id.in_(ids)))
    return {row.id: _Instance(**row._mapping) for row in rows}


def _load_events(session: Session, ids: Sequence[int]) -> dict[int, list[_Event]]:
    """Events of many instances in one query, each instance's in seq order."""
    events: dict[int, list[_Event]] = {i: [] for i in ids}
    rows = session.connection().execute(select(*_EVENT_COLUMNS).where(_events.c.instance_id.in_(ids))
                                        .order_by(_events.c.instance_id, _events.c.seq))
    for row in rows:
        events[row.instance_id].append(_Event(**row._mapping))
    return events


def _load_open_records(session: Session, ids: Sequence[int]) -> dict[int, dict[int, tuple[str, str]]]:
    """Open task records per instance: record id -> (SpiffWorkflow task id, element id)."""
    records: dict[int, dict[int, tuple[str, str]]] = {i: {} for i in ids}
    rows = session.connection().execute(
        select(_tasks.c.instance_id, _tasks.c.id, _tasks.c.spiff_task_id, _tasks.c.element_id)
        .where(_tasks.c.instance_id.in_(ids), _tasks.c.state == "ready"))
    for row in rows:
        records[row.instance_id][row.id] = (row.spiff_task_id, row.element_id)
    return records


def _load_states(session: Session, ids: Sequence[int]) -> dict[int, str]:
    rows = session.connection().execute(select(_instances.c.id, _instances.c.workflow_state)
                                        .where(_instances.c.id.in_(ids)))
    return {row.id: row.workflow_state for row in rows}


# ------------------------------------------------------------------------------------------- the chain

def _check_chain(instance: _Instance, events: Sequence[_Event]) -> Divergence | None:
    """The first event whose place, link or hash is wrong; then the chain tail kept on the instance."""
    def divergence(seq: int, kind: str | None, expected: Any, found: Any, message: str) -> Divergence:
        return Divergence(instance.id, seq, kind, expected, found, "chain", message)

    prev = ""
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            what = "missing" if event.seq > expected_seq else "out of place"
            return divergence(expected_seq, event.kind, {"seq": expected_seq}, {"seq": event.seq},
                              f"event {expected_seq} is {what}: the next stored event is {event.seq}")
        if event.prev_hash != prev:
            return divergence(event.seq, event.kind, {"prev_hash": prev}, {"prev_hash": event.prev_hash},
                              "event does not link to the one before it (removed, inserted or moved)")
        digest = history.event_hash(prev, event.content())
        if digest != event.hash:
            return divergence(event.seq, event.kind, {"hash": digest}, {"hash": event.hash},
                              "event content does not match its hash (edited after it was written)")
        prev = event.hash
    if not events:
        return divergence(1, None, {"kind": history.INSTANCE_STARTED}, None, "the instance has no history")
    last = events[-1]
    if (last.seq, last.hash) != (instance.last_event_seq, instance.last_event_hash):
        return divergence(instance.last_event_seq, None, {"seq": instance.last_event_seq,
                                                          "hash": instance.last_event_hash},
                          {"seq": last.seq, "hash": last.hash},
                          "the history ends before or after the chain tail the instance keeps "
                          "(events removed or added at the end)")
    return None


# ------------------------------------------------------------------------------------------- re-execution

@dataclass
class _Expected:
    """What one re-executed change must have recorded (its step.Outcome), as far as not yet matched by events."""

    gateways: list[tuple[str, list[str]]] = field(default_factory=list)
    cancelled: dict[int, str] = field(default_factory=dict)  # task record id -> element id
    ready: list[step.ReadyTask] = field(default_factory=list)
    timers: list[tuple[str, dt.datetime | None]] = field(default_factory=list)  # fired: element id, due at
    ends: bool = False
    end_element: str | None = None

    def first_left(self) -> dict[str, Any] | None:
        if self.gateways:
            element_id, taken = self.gateways[0]
            return {"kind": history.GATEWAY_TAKEN, "element_id": element_id, "taken": taken}
        if self.cancelled:
            task_id = min(self.cancelled)
            return {"kind": history.TASK_CANCELLED, "element_id": self.cancelled[task_id], "task_id": task_id}
        if self.ready:
            return {"kind": history.TASK_READY, "element_id": self.ready[0].element_id}
        if self.timers:
            return {"kind": history.TIMER_FIRED, "element_id": self.timers[0][0]}
        if self.ends:
            return {"kind": history.INSTANCE_ENDED, "element_id": self.end_element}
        return None


def _found(event: _Event | None) -> dict[str, Any] | None:
    if event is None:
        return None
    found: dict[str, Any] = {"kind": event.kind, "element_id": event.element_id}
    if event.task_record_id is not None:
        found["task_id"] = event.task_record_id
    if event.kind == history.GATEWAY_TAKEN:
        found["taken"] = event.payload.get("taken")
    return found


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# A duration timer's due time is "now + duration" at the moment it starts waiting. Every change runs at
# one instant of the engine clock (clock.one_instant), the time its events record, so re-execution
# reproduces due times and lateness exactly (a test holds it to zero); histories written before that read
# the clock a little after the event's `at`, and may differ by this much, no more.
TIMER_TOLERANCE = dt.timedelta(seconds=5)


class _Replay:
    """A fresh workflow fed the recorded inputs one event at a time, checking each recorded outcome."""

    def __init__(self, instance_id: int, definition: definitions.ParsedDefinition,
                 load_definition: Callable[[int], definitions.ParsedDefinition] | None = None):
        self.instance_id = instance_id
        self.definition = definition
        self.load_definition = load_definition  # by definition id, for migrations to another version
        self.workflow: BpmnWorkflow | None = None
        # Elements completed so far, in order; kept here because compaction drops old finished tasks.
        self.completed: list[str] = []
        # Task record id -> (SpiffWorkflow task id, element id) of the task its task_ready event announced.
        self.open: dict[int, tuple[str, str]] = {}
        self.offered_at: dict[int, dt.datetime] = {}  # task record id -> its task_ready's time (SLA pauses)
        self.timers: dict[str, dt.datetime] = {}  # timers with a row, as of the last change (step.Outcome)
        self.outcome: _Expected | None = None
        self.ended = False
        self.broken = False  # an action could not be re-executed; later actions would mean nothing
        self.started_by: str | None = None
        self.last_seq = 0

    def _divergence(self, event: _Event | None, expected: Any, found: Any, message: str,
                    seq: int | None = None) -> Divergence:
        return Divergence(self.instance_id, seq if seq is not None else (event.seq if event else None),
                          event.kind if event else None, expected, found, "replay", message)

    # ---- walking the events

    def apply(self, event: _Event) -> Divergence | None:
        """Re-execute or check one event; the first disagreement it shows, if any."""
        self.last_seq = event.seq
        if self.broken:  # the re-executed state is no longer the instance's; nothing after this can be judged
            return None
        kind = event.kind
        if kind in _OUTCOMES or (kind == history.TIMER_FIRED and self._timer_expected(event)):
            return self._match(event)
        left = self._left_over(event)
        if left is not None:
            return left
        if self.workflow is None and kind != history.INSTANCE_STARTED:
            return self._divergence(event, {"kind": history.INSTANCE_STARTED}, _found(event),
                                    "the history does not begin with the start of the instance")
        if kind in _ACTIONS and kind != history.INSTANCE_STARTED and self.ended:
            return self._divergence(event, {"status": "completed"}, _found(event),
                                    f"{kind} after the instance had ended")
        if kind == history.INSTANCE_STARTED:
            return self._start(event)
        if kind == history.TASK_COMPLETED:
            return self._complete(event)
        if kind == history.TIMER_FIRED:
            return self._fire_timer(event)
        if kind == history.FAULT_LEVEL_CHANGED:
            return self._change_level(event)
        if kind == history.INSTANCE_MIGRATED:
            return self._migrate(event)
        if kind == history.ZONE_CORRECTED:
            return self._correct_zone(event)
        if kind in _ON_OPEN_TASKS and event.task_record_id not in self.open:
            return self._divergence(event, {"open_tasks": self._open_tasks()}, _found(event),
                                    f"{kind} of a task that is not open at this point")
        if kind in _WHILE_RUNNING and self.ended:
            return self._divergence(event, {"status": "completed"}, _found(event),
                                    f"{kind} after the instance had ended")
        return None

    def finish(self) -> Divergence | None:
        """After the last event: the last change's outcomes must all have been recorded."""
        return self._left_over(None)

    def _open_tasks(self) -> dict[str, str]:
        return {str(task_id): element_id for task_id, (_spiff_id, element_id) in sorted(self.open.items())}

    def _left_over(self, event: _Event | None) -> Divergence | None:
        left = self.outcome.first_left() if self.outcome is not None and not self.broken else None
        if left is None:
            return None
        where = "before the next change" if event is not None else "at the end of the history"
        return self._divergence(event, left, _found(event),
                                f"re-execution recorded {left['kind']} {left['element_id']}, the history "
                                f"has no such event {where}", seq=event.seq if event else self.last_seq + 1)

    # ---- actions: each input through engine.process.step, as the runtime ran it, under the clock the event recorded

    def _context(self) -> step.Context:
        return step.Context(self.definition, self.started_by,
                            {spiff_id: task_id for task_id, (spiff_id, _element) in self.open.items()}, self.timers)

    def _start(self, event: _Event) -> Divergence | None:
        if self.workflow is not None:
            return self._divergence(event, None, _found(event), "a second start of the same instance")
        definition = self.definition
        recorded = (event.payload.get("process_id"), event.payload.get("version"))
        if recorded != (definition.process_id, definition.version):
            return self._divergence(event, {"process_id": definition.process_id, "version": definition.version},
                                    {"process_id": recorded[0], "version": recorded[1]},
                                    "started on another definition version than the instance runs on")
        self.started_by = event.actor
        data = event.payload.get("data") or {}
        engine_data = event.payload.get("engine_data") or {}

        def start() -> step.Outcome:
            self.workflow, outcome = step.start(definition, data, engine_data, initiator=event.actor)
            return outcome

        return self._run(event, start)

    def _complete(self, event: _Event) -> Divergence | None:
        workflow = cast(BpmnWorkflow, self.workflow)
        record = self.open.get(event.task_record_id) if event.task_record_id is not None else None
        task = step.ready_task(workflow, record[0], event.element_id or "") if record is not None else None
        if task is None:
            return self._divergence(event, {"open_tasks": self._open_tasks()}, _found(event),
                                    "completes a task that is not open at this point")
        del self.open[cast(int, event.task_record_id)]
        data = event.payload.get("data") or {}
        engine_data = event.payload.get("engine_data") or {}
        paused = self._check_pause(event, workflow, data, engine_data)
        if paused is not None:
            return paused
        return self._run(event, lambda: step.complete(workflow, task, data, engine_data, self._context()))

    def _check_pause(self, event: _Event, workflow: BpmnWorkflow, data: dict[str, Any],
                     engine_data: dict[str, Any]) -> Divergence | None:
        """A completion that ended a wait on the customer records the pause (engine.sla_clock): it must be
        the time from the task's offer to this completion, and move the deadlines as the SLA clock does."""
        pauses = engine_data.get(sla_clock.PAUSES)
        if pauses is None or len(pauses) == len(workflow.data.get(sla_clock.PAUSES) or []):
            return None
        offered = self.offered_at.get(cast(int, event.task_record_id))
        if offered is None:
            return self._divergence(event, {"pause": None}, {"pause": pauses[-1]},
                                    "a pause of the SLA clock for a task whose offer the history does not show")
        expected = sla_clock.after_pause(workflow.data, offered, event.at)
        if "fault_level" in data:  # the same step re-graded: its deadlines come from the policy, pauses applied
            expected = {sla_clock.PAUSES: expected[sla_clock.PAUSES]}
        found = {name: engine_data.get(name) for name in expected}
        if _plain(found) != _plain(expected):
            differing = sorted(name for name in expected if _plain(found[name]) != _plain(expected[name]))
            return self._divergence(event, {k: expected[k] for k in differing}, {k: found[k] for k in differing},
                                    "the SLA clock's pause (from the task's offer to its completion) moves the "
                                    "deadlines differently on re-execution")
        return None

    def _migrate(self, event: _Event) -> Divergence | None:
        """The instance moved to another version: continue on its spec, as engine.process.runtime did."""
        if self.load_definition is None or self.workflow is None:
            return self._divergence(event, None, _found(event), "a migration that cannot be re-executed here")
        new = self.load_definition(int(event.payload["to_definition_id"]))
        workflow = self.workflow

        def migrate() -> step.Outcome:
            self.workflow, outcome = step.migrate(workflow, new, self._context())
            return outcome

        self.definition = new
        return self._run(event, migrate)

    def _change_level(self, event: _Event) -> Divergence | None:
        workflow = cast(BpmnWorkflow, self.workflow)
        variables = {**(event.payload.get("engine_data") or {}), "fault_level": event.payload.get("to")}
        return self._run(event, lambda: step.set_variables(workflow, variables, self._context()))

    def _correct_zone(self, event: _Event) -> Divergence | None:
        """The routing variables the correction recorded (engine.desk.zones), set as the runtime set them."""
        workflow = cast(BpmnWorkflow, self.workflow)
        variables = event.payload.get("engine_data") or {}
        return self._run(event, lambda: step.set_variables(workflow, variables, self._context()))

    def _fire_timer(self, event: _Event) -> Divergence | None:
        workflow = cast(BpmnWorkflow, self.workflow)
        candidates = [t for t in step.waiting_timers(workflow).values() if t.task_spec.bpmn_id == event.element_id]
        if not candidates:
            return self._divergence(event, {"waiting_timers": self._waiting_timers()}, _found(event),
                                    "a timer fired that was not waiting at this point")
        # Several waiting timers of one element (a loop): the one that falls due first.
        timer = min(candidates, key=lambda t: step.due_time(t) or dt.datetime.max.replace(tzinfo=dt.UTC))
        due = step.due_time(timer)
        found = self._timer_recorded(event, due)
        if found is not None:
            return found
        ran: list[bool] = []

        def fire() -> step.Outcome | None:
            outcome = step.fire_timer(workflow, timer, self._context())
            ran.append(outcome is not None)  # None: by step's own rule the timer was not due
            return outcome

        divergence = self._run(event, fire)
        if divergence is None and not ran[0]:
            return self._divergence(event, {"element_id": event.element_id, "due_at": _iso(due)},
                                    {"element_id": event.element_id, "fired_at": event.at.isoformat()},
                                    "the timer is not due at the time the history says it fired")
        return divergence

    def _timer_recorded(self, event: _Event, due: dt.datetime | None) -> Divergence | None:
        """A timer_fired event's due time and lateness against the re-executed timer."""
        recorded_due = event.payload.get("due_at")
        late_ms = event.payload.get("late_ms")
        if due is None or recorded_due is None:
            return None
        try:
            recorded = dt.datetime.fromisoformat(str(recorded_due))
        except ValueError:
            recorded = None
        if recorded is None or abs(recorded - due) > TIMER_TOLERANCE:
            return self._divergence(event, {"due_at": _iso(due)}, {"due_at": recorded_due},
                                    "the timer fell due at another time on re-execution")
        late = (event.at - due) / dt.timedelta(milliseconds=1)
        if not isinstance(late_ms, int) or abs(max(0.0, late) - late_ms) > TIMER_TOLERANCE / dt.timedelta(
                milliseconds=1):
            return self._divergence(event, {"late_ms": max(0, int(late))}, {"late_ms": late_ms},
                                    "the recorded lateness does not match the due time and the firing time")
        return None

    def _run(self, event: _Event, change: Callable[[], step.Outcome | None]) -> Divergence | None:
        """Re-execute one input under the recorded clock; what its step did becomes what the events after it
        must record (None from the step: nothing ran)."""
        try:
            with clock.frozen(event.at):
                outcome = change()
        except Exception as exc:  # any failure here is a finding about this instance, not a crash of the audit
            self.broken = True
            return self._divergence(event, {"error": f"{type(exc).__name__}: {exc}"}, _found(event),
                                    "re-executing this event fails")
        if outcome is not None:
            self.outcome = self._expected(outcome)
        return None

    def _expected(self, outcome: step.Outcome) -> _Expected:
        """The events the runtime writes for a step's outcome (engine.process.runtime._finish), by task record."""
        by_spiff_id = {spiff_id: task_id for task_id, (spiff_id, _element) in self.open.items()}
        expected = _Expected(gateways=[(g.element_id, g.taken) for g in outcome.gateways], ready=list(outcome.ready),
                             timers=[(t.element_id, t.due_at) for t in outcome.timers_fired])
        for spiff_id in outcome.cancelled:
            task_id = by_spiff_id[spiff_id]
            expected.cancelled[task_id] = self.open.pop(task_id)[1]
        self.timers = outcome.timers_waiting
        if outcome.ended and not self.ended:
            expected.ends, expected.end_element = True, outcome.end_element
        return expected

    # ---- outcomes

    def _timer_expected(self, event: _Event) -> bool:
        outcome = self.outcome
        return outcome is not None and any(element_id == event.element_id for element_id, _ in outcome.timers)

    def _match(self, event: _Event) -> Divergence | None:
        outcome = self.outcome
        if outcome is None:
            return self._divergence(event, None, _found(event), "an outcome recorded before the instance started")
        kind, payload = event.kind, event.payload
        if kind == history.GATEWAY_TAKEN:
            found = (event.element_id, sorted(payload.get("taken") or []))
            if not outcome.gateways:
                return self._divergence(event, None, _found(event), "re-execution passed no further gateway")
            element_id, taken = outcome.gateways[0]
            if (element_id, sorted(taken)) != found:
                return self._divergence(event, {"element_id": element_id, "taken": taken}, _found(event),
                                        "the gateway took another way on re-execution")
            outcome.gateways.pop(0)
        elif kind == history.TASK_CANCELLED:
            task_id = event.task_record_id
            if task_id is None or outcome.cancelled.get(task_id) != event.element_id:
                expected = {str(k): v for k, v in sorted(outcome.cancelled.items())} or None
                return self._divergence(event, {"cancelled": expected}, _found(event),
                                        "re-execution did not cancel this task")
            del outcome.cancelled[task_id]
        elif kind == history.TASK_READY:
            return self._match_ready(event, outcome)
        elif kind == history.TIMER_FIRED:
            index = next(i for i, (element_id, _) in enumerate(outcome.timers) if element_id == event.element_id)
            _, due = outcome.timers.pop(index)
            return self._timer_recorded(event, due)
        elif kind == history.INSTANCE_ENDED:
            if not outcome.ends or outcome.end_element != event.element_id:
                ending: dict[str, Any] = {"element_id": outcome.end_element} if outcome.ends else {"status": "running"}
                return self._divergence(event, ending, _found(event),
                                        "the instance ended differently on re-execution")
            outcome.ends = False
            self.ended = True
        return None

    def _match_ready(self, event: _Event, outcome: _Expected) -> Divergence | None:
        index = next((i for i, t in enumerate(outcome.ready) if t.element_id == event.element_id), None)
        if index is None:
            return self._divergence(event, {"ready": [t.element_id for t in outcome.ready] or None},
                                    _found(event), "this task did not become ready on re-execution")
        ready = outcome.ready[index]
        if event.task_record_id is None or event.task_record_id in self.open:
            return self._divergence(event, {"task_id": "a new task record"}, _found(event),
                                    "task_ready names a task record that is already open")
        expected = {"name": ready.name, "group": ready.group, "assignee": ready.assignee, "form_key": ready.form_key}
        found = {key: event.payload.get(key) for key in expected}
        if found != expected:
            return self._divergence(event, expected, found, "the task was offered differently on re-execution")
        outcome.ready.pop(index)
        self.open[event.task_record_id] = (ready.spiff_id, ready.element_id)
        self.offered_at[event.task_record_id] = event.at
        return None

    # ---- state, for replay_steps and the final comparison

    def _waiting_timers(self) -> list[dict[str, Any]]:
        if self.workflow is None:
            return []
        return sorted(({"element_id": t.task_spec.bpmn_id, "due_at": _iso(step.due_time(t))}
                       for t in step.waiting_timers(self.workflow).values()),
                      key=lambda t: (t["due_at"] or "", t["element_id"]))

    def data(self) -> dict[str, Any]:
        last = self.workflow.last_task if self.workflow is not None else None
        return cast(dict[str, Any], _plain(last.data)) if last is not None else {}

    def variables(self) -> dict[str, Any]:
        return cast(dict[str, Any], _plain(self.workflow.data)) if self.workflow is not None else {}

    def snapshot(self) -> dict[str, Any]:
        workflow = self.workflow
        if workflow is None:
            return {"status": "not_started", "ready": [], "active": [], "completed": [], "open_tasks": [],
                    "waiting_timers": [], "data": {}, "variables": {}}
        active: list[str] = []
        completed: list[str] = []
        for task in workflow.get_tasks():
            element_id = getattr(task.task_spec, "bpmn_id", None)
            if not element_id:
                continue
            if task.state & (TaskState.READY | TaskState.WAITING | TaskState.STARTED):
                active.append(element_id)
            elif task.state == TaskState.COMPLETED and element_id not in completed:
                completed.append(element_id)
        self.completed += [element_id for element_id in completed if element_id not in self.completed]
        return {"status": "completed" if workflow.is_completed() else "running",
                "ready": sorted(t.task_spec.bpmn_id for t in step.ready_user_tasks(workflow)),
                "active": sorted(active), "completed": list(self.completed),
                "open_tasks": [{"task_id": task_id, "element_id": element_id}
                               for task_id, (_spiff_id, element_id) in sorted(self.open.items())],
                "waiting_timers": self._waiting_timers(), "data": self.data(), "variables": self.variables()}


def _saved_from_json(state: str, definition: definitions.ParsedDefinition) -> _Saved | None:
    """The parts of a saved workflow the final check needs, read from its JSON without rebuilding it;
    None when only a full load can tell (subprocesses)."""
    saved = json.loads(state)
    if saved.get("subprocesses"):
        return None
    specs = definition.spec.task_specs
    ready: dict[str, str] = {}
    for task_id, task in saved["tasks"].items():
        spec = specs.get(task["task_spec"])
        if task["state"] == TaskState.READY and spec is not None and spec.manual:
            ready[task_id] = spec.bpmn_id
    return _Saved(ready, _plain(_saved_task_data(saved["tasks"], saved.get("last_task"))),
                  _plain(saved.get("data") or {}))


def _saved_task_data(tasks: dict[str, Any], task_id: str | None) -> dict[str, Any]:
    """A task's data from saved JSON, where each task keeps only its changes to its parent's data."""
    chain = []
    while task_id is not None and task_id in tasks:
        chain.append(tasks[task_id])
        task_id = tasks[task_id].get("parent")
    data: dict[str, Any] = {}
    for task in reversed(chain):
        delta = task.get("delta")
        if delta and task.get("parent") is not None:
            data = {**data, **delta.get("updates", {})}
            for key in delta.get("deletions", []):
                data.pop(key, None)
        else:
            data = dict(task.get("data") or {})
    return data


def _saved_from_load(state: str, definition: definitions.ParsedDefinition) -> _Saved:
    stored = persistence.load(state, definition)
    ready = {str(t.id): t.task_spec.bpmn_id for t in step.ready_user_tasks(stored)}
    last = stored.last_task
    return _Saved(ready, _plain(last.data) if last is not None else {}, _plain(stored.data))


@dataclass(frozen=True)
class _Saved:
    ready: dict[str, str]  # SpiffWorkflow task id -> element id
    data: dict[str, Any]  # the last task's
    variables: dict[str, Any]  # the workflow's own (SLA deadlines)


def _final_state(replay: _Replay, instance: _Instance, records: dict[int, tuple[str, str]],
                 state: str | None) -> Divergence | None:
    """After the last event: the re-executed workflow against the stored instance, records and workflow."""
    def divergence(expected: Any, found: Any, message: str) -> Divergence:
        return Divergence(instance.id, None, None, expected, found, "final", message)

    workflow = replay.workflow
    if workflow is None or replay.broken:
        return None
    replayed_status = "completed" if replay.ended else "running"
    if instance.status != replayed_status:
        return divergence({"status": replayed_status}, {"status": instance.status},
                          "the instance's status is not what its history leads to")
    replayed_open = {str(task_id): element_id for task_id, (_spiff_id, element_id) in sorted(replay.open.items())}
    stored_open = {str(task_id): element_id for task_id, (_spiff, element_id) in sorted(records.items())}
    if replayed_open != stored_open:
        return divergence({"open_tasks": replayed_open}, {"open_tasks": stored_open},
                          "the open task records are not the tasks the history leaves open")
    if not state:
        return divergence({"workflow_state": "saved"}, None, "the instance has no saved workflow")
    by_spiff_id = {spiff_id: element_id for spiff_id, element_id in records.values()}
    replayed_data, replayed_variables = replay.data(), replay.variables()
    saved = _saved_from_json(state, replay.definition)
    if saved is None or (saved.ready, saved.data, saved.variables) != (by_spiff_id, replayed_data, replayed_variables):
        saved = _saved_from_load(state, replay.definition)  # the final word, where the shortcut disagrees
    if saved.ready != by_spiff_id:
        return divergence({"ready_in_saved_workflow": by_spiff_id}, {"ready_in_saved_workflow": saved.ready},
                          "the saved workflow's ready tasks are not the open task records")
    for what, replayed, stored in (("data", replayed_data, saved.data),
                                   ("instance variables", replayed_variables, saved.variables)):
        if replayed != stored:
            keys = sorted(set(replayed) | set(stored))
            differing = [k for k in keys if replayed.get(k, _MISSING) != stored.get(k, _MISSING)]
            return divergence({k: replayed.get(k) for k in differing}, {k: stored.get(k) for k in differing},
                              f"the saved workflow's {what} differ from what the history's inputs produce")
    return None


_MISSING = object()


def _initial_definition(session: Session, instance: _Instance, events: list[_Event]) -> definitions.ParsedDefinition:
    """The version the instance started on: its current one, unless it was migrated since."""
    if events and any(e.kind == history.INSTANCE_MIGRATED for e in events):
        version = events[0].payload.get("version")
        return definitions.parsed(definitions.get_definition(session, instance.process_id, version))
    return definitions.parsed_by_id(session, instance.definition_id, instance.sha256)


def _definition_loader(session: Session) -> Callable[[int], definitions.ParsedDefinition]:
    def load(definition_id: int) -> definitions.ParsedDefinition:
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(f"definition {definition_id} does not exist")
        return definitions.parsed(row)
    return load


def _verify_one(session: Session, instance: _Instance, events: list[_Event], records: dict[int, tuple[str, str]],
                state: str | None, steps: list[dict[str, Any]] | None = None) -> Verdict:
    """Chain and re-execution verdict; with `steps`, also the state after every event (re-execution
    then goes on past a divergence, so a replay shows the whole history)."""
    divergences: list[Divergence] = []
    chain = _check_chain(instance, events)
    if chain is not None:
        divergences.append(chain)
    replayed: Divergence | None = None
    try:
        parsed = _initial_definition(session, instance, events)
    except OpsflowError as error:
        replayed = Divergence(instance.id, None, None, {"definition_id": instance.definition_id}, None, "replay",
                              f"the definition cannot be loaded: {error}")
    else:
        replay = _Replay(instance.id, parsed, _definition_loader(session))
        try:
            for event in events:
                found = replay.apply(event)
                if steps is not None:
                    steps.append({"seq": event.seq, "event": history_event_dict(event), **replay.snapshot(),
                                  "divergence": found.to_dict() if found else None})
                if found is not None and replayed is None:
                    replayed = found
                    if steps is None:
                        break
            if replayed is None:
                replayed = replay.finish() or _final_state(replay, instance, records, state)
        except Exception as exc:  # e.g. an unreadable saved workflow: a finding about this instance only
            replayed = Divergence(instance.id, None, None, None, {"error": f"{type(exc).__name__}: {exc}"},
                                  "final", "the instance cannot be checked")
    if replayed is not None:
        divergences.append(replayed)
    # The earliest event at fault comes first; at the same event the chain's finding is the plainer one.
    divergences.sort(key=lambda d: (d.seq if d.seq is not None else float("inf"), d.check != "chain"))
    return Verdict(instance.id, ok=not divergences, chain_ok=chain is None, replay_ok=replayed is None,
                   events_checked=len(events), first_divergence=divergences[0] if divergences else None,
                   divergences=tuple(divergences))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Re-execution makes thousands of short-lived task objects, all in reference cycles; the cyclic
    collector running every few hundred allocations cost ~15 % of a verification. Pausing it for a
    batch trades a few megabytes for that (process-wide, so only for as long as one batch takes)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _batches(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# ------------------------------------------------------------------------------------------- public API

def verify_instances(session: Session, instance_ids: Iterable[int], *, actor: str | None = None,
                     progress: Callable[[Verdict], None] | None = None, batch_size: int = BATCH_SIZE) -> list[Verdict]:
    """Verify the chain and re-execute each instance; with `actor`, log each as a 'verify' access."""
    ids = list(dict.fromkeys(instance_ids))
    verdicts: list[Verdict] = []
    for batch in _batches(ids, batch_size):
        done = _verify_batch(session, batch, progress=progress)
        if actor is not None:
            _log_many(session, [(actor, "verify", v.instance_id, _verify_detail(v)) for v in done])
        verdicts.extend(done)
    return verdicts


def _verify_batch(session: Session, batch: Sequence[int], *, progress: Callable[[Verdict], None] | None = None,
                  steps: dict[int, list[dict[str, Any]]] | None = None) -> list[Verdict]:
    """Load a batch's instances, events, open records and saved states at once and verify each;
    an instance with a list in `steps` also gets its state after every event appended there."""
    instances = _load_instances(session, batch)
    missing = [i for i in batch if i not in instances]
    if missing:
        raise NotFound(f"instance {missing[0]} does not exist")
    events = _load_events(session, batch)
    records = _load_open_records(session, batch)
    states = _load_states(session, batch)
    done = []
    with _gc_paused():
        for instance_id in batch:
            verdict = _verify_one(session, instances[instance_id], events[instance_id], records[instance_id],
                                  states.get(instance_id), (steps or {}).get(instance_id))
            done.append(verdict)
            if progress is not None:
                progress(verdict)
    return done


def verify_instance(session: Session, instance_id: int, *, actor: str | None = None) -> Verdict:
    """Verify one instance's chain and re-execute it (see `verify_instances`)."""
    return verify_instances(session, [instance_id], actor=actor)[0]


def count_instances(session: Session) -> int:
    """How many instances `verify_all` will verify (for a progress bar)."""
    return int(session.scalar(select(func.count()).select_from(_instances)) or 0)


def verify_all(session: Session, *, actor: str | None = None, progress: Callable[[Verdict], None] | None = None,
               batch_size: int = BATCH_SIZE) -> list[Verdict]:
    """Verify every instance, oldest first, loading events and state a batch of instances at a time."""
    ids = list(session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)))
    return verify_instances(session, ids, actor=actor, progress=progress, batch_size=batch_size)


def verify_with_steps(session: Session, instance_id: int) -> tuple[Verdict, list[dict[str, Any]]]:
    """One re-execution for both the verdict and the instance's state after each event (the history
    and replay pages); steps are empty when the definition cannot be loaded (the verdict says why).

    Each step: the event, status, ready user tasks, active and completed element ids, open task
    records, waiting timers, the data at that moment, and `divergence` where re-execution disagrees.
    """
    steps: list[dict[str, Any]] = []
    [verdict] = _verify_batch(session, [instance_id], steps={instance_id: steps})
    return verdict, steps


def replay_steps(session: Session, instance_id: int) -> list[dict[str, Any]]:
    """The instance's state after each event, re-executed from its inputs (see `verify_with_steps`);
    ProcessFailed when there is nothing to re-execute it on (its definition cannot be loaded)."""
    verdict, steps = verify_with_steps(session, instance_id)
    if not steps and verdict.events_checked and verdict.first_divergence is not None:
        raise ProcessFailed(verdict.first_divergence.message)
    return steps


def history_event_dict(event: _Event) -> dict[str, Any]:
    """An event as the CLI and the web show it (same keys as engine.process.history.event_to_dict)."""
    return {"seq": event.seq, "kind": event.kind, "at": event.at.isoformat(), "actor": event.actor,
            "element_id": event.element_id, "task_id": event.task_record_id, "payload": event.payload,
            "hash": event.hash}


# ------------------------------------------------------------------------------------------- access log, export

def log_access(session: Session, actor: str, action: str, instance_id: int | None,
               detail: dict[str, Any] | None = None) -> None:
    """Record that `actor` looked at (view, verify) or took out (export_json, export_csv) an instance."""
    _log_many(session, [(actor, action, instance_id, detail or {})])


def _log_many(session: Session, rows: Sequence[tuple[str, str, int | None, dict[str, Any]]]) -> None:
    if rows:
        now = clock.now()
        session.connection().execute(insert(_access), [
            {"actor": actor, "action": action, "instance_id": instance_id, "detail": _plain(detail), "at": now}
            for actor, action, instance_id, detail in rows])


def _verify_detail(verdict: Verdict) -> dict[str, Any]:
    first = verdict.first_divergence
    return {"ok": verdict.ok, "events": verdict.events_checked,
            "first_divergence": {"seq": first.seq, "kind": first.kind, "check": first.check} if first else None}


def history_export(session: Session, instance_id: int, *, fmt: str = "json", actor: str) -> str:
    """The instance's full history as JSON or CSV, with every hash, so anyone can re-check the chain; logged."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    instances = _load_instances(session, [instance_id])
    if instance_id not in instances:
        raise NotFound(f"instance {instance_id} does not exist")
    instance = instances[instance_id]
    events = _load_events(session, [instance_id])[instance_id]
    if fmt == "json":
        document = json.dumps({
            "instance": {"id": instance.id, "process_id": instance.process_id, "version": instance.version,
                         "definition_sha256": instance.sha256, "status": instance.status,
                         "started_by": instance.started_by, "started_at": instance.started_at.isoformat(),
                         "ended_at": instance.ended_at.isoformat() if instance.ended_at else None,
                         "last_event_seq": instance.last_event_seq, "last_event_hash": instance.last_event_hash},
            "hash_rule": HASH_RULE,
            "events": [e.to_dict() for e in events],
        }, ensure_ascii=False, indent=2, default=str)
    else:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["instance_id", "seq", "kind", "element_id", "task_record_id", "actor", "at", "payload",
                         "prev_hash", "hash"])
        for e in events:
            content = e.content()
            writer.writerow([e.instance_id, e.seq, e.kind, e.element_id or "",
                             "" if e.task_record_id is None else e.task_record_id, e.actor or "", content["at"],
                             json.dumps(e.payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                        default=str), e.prev_hash, e.hash])
        document = out.getvalue()
    log_access(session, actor, f"export_{fmt}", instance_id, {"events": len(events)})
    return document
