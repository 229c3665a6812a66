"""The case record: one `service_case` row per instance, the service desk's view of a request.

Written by the desk's receivers of the core's hooks (engine.process.hooks), in the same transaction as
each change: receivers note values on the change's instance (`stage`, `stage_first`, `count`), and `write`
puts them in one statement right after the instance row — a new case is inserted when the instance
starts, later changes update it. Chasing (督促) is a desk operation of its own; re-grading is in
engine.desk.sla.

What reports read (engine.desk.kpi) is kept in plain columns as the case moves: each SLA target's
outcome (`respond_met`, `resolve_met`: the first response / resolution against the deadline in force
plus the paused time, recomputed when a re-grade moves the deadline), seconds to the first response
and resolution, resolution attempts, reopenings (the requester reported a remaining problem after the
case was resolved), who last worked it and in which group.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import String, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from engine import access, clock
from engine.errors import Conflict, InvalidInput, NotFound
from engine.process import history, hooks, runtime, step
from engine.store.direct import DirectStatement
from engine.store.models import ServiceCase
from engine.users import Actor

# Seed 000 第二篇: the same request chased this many times becomes a complaint (投诉).
COMPLAINT_AFTER_CHASES = 3
# Form fields (by id, as every form names them) the case keeps for reports.
ATTRIBUTES = ("category", "system", "device_type", "customer_type", "business_line", "zone")
# Form fields kept under another column name: the request's organisation is the customer.
RENAMED = {"organisation": "customer"}
SATISFACTION_FORM = "satisfaction"

_cases = cast(Table, ServiceCase.__table__)
_LENGTHS = {name: cast(String, _cases.c[name].type).length for name in (*ATTRIBUTES, *RENAMED.values())}
# Counters: a change adds to them (`count`); a new case starts them at 0.
COUNTERS = ("chase_count", "paused_seconds", "resolve_attempts", "reopen_count")
# Columns a new case sets whatever was staged; the others are NULL unless staged.
_NEW_CASE = {"is_complaint": False, **dict.fromkeys(COUNTERS, 0)}
_INSERT = DirectStatement(insert(_cases))
# Columns set only the first time (the first response, the first resolution), whatever comes later.
_FIRST = ("responded_at", "resolved_at")
_UPDATE = DirectStatement(update(_cases).where(_cases.c.instance_id == bindparam("case_of")).values(
    {name: func.coalesce(_cases.c[name], bindparam(f"first_{name}", type_=_cases.c[name].type)) for name in _FIRST}))
_SELECT = select(_cases).where(_cases.c.instance_id == bindparam("instance_id"))
_SELECT_RESOLVED = select(_cases.c.resolved_at).where(_cases.c.instance_id == bindparam("instance_id"))
# What the SLA outcomes and elapsed times are computed from.
_TARGET_TIMES = {"respond": "responded_at", "resolve": "resolved_at"}
_OUTCOME_INPUTS = frozenset({"opened_at", "paused_seconds", *_TARGET_TIMES.values(),
                             *(f"{target}_due_at" for target in _TARGET_TIMES)})
_PENDING = "case"
# Forms whose tasks remind of or escalate an SLA target: not work on the case (engine.desk.sla).
_REMINDERS = frozenset({"sla_warning", "sla_escalation"})
_REQUESTERS = "requester"
# Processes whose instances are the organisation's own follow-up work, not a customer's request: they have a
# case record (deadlines, history) but the reports and KPIs do not count them as requests.
NOT_REQUESTS = frozenset({"service_report", "report_callback", "knowledge_review", "parts_report", "fault_report",
                          "complaint"})


@dataclass
class _Staged:
    new: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    first: dict[str, Any] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)


def _staged(instance: runtime.InstanceState) -> _Staged:
    staged: _Staged | None = instance.pending.get(_PENDING)
    if staged is None:
        staged = instance.pending[_PENDING] = _Staged()
    return staged


def stage(instance: runtime.InstanceState, **values: Any) -> None:
    """Note case columns this change sets; they are written with the instance row."""
    _staged(instance).values.update(values)


def stage_first(instance: runtime.InstanceState, **values: Any) -> None:
    """Note columns kept from their first time on (responded_at, resolved_at)."""
    assert set(values) <= set(_FIRST), f"only {', '.join(_FIRST)} keep their first value"
    _staged(instance).first.update(values)


def count(instance: runtime.InstanceState, **added: int) -> None:
    """Note what this change adds to counters (chases, paused seconds, resolution attempts, reopenings)."""
    assert set(added) <= set(COUNTERS), f"only {', '.join(COUNTERS)} are counters"
    totals = _staged(instance).added
    for name, amount in added.items():
        totals[name] = totals.get(name, 0) + amount


def stage_pause(instance: runtime.InstanceState, seconds: int) -> None:
    """The SLA clock stood still for `seconds` (a pause ended): targets allow that much longer."""
    count(instance, paused_seconds=seconds)


def get(session: Session, instance_id: int) -> Any:
    """The case row of an instance (NotFound if it has none)."""
    row = session.connection().execute(_SELECT, {"instance_id": instance_id}).one_or_none()
    if row is None:
        raise NotFound(f"request {instance_id} has no case record")
    return row


def resolved_at(session: Session, instance_id: int) -> dt.datetime | None:
    """When the request was first resolved (None: not yet, or no case record)."""
    return session.connection().execute(_SELECT_RESOLVED, {"instance_id": instance_id}).scalar_one_or_none()


# --- hook receivers (connected by engine.desk.install) ---------------------------------------------

def _attributes(data: dict[str, Any]) -> dict[str, Any]:
    columns = {**{name: name for name in ATTRIBUTES}, **RENAMED}
    return {column: value[:_LENGTHS[column]] for name, column in columns.items()
            if isinstance(value := data.get(name), str) and value}


def open_case(start: hooks.Start) -> None:
    """instance_started: the case opens with the request's attributes."""
    instance = start.instance
    staged = _staged(instance)
    staged.new = True
    stage(instance, opened_at=instance.started_at, fault_level=instance.fault_level, process_id=instance.process_id,
          **_attributes(start.data))


