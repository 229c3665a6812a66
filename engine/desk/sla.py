"""SLA policies and deadlines: fault levels become absolute due times in the instance data.

Diagrams read the deadlines by name in timer expressions (`sla_resolve_warn`, `sla_resolve_due`,
`sla_resolve_escalate_1` …): the policy lives in the database and a process owner can change it
without touching a diagram. Escalation goes up one level per step after the due time; the step
is the level's response time (the 30-minute promise), so each supervisor has that long to act.

The deadlines reach the workflow through the core's hooks (engine.process.hooks): receivers below
return them as engine data when an instance starts and when a step sets the level or resolves the
fault, and note them on the case record (engine.desk.case). Re-grading is `change_fault_level`.

Policies are per process (the service_desk rows are the defaults of a process without its own) and
run on a calendar, 7×24 or Chinese working days (engine.sla_clock). Every human step shows the due
time of one target (`task_target`: its own sla_target property, else `TASK_TARGETS`, else by its
form, else resolve). Steps that wait on the customer (`waits_on_customer`) stop the clock: when such
a step is done, every deadline still ahead moves by the time it waited (engine.sla_clock.after_pause),
recorded with the completion and re-derived by the audit.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, cast

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from engine import access, clock, sla_clock
from engine.desk import case
from engine.desk.levels import FaultLevel
from engine.errors import Conflict, InvalidInput, NotFound
from engine.process import history, hooks, runtime, step
from engine.process.definitions import ParsedDefinition
from engine.sla_clock import Calendar
from engine.status import TaskState
from engine.store.models import SlaPolicy, TaskRecord
from engine.users import Actor

TARGETS = ("respond", "plan", "resolve")
ESCALATION_STEPS = 3
DEFAULT_LEVEL = FaultLevel.IV  # until 事件分类 sets a level, the most lenient targets apply
DEFAULT_PROCESS = "service_desk"  # its policy rows serve a process that has none of its own
NEVER = sla_clock.NEVER
PREFIX = sla_clock.PREFIX
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
    calendar: Calendar = field(default_factory=Calendar)

    @property
    def escalation_step(self) -> dt.timedelta:
        return self.respond


def _policy(row: Any) -> Policy:
    second = dt.timedelta(seconds=1)
    return Policy(row.fault_level, row.respond_seconds * second, row.plan_seconds * second,
                  row.resolve_seconds * second, row.warn_ratio,
                  row.emergency_plan_after_seconds * second if row.emergency_plan_after_seconds else None,
                  row.emergency_plan_due_seconds * second if row.emergency_plan_due_seconds else None,
                  row.fault_report_seconds * second, Calendar(row.calendar, row.work_start, row.work_end))


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
_SELECT_POLICY = select(cast(Table, SlaPolicy.__table__)).where(SlaPolicy.process_id == bindparam("process_id"),
                                                               SlaPolicy.fault_level == bindparam("level"))


def get_policy(session: Session, level: str | None, process_id: str = DEFAULT_PROCESS) -> Policy:
    """The targets of `level` in `process_id`'s policy, or in the service desk's if it has no row of its own."""
    for process in dict.fromkeys((process_id, DEFAULT_PROCESS)):
        row = session.connection().execute(_SELECT_POLICY, {"process_id": process,
                                                            "level": level or DEFAULT_LEVEL}).one_or_none()
        if row is not None:
            return _policy(row)
    raise NotFound(f"no SLA policy for fault level {level!r}", reason="sla_policy_missing", params={"level": level})


def policy_processes(session: Session) -> list[str]:
    """The processes that have policy rows, the service desk's (the defaults) first."""
    found = set(session.scalars(select(SlaPolicy.process_id).distinct()))
    return sorted(found, key=lambda p: (p != DEFAULT_PROCESS, p))


