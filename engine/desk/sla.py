"""SLA policies and deadlines: fault levels become absolute due times in the instance data.

Diagrams read the deadlines by name in timer expressions (`sla_resolve_warn`, `sla_resolve_due`,
`sla_resolve_escalate_1` …): the policy lives in the database and a process owner can change it
without touching a diagram. Escalation goes up one level per step after the due time; the step
is the level's response time (the 30-minute promise), so each supervisor has that long to act.

The deadlines reach the workflow through the core's hooks (engine.process.hooks): receivers below
return them as engine data when an instance starts and when a step sets the level or resolves the
fault, and note them on the case record (engine.desk.case). Re-grading is `change_fault_level`.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, cast

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from engine import access, clock
from engine.desk import case
from engine.desk.levels import FaultLevel
from engine.errors import Conflict, InvalidInput, NotFound
from engine.process import history, hooks, runtime
from engine.process.definitions import ParsedDefinition
from engine.status import TaskState
from engine.store.models import SlaPolicy
from engine.users import Actor

TARGETS = ("respond", "plan", "resolve")
ESCALATION_STEPS = 3
DEFAULT_LEVEL = FaultLevel.IV  # until 事件分类 sets a level, the most lenient targets apply
NEVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
PREFIX = "sla_"
# Tasks that remind of a target or escalate it (raised by boundary timers): they carry the due time of
# the work item they chase, but are not work at risk themselves.
REMINDER_FORMS = frozenset({"sla_warning", "sla_escalation"})


@dataclass(frozen=True)
class Policy:
    level: str
    respond: dt.timedelta
    plan: dt.timedelta
    resolve: dt.timedelta
    warn_ratio: float
    emergency_plan_after: dt.timedelta | None
    emergency_plan_due: dt.timedelta | None
    fault_report: dt.timedelta

    @property
    def escalation_step(self) -> dt.timedelta:
        return self.respond


def _policy(row: Any) -> Policy:
    second = dt.timedelta(seconds=1)
    return Policy(row.fault_level, row.respond_seconds * second, row.plan_seconds * second,
                  row.resolve_seconds * second, row.warn_ratio,
                  row.emergency_plan_after_seconds * second if row.emergency_plan_after_seconds else None,
                  row.emergency_plan_due_seconds * second if row.emergency_plan_due_seconds else None,
                  row.fault_report_seconds * second)


# --- durations as people give them -----------------------------------------------------------------

# A target longer than a year is a typing mistake, not a promise.
MAX_SECONDS = 366 * 24 * 60 * 60
_DURATION = re.compile(r"(-?\d{1,9})\s*(s|m|min)?")


def duration_seconds(value: dt.timedelta | int | str) -> int:
    """An SLA duration as the policy form, `sla set` and `set_policy` take it: whole minutes (90, "90",
    "90m") or, for drills and tests, seconds ("90s"); a timedelta as it is. ValueError for anything else
    (the range is checked by the caller)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds())
    if isinstance(value, int):
        return value * 60
    if not isinstance(value, str):  # e.g. 1.5 or [1] from a JSON client
        raise ValueError(f"{value!r} is not a duration: give whole minutes (90) or seconds (90s)")
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise ValueError(f"{value!r} is not a duration: give whole minutes (90) or seconds (90s)")
    return int(match[1]) * (1 if match[2] == "s" else 60)