def record_completion(completion: hooks.Completion) -> None:
    """task_completed: attributes and level the form recorded, the group working the case, the resolver and
    their attempt, the first resolution, a reopening, the satisfaction score."""
    data, instance = completion.data, completion.instance
    values = _attributes(data)
    if data.get("fault_level"):
        values["fault_level"] = instance.fault_level  # as the instance mirrors it
    if completion.form_key == SATISFACTION_FORM and isinstance(data.get("score"), int):
        values["satisfaction"] = data["score"]
    group = step.task_group(completion.task)[0]
    # The satisfaction call closes the case, it does not work on it: the group that worked it stays.
    if group and group != _REQUESTERS and completion.form_key not in _REMINDERS \
            and completion.form_key != SATISFACTION_FORM:
        values["assigned_group"] = group
    if isinstance(data.get("resolved"), bool):  # a resolution step, whatever its outcome
        values["engineer"] = completion.actor.username
        count(instance, resolve_attempts=1)
    if values:
        stage(instance, **values)
    if data.get("resolved") is True:
        stage_first(instance, resolved_at=clock.now())
    if data.get("remaining_problem") is True:  # back to work after the requester's callback
        count(instance, reopen_count=1)


def close_case(ended: hooks.Moment) -> None:
    """instance_ended: the case closes."""
    stage(ended.instance, closed_at=clock.now())


def outcomes(row: dict[str, Any]) -> dict[str, Any]:
    """SLA outcome and elapsed seconds per target of a case's values: met when first done by the
    deadline plus the paused time; None while not done (or without a deadline)."""
    pause = dt.timedelta(seconds=row.get("paused_seconds") or 0)
    derived: dict[str, Any] = {}
    for target, done in _TARGET_TIMES.items():
        at, due = row.get(done), row.get(f"{target}_due_at")
        derived[f"{target}_met"] = None if at is None or due is None else at <= due + pause
        derived[f"{target}_seconds"] = None if at is None else int((at - row["opened_at"]).total_seconds())
    return derived


def write(saved: hooks.Moment) -> None:
    """instance_saved: what this change staged, in one statement."""
    staged: _Staged | None = saved.instance.pending.pop(_PENDING, None)
    if staged is None:
        return
    if staged.new:
        values = {**_NEW_CASE, **staged.values, **staged.first}
        for name, amount in staged.added.items():
            values[name] += amount
        _INSERT.run(saved.session, {**values, **outcomes(values), "instance_id": saved.instance.id})
        return
    values = dict(staged.values)
    if staged.added or _OUTCOME_INPUTS & {*staged.values, *staged.first}:
        # Read under the instance row this change already holds: no racing change reads it meanwhile.
        current = dict(get(saved.session, saved.instance.id)._mapping)
        for name, amount in staged.added.items():
            values[name] = current[name] + amount
        merged = {**current, **values,
                  **{name: current[name] or staged.first.get(name) for name in _FIRST}}
        values.update(outcomes(merged))
    _UPDATE.run(saved.session, {**values, "case_of": saved.instance.id,
                                **{f"first_{name}": staged.first.get(name) for name in _FIRST}})


# --- chasing --------------------------------------------------------------------------------------

@clock.one_instant
def chase_request(session: Session, *, instance_id: int, actor: Actor, note: str | None = None) -> int:
    """Record that the requester chased (督促) an open request; returns the chase count.

    One chase per request per interval (engine.desk.complaint.chase_interval); the 3rd starts the
    complaint flow (engine.desk.complaint), in this transaction."""
    # Here, not at the top: complaint stages case columns through this module.
    from engine.desk import complaint, notifications

    instance = runtime.load_instance(session, instance_id)
    access.require_chase(instance, actor)  # first: another customer learns nothing, not even the status
    if instance.status != "running":
        raise Conflict(f"request {instance_id} is already {instance.status}")
    if note and len(note) > 2000:
        raise InvalidInput("note longer than 2000 characters", field_errors={"note": ["at most 2000 characters"]})
    complaint.require_chase_allowed(session, instance_id)
    # Read, then saved under the instance's version check: a racing chase conflicts instead of counting twice,
    # before anything else of this chase (its row, a complaint flow) is written.
    chases = get(session, instance_id).chase_count + 1
    count(instance, chase_count=1)
    runtime.record_events(session, instance=instance, actor=actor.username,
                          events=[(history.REQUEST_CHASED, {"count": chases, "note": note})])
    complaint.record_chase(session, instance_id=instance_id, number=chases, actor=actor, note=note)
    notifications.request_chased(session, instance=instance, count=chases, note=note, actor=actor.username)
    if chases == COMPLAINT_AFTER_CHASES and instance.process_id != complaint.PROCESS:  # a complaint stays one
        started = complaint.raise_complaint(session, request=instance, trigger="chases", actor=actor, summary=note)
        # The request's history names its complaint flow (one raised earlier, by channel or category, too).
        linked = started or complaint.complaint_of(session, instance_id)
        runtime.record_events(session, instance=instance, actor=actor.username, events=[(
            history.COMPLAINT_RAISED, {"chases": chases, "complaint_instance_id": linked})])
    return chases