def list_policies(session: Session, process_id: str = DEFAULT_PROCESS) -> list[dict[str, Any]]:
    rows = session.scalars(select(SlaPolicy).where(SlaPolicy.process_id == process_id)
                           .order_by(SlaPolicy.fault_level))
    return [{"process_id": r.process_id, "fault_level": r.fault_level, "name_zh": r.name_zh, "name_en": r.name_en,
             **{f"{target}_minutes": minutes_of(getattr(r, f"{target}_seconds")) for target in _DURATIONS},
             **{f"{target}_seconds": getattr(r, f"{target}_seconds") for target in _DURATIONS},
             "warn_ratio": r.warn_ratio, "calendar": r.calendar, "work_start": r.work_start, "work_end": r.work_end,
             "updated_by": r.updated_by,
             "updated_at": r.updated_at.isoformat() if r.updated_at else None} for r in rows]


# The policy's durations; set_policy takes each as `<name>_minutes` (see duration_seconds).
_DURATIONS = ("respond", "plan", "resolve", "emergency_plan_after", "emergency_plan_due", "fault_report")
_OPTIONAL = frozenset({"emergency_plan_after", "emergency_plan_due"})
_CALENDAR_FIELDS = ("calendar", "work_start", "work_end")
_EDITABLE = {"warn_ratio", *_CALENDAR_FIELDS, *(f"{target}_minutes" for target in _DURATIONS)}
_CLOCK_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def set_policy(session: Session, level: str, *, actor: Actor, process_id: str = DEFAULT_PROCESS,
               **changes: Any) -> None:
    """Change a level's targets in a process's policy (process owners). Running instances keep the
    deadlines they have.

    Durations are `<target>_minutes`: minutes, or seconds as "90s" (duration_seconds); None clears an
    emergency-plan time, and the emergency plan needs both its times, the due one after the other.
    `calendar` is "7x24" or "workdays", with working hours `work_start` and `work_end` ("09:00").
    """
    access.require_edit_sla_policy(actor)
    row = session.get(SlaPolicy, (process_id, level))
    if row is None:
        raise NotFound(f"no SLA policy for fault level {level!r} of process {process_id!r}",
                       reason="sla_policy_missing", params={"level": level})
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise InvalidInput(f"unknown SLA settings: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        if name in _CALENDAR_FIELDS:
            _set_calendar_field(row, name, value)
            continue
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
    try:
        Calendar(row.calendar, row.work_start, row.work_end)
    except ValueError as error:
        raise InvalidInput(str(error), field_errors={"work_end": ["after the start"]}) from None
    row.updated_by = actor.username
    row.updated_at = clock.now()
    session.flush()


def _set_calendar_field(row: SlaPolicy, name: str, value: Any) -> None:
    text = str(value or "").strip()
    if name == "calendar" and text not in sla_clock.KINDS:
        raise InvalidInput(f"calendar must be {' or '.join(sla_clock.KINDS)}",
                           field_errors={name: [" or ".join(sla_clock.KINDS)]})
    if name != "calendar" and not _CLOCK_TIME.fullmatch(text):
        raise InvalidInput(f"{name} must be a time of day such as 09:00", field_errors={name: ["HH:MM"]})
    setattr(row, name, text)


_iso = sla_clock.iso


def deadline_variables(policy: Policy, raised_at: dt.datetime, pauses: list[list[str]] | None = None) -> dict[str, Any]:
    """The deadlines of a request raised at `raised_at`, as workflow data (ISO 8601 UTC strings), counted
    on the policy's calendar, with the instance's earlier pauses applied (a re-grade after a pause)."""
    calendar, pauses = policy.calendar, pauses or []

    def at(moment: dt.datetime, window: dt.timedelta) -> str:
        return _iso(sla_clock.apply_pauses(calendar.add(moment, window), pauses, calendar))

    variables: dict[str, Any] = {f"{PREFIX}level": policy.level, sla_clock.CALENDAR: calendar.to_dict()}
    for target in TARGETS:
        window: dt.timedelta = getattr(policy, target)
        due = calendar.add(raised_at, window)
        variables[f"{PREFIX}{target}_due"] = at(raised_at, window)
        variables[f"{PREFIX}{target}_warn"] = at(raised_at, window * policy.warn_ratio)
        for rung in range(1, ESCALATION_STEPS + 1):
            variables[f"{PREFIX}{target}_escalate_{rung}"] = at(due, (rung - 1) * policy.escalation_step)
    if policy.emergency_plan_after and policy.emergency_plan_due:
        variables[f"{PREFIX}emergency_plan_at"] = at(raised_at, policy.emergency_plan_after)
        variables[f"{PREFIX}emergency_plan_due"] = at(raised_at, policy.emergency_plan_due)
    else:
        variables[f"{PREFIX}emergency_plan_at"] = variables[f"{PREFIX}emergency_plan_due"] = _iso(NEVER)
    variables.update(fault_report_variables(policy, None))
    return variables


def fault_report_variables(policy: Policy, resolved_at: dt.datetime | None) -> dict[str, Any]:
    """The fault report is due a fixed time after resolution (seed 001 §4.1: 24 h), then escalates."""
    if resolved_at is None:
        never = _iso(NEVER)
        return {f"{PREFIX}fault_report_due": never, f"{PREFIX}fault_report_warn": never,
                **{f"{PREFIX}fault_report_escalate_{s}": never for s in range(1, ESCALATION_STEPS + 1)}}
    calendar = policy.calendar
    due = calendar.add(resolved_at, policy.fault_report)
    return {sla_clock.RESOLVED: _iso(resolved_at), f"{PREFIX}fault_report_due": _iso(due),
            f"{PREFIX}fault_report_warn": _iso(calendar.add(resolved_at, policy.fault_report * policy.warn_ratio)),
            **{f"{PREFIX}fault_report_escalate_{s}": _iso(calendar.add(due, (s - 1) * policy.escalation_step))
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


# --- which target each human step works to ----------------------------------------------------------
#
# respond: taking the request in (30 min); plan: deciding how it is handled, the 处理方案 of seed 001 §4.1
# (2 h / 24 h / 48 h / 5 d); resolve: the fix itself; fault_report: what follows the fix (record, report).
# A step's own camunda:property sla_target wins over this table; a step not named here (a new task of a
# diagram) works to `FORM_TARGETS` of its form, else to resolve, the case's overall promise. A process
# without an entry here gets no deadlines unless its diagram names SLA variables (a test's own diagrams):
# 健康检查 (planned work on the contract's own cycle, not a request) and the knowledge-base review.
TASK_TARGETS: dict[str, dict[str, str]] = {
    "service_desk": {"accept": "respond", "classify": "respond", "remote_fix": "resolve",
                     "dispatch_onsite": "plan", "onsite_fix": "resolve", "escalate": "plan",
                     "expert_support": "resolve", "satisfaction": "resolve", "root_cause": "plan",
                     "expert_support_followup": "resolve"},
    "emergency": {"accept": "respond", "analyse_fault": "plan", "remote_handle": "resolve",
                  "onsite_with_parts": "resolve", "resident_manager_report": "resolve",
                  "project_manager_handle": "resolve", "general_manager_report": "resolve",
                  "resolve_as_directed": "resolve", "record_in_backoffice": "fault_report",
                  "fault_report": "fault_report"},
    "third_party": {"accept": "respond", "classify": "respond", "contact_vendor": "plan", "vendor_onsite": "resolve",
                    "vendor_support": "plan", "verify_vendor_solution": "resolve", "engineer_onsite": "resolve",
                    "satisfaction": "resolve"},
    "other_service": {"record_analyse": "respond", "onsite_check": "plan", "feasible_plan": "plan",
                      "ask_permission": "plan", "customer_permission": "plan", "execute_plan": "resolve",
                      "record_in_backoffice": "resolve"},
    "problem_management": {"consultation_record": "respond", "problem_analyse": "plan",
                           "explain_and_convert": "resolve", "problem_confirm": "plan", "implement": "resolve",
                           "verify": "resolve", "problem_report": "resolve", "problem_reply": "resolve"},
    "software_adjustment": {"dept_lead_approval": "plan", "company_lead_approval": "plan", "implement": "resolve",
                            "verify": "resolve"},
    "fault_report": {"write_report": "fault_report"},
}
FORM_TARGETS = {"accept": "respond", "classify": "respond", "record_analyse": "respond", "fault_report": "fault_report",
                "emergency_plan": "emergency_plan"}
# Steps that wait on the customer stop the clock while they are open (besides every step of the requester
# group and any step whose camunda:property sla_pause is "true"): 征求用户允许's answer and the callback.
WAITING_ON_CUSTOMER = frozenset({"customer_permission", "satisfaction"})
CUSTOMER_GROUP = "requester"
# Seed 001 §4.1: every level I/II fault gets a fault report within 24 h of its resolution. A flow without a
# step of that form (all but 应急) starts this process for it when the fault is first resolved.
FAULT_REPORT_PROCESS = "fault_report"
FAULT_REPORT_FORM = "fault_report"
FAULT_REPORT_LEVELS = frozenset({FaultLevel.I, FaultLevel.II})


def _extensions(task_spec: Any) -> dict[str, Any]:
    return getattr(task_spec, "extensions", None) or {}


def _property(task_spec: Any, name: str) -> str | None:
    extensions = _extensions(task_spec)
    value = extensions.get(name) or (extensions.get("properties") or {}).get(name)
    return str(value) if value else None


def uses_sla(definition: ParsedDefinition) -> bool:
    """Whether an instance of the diagram gets deadlines: its process is in TASK_TARGETS, or the diagram
    reads SLA variables (a timer expression or an sla_target property)."""
    # Remembered on the parsed definition itself, which is cached per (definition id, content hash).
    cached: bool | None = definition.__dict__.get("_uses_sla")
    if cached is None:
        specs = [definition.spec, *definition.subprocess_specs.values()]
        cached = definition.process_id in TASK_TARGETS or any(
            _property(task_spec, "sla_target")
            or (isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition)
                and PREFIX in (task_spec.event_definition.expression or ""))
            for spec in specs for task_spec in spec.task_specs.values())
        definition.__dict__["_uses_sla"] = cached
    return cached


def task_target(task_spec: Any, process_id: str | None = None) -> str | None:
    """The SLA target ('respond', 'plan', 'resolve' …) a user task works to: its camunda:property
    sla_target, else (for a process in TASK_TARGETS) the table's entry, its form's, or resolve."""
    own = _property(task_spec, "sla_target")
    if own or process_id not in TASK_TARGETS:
        return own
    form = _extensions(task_spec).get("formKey") or getattr(getattr(task_spec, "form", None), "key", None)
    if form in REMINDER_FORMS:
        return None
    return (TASK_TARGETS[cast(str, process_id)].get(getattr(task_spec, "bpmn_id", None) or "")
            or FORM_TARGETS.get(form or "") or "resolve")


def waits_on_customer(task_spec: Any) -> bool:
    """Whether the clock stands still while this step is open (see WAITING_ON_CUSTOMER)."""
    group = (_extensions(task_spec).get("candidateGroups") or "").split(",")[0].strip()
    return (getattr(task_spec, "bpmn_id", None) in WAITING_ON_CUSTOMER or group == CUSTOMER_GROUP
            or (_property(task_spec, "sla_pause") or "").lower() == "true")


def _process_of(task: Any) -> str:
    return str(task.workflow.top_workflow.spec.name)


def at_risk(session: Session, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Open tasks whose SLA target is about to be missed (past the warning point) or already missed.

    The proactive report of seed 002: what will breach before it breaches, most urgent first. Each
    case's own work item counts once; the escalations chasing it are listed with it, not beside it.
    """
    from engine.store.models import ProcessInstance

    now = now or clock.now()
    ratios = {(p.process_id, p.fault_level): p.warn_ratio for p in session.scalars(select(SlaPolicy))}
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
        ratio = ratios.get((process_id, level or DEFAULT_LEVEL),
                           ratios.get((DEFAULT_PROCESS, level or DEFAULT_LEVEL), 0.8))
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
    instance = start.instance
    if instance.process_id == FAULT_REPORT_PROCESS:  # the source's policy; the fault was resolved just now
        source = _process_of_instance(start.session, start.data.get("source_instance"))
        policy = get_policy(start.session, start.data.get("fault_level"), source)
        return {**deadline_variables(policy, instance.started_at),
                **fault_report_variables(policy, instance.started_at)}
    return deadline_variables(get_policy(start.session, start.data.get("fault_level"), instance.process_id),
                              instance.started_at)


def _process_of_instance(session: Session, instance_id: Any) -> str:
    from engine.store.models import ProcessInstance

    found = session.scalar(select(ProcessInstance.process_id).where(ProcessInstance.id == instance_id)) \
        if isinstance(instance_id, int) else None
    return found or DEFAULT_PROCESS


def _has_fault_report_step(definition: ParsedDefinition) -> bool:
    cached: bool | None = definition.__dict__.get("_has_fault_report_step")
    if cached is None:
        cached = any(_extensions(task_spec).get("formKey") == FAULT_REPORT_FORM
                     for task_spec in definition.spec.task_specs.values())
        definition.__dict__["_has_fault_report_step"] = cached
    return cached


def start_fault_report(completion: hooks.Completion) -> None:
    """task_completed: a level I/II fault resolved for the first time in a flow without a fault-report step
    gets its report: a 故障技术报告 instance for 技术支持, due 24 h after now, in the same transaction."""
    data, instance = completion.data, completion.instance
    if data.get("resolved") is not True or instance.process_id not in TASK_TARGETS \
            or instance.process_id == FAULT_REPORT_PROCESS or _has_fault_report_step(completion.definition):
        return
    level = data.get("fault_level") or instance.fault_level
    if level not in FAULT_REPORT_LEVELS or case.resolved_at(completion.session, instance.id) is not None:
        return
    runtime.start_instance(completion.session, process_id=FAULT_REPORT_PROCESS, actor=completion.actor,
                           data={"source_instance": instance.id, "title": (instance.title or "")[:200],
                                 "fault_level": level})


def deadlines_on_completion(completion: hooks.Completion) -> dict[str, Any]:
    """task_completing: the deadlines moved by the time a step that waits on the customer was open; new
    deadlines when the step sets or changes the fault level (earlier pauses applied); the fault report's
    deadline when it resolves the fault for the first time; no more emergency plan once one is made."""
    if not uses_sla(completion.definition):
        return {}
    session, instance, data = completion.session, completion.instance, completion.data
    variables: dict[str, Any] = {}
    # Once resolved, the targets are measured: a later wait (the callback) has no clock left to stop.
    if waits_on_customer(completion.task.task_spec) and not completion.workflow.data.get(sla_clock.RESOLVED):
        variables.update(sla_clock.after_pause(completion.workflow.data, _ready_at(completion), clock.now()))
    level = data.get("fault_level")
    if level and level != instance.fault_level:
        pauses = variables.get(sla_clock.PAUSES, completion.workflow.data.get(sla_clock.PAUSES))
        variables.update(deadline_variables(get_policy(session, level, instance.process_id), instance.started_at,
                                            pauses))
    if data.get("resolved") is True and case.resolved_at(session, instance.id) is None:
        policy = get_policy(session, level or instance.fault_level, instance.process_id)
        variables.update(fault_report_variables(policy, clock.now()))
    if completion.form_key == "emergency_plan" or _emergency_plan_under_way(completion):
        # One plan per case: the timers of the steps the case moves on to stand down.
        variables[f"{PREFIX}emergency_plan_at"] = _iso(NEVER)
    return variables


def _emergency_plan_under_way(completion: hooks.Completion) -> bool:
    """The 12 h rule came due and its plan task is open (the case moves on while it is being made)."""
    plan_at = completion.workflow.data.get(f"{PREFIX}emergency_plan_at")
    if not plan_at or dt.datetime.fromisoformat(plan_at) > clock.now():
        return False
    return any(_extensions(task.task_spec).get("formKey") == "emergency_plan"
               for task in step.ready_user_tasks(completion.workflow))


_SELECT_READY_AT = (select(cast(Table, TaskRecord.__table__).c.created_at)
                    .where(TaskRecord.instance_id == bindparam("instance_id"),
                           TaskRecord.spiff_task_id == bindparam("spiff_task_id")))


def _ready_at(completion: hooks.Completion) -> dt.datetime:
    """When the step being completed was offered (its task record's creation, the time of its task_ready)."""
    created = completion.session.connection().scalar(
        _SELECT_READY_AT, {"instance_id": completion.instance.id, "spiff_task_id": str(completion.task.id)})
    return cast(dt.datetime, created) if created is not None else clock.now()


def record_deadlines(event: hooks.Start | hooks.Completion) -> None:
    """instance_started, task_completed: the case shows the deadlines the engine data set, and when
    the first step carrying the response target was done."""
    if event.engine_data:
        case.stage(event.instance, **deadline_columns(event.engine_data))
    if isinstance(event, hooks.Completion) and task_target(event.task.task_spec,
                                                           event.instance.process_id) == "respond":
        case.stage_first(event.instance, responded_at=clock.now())


def task_due(due: hooks.Due) -> dt.datetime | None:
    """task_due: the SLA due time an inbox shows for a task: its own target, or for a warning/escalation
    task the target of the task its boundary timer is attached to."""
    task, form_key = due.task, due.form_key
    process_id = _process_of(task)
    target = task_target(task.task_spec, process_id)
    if target is None and form_key in REMINDER_FORMS:
        split = task.parent.parent if task.parent is not None else None
        siblings = split.children if split is not None else []
        target = next((t for t in (task_target(s.task_spec, process_id) for s in siblings
                                   if getattr(s.task_spec, "manual", False)) if t), None)
    elif form_key == "emergency_plan":
        target = "emergency_plan"
    value = task.workflow.top_workflow.data.get(f"{PREFIX}{target}_due") if target else None
    return _moment(value) if value else None


# --- re-grading -----------------------------------------------------------------------------------

def _pauses(session: Session, instance_id: int) -> list[list[str]]:
    """The pauses an instance's clock had so far (from its saved workflow's variables)."""
    from engine.store.models import ProcessInstance

    state = session.scalar(select(ProcessInstance.workflow_state).where(ProcessInstance.id == instance_id))
    return list((json.loads(state or "{}").get("data") or {}).get(sla_clock.PAUSES) or [])


@clock.one_instant
def change_fault_level(session: Session, *, instance_id: int, level: str, actor: Actor,
                       reason: str | None = None) -> runtime.InstanceRef:
    """Re-grade a running request: new deadlines from the level's policy, every waiting timer re-armed."""
    access.require_change_fault_level(actor)
    instance = runtime.load_instance(session, instance_id)
    if instance.status != "running":
        raise Conflict(f"instance {instance_id} is already {instance.status}")
    policy = get_policy(session, level, instance.process_id)  # NotFound for an unknown level
    if level == instance.fault_level:
        raise InvalidInput(f"instance {instance_id} is already level {level}")
    engine_data = deadline_variables(policy, instance.started_at, _pauses(session, instance_id))
    resolved_at = case.resolved_at(session, instance_id)
    if resolved_at is not None:
        engine_data.update(fault_report_variables(policy, resolved_at))
    case.stage(instance, fault_level=level, **deadline_columns(engine_data))
    # The audit's replay sets engine_data and fault_level = "to" again (engine.audit.verification).
    return runtime.change_variables(
        session, instance=instance, variables={**engine_data, "fault_level": level}, actor=actor.username,
        kind=history.FAULT_LEVEL_CHANGED,
        payload={"from": instance.fault_level, "to": level, "reason": reason, "engine_data": engine_data})