def duration_text(seconds: int) -> str:
    """A stored duration as `duration_seconds` reads it back: "90" (minutes), or "90s" below a whole minute."""
    return str(seconds // 60) if seconds % 60 == 0 else f"{seconds}s"


def minutes_of(seconds: int | None) -> int | float | None:
    """Seconds as the policy's *_minutes keys show them: whole minutes as int, fractions for drill values."""
    if seconds is None:
        return None
    return seconds // 60 if seconds % 60 == 0 else round(seconds / 60, 4)


# Prebuilt: read on every start and classification, where the ORM's identity map cost more than SQLite.
_SELECT_POLICY = select(cast(Table, SlaPolicy.__table__)).where(SlaPolicy.fault_level == bindparam("level"))


def get_policy(session: Session, level: str | None) -> Policy:
    row = session.connection().execute(_SELECT_POLICY, {"level": level or DEFAULT_LEVEL}).one_or_none()
    if row is None:
        raise NotFound(f"no SLA policy for fault level {level!r}", reason="sla_policy_missing",
                       params={"level": level})
    return _policy(row)


def list_policies(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(SlaPolicy).order_by(SlaPolicy.fault_level))
    return [{"fault_level": r.fault_level, "name_zh": r.name_zh, "name_en": r.name_en,
             **{f"{target}_minutes": minutes_of(getattr(r, f"{target}_seconds")) for target in _DURATIONS},
             **{f"{target}_seconds": getattr(r, f"{target}_seconds") for target in _DURATIONS},
             "warn_ratio": r.warn_ratio, "updated_by": r.updated_by,
             "updated_at": r.updated_at.isoformat() if r.updated_at else None} for r in rows]


# The policy's durations; set_policy takes each as `<name>_minutes` (see duration_seconds).
_DURATIONS = ("respond", "plan", "resolve", "emergency_plan_after", "emergency_plan_due", "fault_report")
_OPTIONAL = frozenset({"emergency_plan_after", "emergency_plan_due"})
_EDITABLE = {"warn_ratio", *(f"{target}_minutes" for target in _DURATIONS)}


def set_policy(session: Session, level: str, *, actor: Actor, **changes: Any) -> None:
    """Change a level's targets (process owners). Running instances keep the deadlines they have.

    Durations are `<target>_minutes`: minutes, or seconds as "90s" (duration_seconds); None clears an
    emergency-plan time, and the emergency plan needs both its times, the due one after the other.
    """
    access.require_edit_sla_policy(actor)
    row = session.get(SlaPolicy, level)
    if row is None:
        raise NotFound(f"no SLA policy for fault level {level!r}", reason="sla_policy_missing",
                       params={"level": level})
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise InvalidInput(f"unknown SLA settings: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        if name == "warn_ratio":
            if not 0 < float(value) < 1:
                raise InvalidInput("warn_ratio must be between 0 and 1", field_errors={name: ["between 0 and 1"]})
            row.warn_ratio = float(value)
            continue
        target = name.removesuffix("_minutes")
        if value is None and target in _OPTIONAL:
            setattr(row, f"{target}_seconds", None)
            continue
        try:
            seconds = duration_seconds(value)
        except (TypeError, ValueError) as error:
            raise InvalidInput(f"{name}: {error}", field_errors={name: ["whole minutes (90) or seconds (90s)"]}) \
                from None
        if not 0 < seconds <= MAX_SECONDS:
            raise InvalidInput(f"{name} must be more than 0 and at most {MAX_SECONDS // 60} minutes",
                               field_errors={name: [f"> 0 and ≤ {MAX_SECONDS // 60} minutes"]})
        setattr(row, f"{target}_seconds", seconds)
    after, due = row.emergency_plan_after_seconds, row.emergency_plan_due_seconds
    if (after is None) != (due is None):
        missing = "emergency_plan_after_minutes" if after is None else "emergency_plan_due_minutes"
        raise InvalidInput("the emergency plan needs both its times, or neither", field_errors={missing: ["required"]})
    if after is not None and due is not None and due <= after:
        raise InvalidInput("the emergency plan must be due after it starts",
                           field_errors={"emergency_plan_due_minutes": ["after emergency_plan_after_minutes"]})
    row.updated_by = actor.username
    row.updated_at = clock.now()
    session.flush()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def deadline_variables(policy: Policy, raised_at: dt.datetime) -> dict[str, Any]:
    """The deadlines of a request raised at `raised_at`, as workflow data (ISO 8601 UTC strings)."""
    variables: dict[str, Any] = {f"{PREFIX}level": policy.level}
    for target in TARGETS:
        window: dt.timedelta = getattr(policy, target)
        due = raised_at + window
        variables[f"{PREFIX}{target}_due"] = _iso(due)
        variables[f"{PREFIX}{target}_warn"] = _iso(raised_at + window * policy.warn_ratio)
        for step in range(1, ESCALATION_STEPS + 1):
            variables[f"{PREFIX}{target}_escalate_{step}"] = _iso(due + (step - 1) * policy.escalation_step)
    if policy.emergency_plan_after and policy.emergency_plan_due:
        variables[f"{PREFIX}emergency_plan_at"] = _iso(raised_at + policy.emergency_plan_after)
        variables[f"{PREFIX}emergency_plan_due"] = _iso(raised_at + policy.emergency_plan_due)
    else:
        variables[f"{PREFIX}emergency_plan_at"] = variables[f"{PREFIX}emergency_plan_due"] = _iso(NEVER)
    variables.update(fault_report_variables(policy, None))
    return variables


def fault_report_variables(policy: Policy, resolved_at: dt.datetime | None) -> dict[str, Any]:
    """The fault report is due a fixed time after resolution (seed 001 §4.1: 24 h)."""
    if resolved_at is None:
        never = _iso(NEVER)
        return {f"{PREFIX}fault_report_due": never, f"{PREFIX}fault_report_warn": never,
                **{f"{PREFIX}fault_report_escalate_{s}": never for s in range(1, ESCALATION_STEPS + 1)}}
    due = resolved_at + policy.fault_report
    return {f"{PREFIX}fault_report_due": _iso(due),
            f"{PREFIX}fault_report_warn": _iso(resolved_at + policy.fault_report * policy.warn_ratio),
            **{f"{PREFIX}fault_report_escalate_{s}": _iso(due + (s - 1) * policy.escalation_step)
               for s in range(1, ESCALATION_STEPS + 1)}}


# The case record's deadline columns (engine.desk.case), one per target.
DEADLINE_TARGETS = (*TARGETS, "emergency_plan", "fault_report")


def _moment(value: str) -> dt.datetime | None:
    """A deadline variable as a time; NEVER becomes None (no such deadline)."""
    parsed = dt.datetime.fromisoformat(value)
    return None if parsed >= NEVER else parsed


def deadline_columns(variables: dict[str, Any]) -> dict[str, dt.datetime | None]:
    """The case's deadline columns that `variables` set (possibly to None: a level without that rule)."""
    return {f"{target}_due_at": _moment(variables[f"{PREFIX}{target}_due"])
            for target in DEADLINE_TARGETS if f"{PREFIX}{target}_due" in variables}


def uses_sla(definition: ParsedDefinition) -> bool:
    """Whether a diagram reads SLA variables (a timer expression or an sla_target property)."""
    # Remembered on the parsed definition itself, which is cached per (definition id, content hash).
    cached: bool | None = definition.__dict__.get("_uses_sla")
    if cached is None:
        specs = [definition.spec, *definition.subprocess_specs.values()]
        cached = any(
            (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get("sla_target")
            or (getattr(task_spec, "extensions", None) or {}).get("sla_target")
            or (isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)
                and PREFIX in (task_spec.event_definition.expression or ""))
            for spec in specs for task_spec in spec.task_specs.values())
        definition.__dict__["_uses_sla"] = cached
    return cached


def task_target(task_spec: Any) -> str | None:
    """The SLA target ('respond', 'resolve' …) a user task carries, from its camunda:property."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return extensions.get("sla_target") or (extensions.get("properties") or {}).get("sla_target")


def at_risk(session: Session, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Open tasks whose SLA target is about to be missed (past the warning point) or already missed.

    The proactive report of seed 002: what will breach before it breaches, most urgent first. Each
    case's own work item counts once; the escalations chasing it are listed with it, not beside it.
    """
    from engine.store.models import ProcessInstance, TaskRecord

    now = now or clock.now()
    ratios = {p.fault_level: p.warn_ratio for p in session.scalars(select(SlaPolicy))}
    rows = session.execute(
        select(TaskRecord, ProcessInstance.started_at, ProcessInstance.fault_level, ProcessInstance.process_id,
               ProcessInstance.title)
        .join(ProcessInstance, ProcessInstance.id == TaskRecord.instance_id)
        .where(TaskRecord.state == TaskState.READY, TaskRecord.due_at.is_not(None))
        .order_by(TaskRecord.due_at))
    result = []
    escalations: dict[tuple[int, dt.datetime], list[dict[str, Any]]] = {}
    for task, started_at, level, process_id, title in rows:
        due = cast(dt.datetime, task.due_at)  # the query keeps only rows with a due time
        if task.form_key in REMINDER_FORMS:
            if task.form_key == "sla_escalation":
                escalations.setdefault((task.instance_id, due), []).append(
                    {"task_id": task.id, "group": task.candidate_group, "assignee": task.assignee})
            continue
        ratio = ratios.get(level or DEFAULT_LEVEL, 0.8)
        warn_at = started_at + (due - started_at) * ratio
        if now < warn_at:
            continue
        late = now >= due
        result.append({
            "task_id": task.id, "instance_id": task.instance_id, "process_id": process_id, "title": title,
            "fault_level": level, "element_id": task.element_id, "name": task.name, "group": task.candidate_group,
            "assignee": task.assignee, "due_at": due.isoformat(), "state": "missed" if late else "at_risk",
            "late_minutes": int((now - due).total_seconds() // 60) if late else 0,
            "minutes_left": 0 if late else int((due - now).total_seconds() // 60),
            # Filled in as the escalations come, before or after their work item (same case, same due time).
            "escalations": escalations.setdefault((task.instance_id, due), []),
        })
    return result


# --- hook receivers (connected by engine.desk.install) ---------------------------------------------

def deadlines_at_start(start: hooks.Start) -> dict[str, Any]:
    """instance_starting: a diagram that reads SLA variables starts with the deadlines of the level the
    request gives (the most lenient until 事件分类 sets one)."""
    if not uses_sla(start.definition):
        return {}
    return deadline_variables(get_policy(start.session, start.data.get("fault_level")), start.instance.started_at)


def deadlines_on_completion(completion: hooks.Completion) -> dict[str, Any]:
    """task_completing: new deadlines when the step sets or changes the fault level, and the fault
    report's deadline when it resolves the fault for the first time."""
    if not uses_sla(completion.definition):
        return {}
    session, instance, data = completion.session, completion.instance, completion.data
    variables: dict[str, Any] = {}
    level = data.get("fault_level")
    if level and level != instance.fault_level:
        variables.update(deadline_variables(get_policy(session, level), instance.started_at))
    if data.get("resolved") is True and case.resolved_at(session, instance.id) is None:
        variables.update(fault_report_variables(get_policy(session, level or instance.fault_level), clock.now()))
    return variables


def record_deadlines(event: hooks.Start | hooks.Completion) -> None:
    """instance_started, task_completed: the case shows the deadlines the engine data set, and when
    the first step carrying the response target was done."""
    if event.engine_data:
        case.stage(event.instance, **deadline_columns(event.engine_data))
    if isinstance(event, hooks.Completion) and task_target(event.task.task_spec) == "respond":
        case.stage_first(event.instance, responded_at=clock.now())


def task_due(due: hooks.Due) -> dt.datetime | None:
    """task_due: the SLA due time an inbox shows for a task: its own target, or for a warning/escalation
    task the target of the task its boundary timer is attached to."""
    task, form_key = due.task, due.form_key
    target = task_target(task.task_spec)
    if target is None and form_key in ("sla_warning", "sla_escalation"):
        split = task.parent.parent if task.parent is not None else None
        siblings = split.children if split is not None else []
        target = next((t for t in (task_target(s.task_spec) for s in siblings) if t), None)
    elif form_key == "emergency_plan":
        target = "emergency_plan"
    value = task.workflow.top_workflow.data.get(f"{PREFIX}{target}_due") if target else None
    return _moment(value) if value else None


# --- re-grading -----------------------------------------------------------------------------------

@clock.one_instant
def change_fault_level(session: Session, *, instance_id: int, level: str, actor: Actor,
                       reason: str | None = None) -> runtime.InstanceRef:
    """Re-grade a running request: new deadlines from the level's policy, every waiting timer re-armed."""
    access.require_change_fault_level(actor)
    instance = runtime.load_instance(session, instance_id)
    if instance.status != "running":
        raise Conflict(f"instance {instance_id} is already {instance.status}")
    policy = get_policy(session, level)  # NotFound for an unknown level
    if level == instance.fault_level:
        raise InvalidInput(f"instance {instance_id} is already level {level}")
    engine_data = deadline_variables(policy, instance.started_at)
    resolved_at = case.resolved_at(session, instance_id)
    if resolved_at is not None:
        engine_data.update(fault_report_variables(policy, resolved_at))
    case.stage(instance, fault_level=level, **deadline_columns(engine_data))
    # The audit's replay sets engine_data and fault_level = "to" again (engine.audit.verification).
    return runtime.change_variables(
        session, instance=instance, variables={**engine_data, "fault_level": level}, actor=actor.username,
        kind=history.FAULT_LEVEL_CHANGED,
        payload={"from": instance.fault_level, "to": level, "reason": reason, "engine_data": engine_data})
