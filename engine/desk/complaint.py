"""Chases and complaints (seed 000 第二篇: 督促; 同ID督促3次以上的维护单,直接更改为投诉类型; 建立投诉回访制度).

A request becomes a complaint (投诉) on its 3rd chase (engine.desk.case.chase_request), when it is raised
through the complaint channel (the request form's channel 投诉) or when 事件分类 files it under category 投诉.
Then the `complaint` flow starts, in the same transaction: the first-responsible person is named, the
complaint handled, and the customer called back until satisfied. Each complaint is counted against its
first-responsible person and each handler (complaint_person), for the reports.

The link is in the history of both: the complaint's start data names the request (`request_id`), and the
request records the complaint's instance id — in complaint_raised (a chase) or as engine data of the
change that raised it (a start through the complaint channel, a classification), so the audit replays it.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from engine import access, clock, users
from engine.desk import case
from engine.errors import Conflict, InvalidInput, NotFound
from engine.process import hooks, runtime
from engine.status import InstanceStatus
from engine.store.complaint_models import Complaint, ComplaintPerson, RequestChase
from engine.store.models import ProcessInstance
from engine.users import Actor

PROCESS = "complaint"
COMPLAINT = "complaint"  # the request form's channel and 事件分类's category that make a request a complaint
CLASSIFY_FORM = "classify"
RESPONSIBLE_FORM, HANDLING_FORM, CALLBACK_FORM = "complaint_responsible", "complaint_handling", "complaint_callback"
FIRST_RESPONSIBLE = "first_responsible"  # the picker's field id (forms/catalogue/complaint.py), and a role
HANDLER = "handler"  # the other role a complaint is counted against a person in
# The workflow variable (and engine data) naming the complaint's instance on the request it is about.
LINK_VARIABLE = "complaint_instance_id"
# At most one chase per request in this many minutes (0: no limit).
INTERVAL_SETTING = "OPSFLOW_CHASE_INTERVAL_MINUTES"
DEFAULT_INTERVAL_MINUTES = 30
RECENT_CHASES = 20

_chases = cast(Table, RequestChase.__table__)
_complaints = cast(Table, Complaint.__table__)
_people = cast(Table, ComplaintPerson.__table__)
_instances = cast(Table, ProcessInstance.__table__)
_SYSTEM = Actor(runtime.SYSTEM_ACTOR, frozenset())
# Set while this module starts a complaint flow: nobody else starts one (it would be linked to nothing).
_starting: contextvars.ContextVar[bool] = contextvars.ContextVar("complaint_starting", default=False)


# --- chases ---------------------------------------------------------------------------------------

def chase_interval(env: dict[str, str] | None = None) -> dt.timedelta:
    """The shortest time between two chases of one request (OPSFLOW_CHASE_INTERVAL_MINUTES, default 30)."""
    raw = (os.environ if env is None else env).get(INTERVAL_SETTING, "").strip()
    if not raw:
        return dt.timedelta(minutes=DEFAULT_INTERVAL_MINUTES)
    if not raw.isdigit():
        raise ValueError(f"{INTERVAL_SETTING} must be a whole number of minutes (0: no limit), not {raw!r}")
    return dt.timedelta(minutes=int(raw))


def require_chase_allowed(session: Session, instance_id: int) -> None:
    """Refuse a chase sooner than the interval after the request's last one, saying when the next may come."""
    interval = chase_interval()
    if not interval:
        return
    last = session.connection().scalar(select(func.max(_chases.c.chased_at))
                                       .where(_chases.c.instance_id == instance_id))
    if last is None:
        return
    next_at = last + interval
    if clock.now() < next_at:
        minutes = int(interval.total_seconds() // 60)
        raise Conflict(f"request {instance_id} was chased at {last:%Y-%m-%d %H:%M} UTC; one chase per {minutes} "
                       f"minutes: the next is possible from {next_at:%Y-%m-%d %H:%M} UTC",
                       reason="chase_too_soon", params={"instance_id": instance_id, "minutes": minutes,
                                                        "last_at": last, "next_at": next_at})


def record_chase(session: Session, *, instance_id: int, number: int, actor: Actor, note: str | None) -> None:
    """The chase's row: on the service desk's inbox and the handling agent's task page."""
    session.connection().execute(_chases.insert().values(instance_id=instance_id, number=number,
                                                         chased_by=actor.username, chased_at=clock.now(), note=note))


def chases_of(session: Session, instance_id: int) -> list[dict[str, Any]]:
    """Every chase of a request, newest first (the task page's banner, the request page)."""
    rows = session.execute(select(_chases.c.number, _chases.c.chased_by, _chases.c.chased_at, _chases.c.note)
                           .where(_chases.c.instance_id == instance_id).order_by(_chases.c.number.desc()))
    return [dict(row._mapping) for row in rows]


def recent_chases(session: Session, *, actor: Actor, limit: int = RECENT_CHASES) -> list[dict[str, Any]]:
    """The newest chases of requests still open, for the service desk's inbox (empty for whoever may not see them)."""
    if not access.may_see_chases(actor):
        return []
    rows = session.execute(
        select(_chases.c.instance_id, _chases.c.number, _chases.c.chased_by, _chases.c.chased_at, _chases.c.note,
               _instances.c.title, _instances.c.process_id, _complaints.c.instance_id.label("complaint_instance_id"))
        .join(_instances, _instances.c.id == _chases.c.instance_id)
        .outerjoin(_complaints, _complaints.c.request_instance_id == _chases.c.instance_id)
        .where(_instances.c.status == InstanceStatus.RUNNING)
        .order_by(_chases.c.chased_at.desc(), _chases.c.id.desc()).limit(limit))
    return [dict(row._mapping) for row in rows]


# --- raising a complaint --------------------------------------------------------------------------

@contextmanager
def _raising() -> Iterator[None]:
    token = _starting.set(True)
    try:
        yield
    finally:
        _starting.reset(token)


def complaint_of(session: Session, request_id: int) -> int | None:
    """The complaint flow's instance id of a request, if it became a complaint."""
    return session.connection().scalar(select(_complaints.c.instance_id)
                                       .where(_complaints.c.request_instance_id == request_id))


def _customer(session: Session, request: runtime.InstanceState, actor: Actor) -> Actor:
    """The complaint is the customer's, as the request was: they follow it in the portal."""
    if request.started_by:
        try:
            return users.actor(session, request.started_by)
        except NotFound:  # the requester's account is gone; the complaint is still raised
            pass
    return actor


def raise_complaint(session: Session, *, request: runtime.InstanceState, trigger: str, actor: Actor,
                    summary: str | None = None) -> int | None:
    """Start the complaint flow of a request (once: None if it has one, or is itself a complaint)."""
    if request.process_id == PROCESS or complaint_of(session, request.id) is not None:
        return None
    title = f"投诉：{request.title or f'服务请求 {request.id}'}"[:200]
    data: dict[str, Any] = {"request_id": request.id, "reason": trigger, "title": title}
    if summary:
        data["summary"] = summary[:2000]
    with _raising():
        started = runtime.start_instance(session, process_id=PROCESS, data=data,
                                         actor=_customer(session, request, actor))
    session.connection().execute(_complaints.insert().values(
        instance_id=started.id, request_instance_id=request.id, reason=trigger, raised_by=actor.username,
        raised_at=clock.now(), callbacks=0))
    case.stage(request, is_complaint=True)
    return started.id


# --- hook receivers (connected by engine.desk.install) ---------------------------------------------

def on_instance_starting(start: hooks.Start) -> dict[str, Any]:
    """instance_starting: a request raised through the complaint channel is a complaint from the start;
    a complaint flow is only ever started here (by raise_complaint)."""
    instance = start.instance
    if instance.process_id == PROCESS:
        if not _starting.get():
            raise InvalidInput("a complaint flow is started by the service desk's rules from a request "
                               "(3rd chase, complaint channel, category 投诉), not by hand",
                               reason="complaint_not_by_hand", process_id=PROCESS)
        return {}
    if start.data.get("channel") != COMPLAINT:  # a field of the request form only
        return {}
    complaint_id = raise_complaint(start.session, request=instance, trigger="channel",
                                   actor=_customer(start.session, instance, _SYSTEM),
                                   summary=start.data.get("description"))
    return {LINK_VARIABLE: complaint_id} if complaint_id else {}


def on_task_completing(completion: hooks.Completion) -> dict[str, Any]:
    """task_completing: 事件分类 filing the request under 投诉 raises its complaint (the link is engine data
    of the classification). The first-responsible person named is checked as every user field is
    (engine.desk.pickers: an active staff member)."""
    instance, data = completion.instance, completion.data
    if completion.form_key == CLASSIFY_FORM and data.get("category") == COMPLAINT:
        complaint_id = raise_complaint(completion.session, request=instance, trigger="category",
                                       actor=completion.actor, summary=data.get("impact"))
        return {LINK_VARIABLE: complaint_id} if complaint_id else {}
    return {}


def on_task_completed(completion: hooks.Completion) -> None:
    """task_completed: in the complaint flow, count the complaint against the person named and each handler,
    and keep the callbacks' outcome."""
    instance, data = completion.instance, completion.data
    if instance.process_id != PROCESS:
        return
    session = completion.session
    complaint_id = session.connection().scalar(select(_complaints.c.id).where(_complaints.c.instance_id == instance.id))
    if complaint_id is None:
        return
    if completion.form_key == RESPONSIBLE_FORM:
        named = str(data[FIRST_RESPONSIBLE])
        session.connection().execute(update(_complaints).where(_complaints.c.id == complaint_id)
                                     .values(first_responsible=named))
        _count_against(session, complaint_id, named, FIRST_RESPONSIBLE)
    elif completion.form_key == HANDLING_FORM:
        _count_against(session, complaint_id, completion.actor.username, HANDLER)
    elif completion.form_key == CALLBACK_FORM:
        values: dict[str, Any] = {"callbacks": _complaints.c.callbacks + 1}
        if data.get("satisfied") is True:
            values["satisfied_at"] = clock.now()
        session.connection().execute(update(_complaints).where(_complaints.c.id == complaint_id).values(values))


def _count_against(session: Session, complaint_id: int, username: str, role: str) -> None:
    """Once per complaint, person and role (a second turn of handling by the same person counts once)."""
    exists = session.connection().scalar(select(_people.c.id).where(
        _people.c.complaint_id == complaint_id, _people.c.username == username, _people.c.role == role))
    if exists is None:
        session.connection().execute(_people.insert().values(complaint_id=complaint_id, username=username, role=role,
                                                             recorded_at=clock.now()))


# --- read side ------------------------------------------------------------------------------------

def link_of(session: Session, instance_id: int) -> dict[str, Any] | None:
    """The complaint a page shows: for a request, its complaint flow; for a complaint flow, its request."""
    row = session.execute(select(_complaints).where((_complaints.c.instance_id == instance_id)
                                                    | (_complaints.c.request_instance_id == instance_id))).first()
    if row is None:
        return None
    found = dict(row._mapping)
    found["is_complaint_flow"] = row.instance_id == instance_id
    return found


def per_person(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """Complaints counted per person and role: (username, role, complaints), most first."""
    access.require_read_complaints(actor)
    count = func.count(_people.c.id).label("complaints")
    rows = session.execute(select(_people.c.username, _people.c.role, count)
                           .group_by(_people.c.username, _people.c.role)
                           .order_by(count.desc(), _people.c.username, _people.c.role))
    return [dict(row._mapping) for row in rows]
