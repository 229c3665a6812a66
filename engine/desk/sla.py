"""SLA policies and deadlines: fault levels become absolute due times in the instance data.

Diagrams read the deadlines by name in timer expressions (`sla_resolve_warn`, `sla_resolve_due`,
`sla_resolve_escalate_1` …): the policy lives in the database and a process owner can change it
without touching a diagram. Escalation goes up one level per step after the due time; the step
is the level's response time (the 30-minute promise), so each supervisor has that long to act.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import InvalidInput, NotFound
from engine.process.definitions import ParsedDefinition
from engine.store.models import SlaPolicy

TARGETS = ("respond", "plan", "resolve")
ESCALATION_STEPS = 3
DEFAULT_LEVEL = "IV"  # until 事件分类 sets a level, the most lenient targets apply
NEVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
PREFIX = "sla_"


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
    minutes = dt.timedelta(minutes=1)
    return Policy(row.fault_level, row.respond_minutes * minutes, row.plan_minutes * minutes,
                  row.resolve_minutes * minutes, row.warn_ratio,
                  row.emergency_plan_after_minutes * minutes if row.emergency_plan_after_minutes else None,
                  row.emergency_plan_due_minutes * minutes if row.emergency_plan_due_minutes else None,
                  row.fault_report_minutes * minutes)


# Prebuilt: read on every start and classification, where the ORM's identity map cost more than SQLite.
_SELECT_POLICY = select(cast(Table, SlaPolicy.__table__)).where(SlaPolicy.fault_level == bindparam("level"))


def get_policy(session: Session, level: str | None) -> Policy:
    row = session.connection().execute(_SELECT_POLICY, {"level": level or DEFAULT_LEVEL}).one_or_none()
    if row is None:
        raise NotFound(f"no SLA policy for fault level {level!r}")
    return _policy(row)


def list_policies(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(SlaPolicy).order_by(SlaPolicy.fault_level))
    return [{"fault_level": r.fault_level, "name_zh": r.name_zh, "name_en": r.name_en,
             "respond_minutes": r.respond_minutes, "plan_minutes": r.plan_minutes,
             "resolve_minutes": r.resolve_minutes, "warn_ratio": r.warn_ratio,
             "emergency_plan_after_minutes": r.emergency_plan_after_minutes,
             "emergency_plan_due_minutes": r.emergency_plan_due_minutes,
             "fault_report_minutes": r.fault_report_minutes, "updated_by": r.updated_by,
             "updated_at": r.updated_at.isoformat() if r.updated_at else None} for r in rows]


_EDITABLE = {"respond_minutes", "plan_minutes", "resolve_minutes", "warn_ratio", "emergency_plan_after_minutes",
             "emergency_plan_due_minutes", "fault_report_minutes"}


def set_policy(session: Session, level: str, *, actor: str, **changes: Any) -> None:
    """Change a level's targets (process owners). Running instances keep the deadlines they have."""
    row = session.get(SlaPolicy, level)
    if row is None:
        raise NotFound(f"no SLA policy for fault level {level!r}")
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise InvalidInput(f"unknown SLA settings: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        if name == "warn_ratio":
            if not 0 < float(value) < 1:
                raise InvalidInput("warn_ratio must be between 0 and 1", field_errors={name: ["between 0 and 1"]})
            value = float(value)
        elif value is not None and int(value) <= 0:
            raise InvalidInput(f"{name} must be a positive number of minutes", field_errors={name: ["> 0"]})
        setattr(row, name, value)
    row.updated_by = actor
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


def instance_deadlines(variables: dict[str, Any]) -> dict[str, dt.datetime | None]:
    """Instance columns from the variables (NEVER becomes None)."""
    def moment(name: str) -> dt.datetime | None:
        value = variables.get(PREFIX + name)
        if value is None:
            return None
        parsed = dt.datetime.fromisoformat(value)
        return None if parsed >= NEVER else parsed
    return {"respond_due_at": moment("respond_due"), "plan_due_at": moment("plan_due"),
            "resolve_due_at": moment("resolve_due"), "emergency_plan_due_at": moment("emergency_plan_due"),
            "fault_report_due_at": moment("fault_report_due")}


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

    The proactive report of seed 002: what will breach before it breaches, most urgent first.
    """
    from engine.store.models import ProcessInstance, TaskRecord

    now = now or clock.now()
    ratios = {p.fault_level: p.warn_ratio for p in session.scalars(select(SlaPolicy))}
    rows = session.execute(
        select(TaskRecord, ProcessInstance.started_at, ProcessInstance.fault_level, ProcessInstance.process_id,
               ProcessInstance.title)
        .join(ProcessInstance, ProcessInstance.id == TaskRecord.instance_id)
        .where(TaskRecord.state == "ready", TaskRecord.due_at.is_not(None))
        .order_by(TaskRecord.due_at))
    result = []
    for task, started_at, level, process_id, title in rows:
        due = cast(dt.datetime, task.due_at)  # the query keeps only rows with a due time
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
        })
    return result
