"""Notifications by e-mail and in the app (issue 15): an outbox written in the change's transaction, mailed after.

Desk receivers note what happened (a request raised, a task assigned or released, a chase, an SLA warning or
escalation, a resolution, the satisfaction survey) and one row per recipient is written with the change — so a
change that rolls back leaves no notice, and a notice is never lost once the change committed. The row is the
in-app notice and the mail's queue entry at once: `email_state` pending rows are sent after commit (at once
on a worker thread, never in the request's way) and by the timer scheduler's `notifications` job, with
retries and exponential backoff up to MAX_ATTEMPTS, then failed. A sender claims a row by moving its
`next_attempt_at` a lease ahead in a short transaction of its own (rows locked with SKIP LOCKED on PostgreSQL,
the single writer on SQLite), so two schedulers never mail one notice twice; a sender that dies mid-way leaves
the row to be retried when its lease ends. Each user may turn each kind off per channel (email, in_app);
users without an address get in-app notices only.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine import access, clock
from engine.desk import notification_texts as texts
from engine.desk import notify
from engine.errors import InvalidInput, NotFound
from engine.process import history, hooks, runtime
from engine.store.db import after_commit, busy_as_error
from engine.store.models import Membership, ProcessInstance, TaskRecord, User
from engine.store.notification_models import Notification, NotificationOptOut
from engine.users import Actor

log = logging.getLogger(__name__)

KINDS = texts.KINDS
CHANNELS = ("email", "in_app")
PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"
MAX_ATTEMPTS = 6
FIRST_RETRY = dt.timedelta(minutes=1)  # then 2, 4, 8, 16 minutes
LONGEST_RETRY = dt.timedelta(hours=1)
LEASE = dt.timedelta(minutes=10)  # a claimed row is retried after this if its sender never reported back
BATCH = 50
JOB_SECONDS = 30.0
BASE_URL_SETTING = "OPSFLOW_BASE_URL"

# The requests' entry process: its start is a new request for the service desk (internal flows are not).
REQUEST_PROCESSES = frozenset({"service_desk"})
SERVICE_DESK = access.SERVICE_DESK
REMINDER_FORMS = frozenset({"sla_warning", "sla_escalation"})
SURVEY_FORM = "satisfaction"
_PENDING_KEY = "notifications"
TO_REQUESTER = "to_requester"  # in a notice's params: it leads to the requester's own page
EXCERPT = 300  # characters of a reply quoted in its notice

_rows = cast(Table, Notification.__table__)
_opt_outs = cast(Table, NotificationOptOut.__table__)
_users = cast(Table, User.__table__)
_memberships = cast(Table, Membership.__table__)
_instances = cast(Table, ProcessInstance.__table__)


# Built once (a change's notices are written on every step that has any, timer firings included): the named
# users and the groups' members, active, with their address, groups and opt-outs of the notices' kinds.
_ADDRESSEES = (
    select(_users.c.username, _users.c.email, _memberships.c.group_id, _opt_outs.c.kind, _opt_outs.c.channel)
    .outerjoin(_opt_outs, (_opt_outs.c.username == _users.c.username)
               & _opt_outs.c.kind.in_(bindparam("kinds", expanding=True)))
    .outerjoin(_memberships, (_memberships.c.user_id == _users.c.id)
               & _memberships.c.group_id.in_(bindparam("groups", expanding=True)))
    .where(_users.c.is_active,
           _users.c.username.in_(bindparam("names", expanding=True)) | _memberships.c.group_id.is_not(None)))
_INSERT_ROWS = insert(_rows).returning(_rows.c.id, sort_by_parameter_order=True)


def retry_delay(attempts: int) -> dt.timedelta:
    """How long after its `attempts`-th failed attempt a mail is tried again: doubling from FIRST_RETRY."""
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), LONGEST_RETRY)


# --- writing the outbox (inside the change's transaction) ----------------------------------------

@dataclass
class _Notice:
    kind: str
    instance_id: int | None
    params: dict[str, Any]
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    task_id: int | None = None
    # A task opened in this change: its record's row, whose id the runtime sets once the row is written.
    task_row: dict[str, Any] | None = None
    exclude: str | None = None  # who made the change is not told of it


def record(session: Session, *, kind: str, instance_id: int | None, params: dict[str, Any],
           users: Iterable[str] = (), groups: Iterable[str] = (), task_id: int | None = None,
           exclude: str | None = None) -> list[int]:
    """Write one notice per recipient (the users, the active members of the groups, never `exclude`) in this
    transaction; returns the new rows' ids. Mail goes out after commit."""
    return _write(session, [_Notice(kind, instance_id, params, list(users), list(groups), task_id, exclude=exclude)])


def _write(session: Session, notices: list[_Notice]) -> list[int]:
    """The notices' rows, in two statements whatever their number (a change may note several): the recipients
    with their addresses, groups and opt-outs of these kinds; one INSERT."""
    for notice in notices:
        if notice.kind not in KINDS:
            raise ValueError(f"unknown notification kind {notice.kind!r}")
    connection = session.connection()
    named = {u for n in notices for u in n.users if u}
    groups = {g for n in notices for g in n.groups if g}
    # active user → (address, their groups among `groups`, the (kind, channel) they turned off of these kinds)
    people: dict[str, tuple[str | None, set[str], set[tuple[str, str]]]] = {}
    if named or groups:
        for row in connection.execute(_ADDRESSEES, {"names": sorted(named), "groups": sorted(groups),
                                                    "kinds": sorted({n.kind for n in notices})}):
            person = people.setdefault(row.username, (row.email, set(), set()))
            if row.group_id:
                person[1].add(row.group_id)
            if row.kind:
                person[2].add((row.kind, row.channel))
    addressed = [(notice, _recipients(notice, people)) for notice in notices]
    mail_on = _mail_on()
    now = clock.now()
    new_rows = []
    for notice, names in addressed:
        task_id = notice.task_row.get("id") if notice.task_row is not None else notice.task_id
        for name in names:
            address, _, off = people[name]
            in_app = (notice.kind, "in_app") not in off
            mailed = mail_on and bool(address) and (notice.kind, "email") not in off
            if not in_app and not mailed:
                continue
            new_rows.append({"username": name, "kind": notice.kind, "instance_id": notice.instance_id,
                             "task_id": task_id, "params": notice.params, "in_app": in_app, "created_at": now,
                             "email_state": PENDING if mailed else SKIPPED, "attempts": 0,
                             "next_attempt_at": now if mailed else None})
    if not new_rows:
        return []
    ids = list(connection.execute(_INSERT_ROWS, new_rows).scalars())
    due = [i for i, row in zip(ids, new_rows, strict=True) if row["email_state"] == PENDING]
    if due:
        bind = session.get_bind()
        if isinstance(bind, Engine):
            after_commit(session, lambda: send_soon(bind, due))
    return ids


def _recipients(notice: _Notice, people: dict[str, tuple[str | None, set[str], set[tuple[str, str]]]]) -> list[str]:
    """The notice's named users, then its groups' members by name: active ones, never who made the change."""
    names = list(dict.fromkeys(u for u in notice.users if u in people))
    wanted = set(notice.groups)
    names += [name for name in sorted(people) if people[name][1] & wanted and name not in names]
    return [name for name in names if name != notice.exclude]


def _mail_on() -> bool:
    """Whether mail is configured; settings that cannot work (checked at start-up too) never fail a change."""
    try:
        return notify.settings_from_env() is not None
    except ValueError as error:
        log.warning("notification mail is off: %s", error)
        return False


def _stage(instance: runtime.InstanceState, notice: _Notice) -> None:
    """Note a notice; written with the instance row (instance_saved), when this change's task records exist."""
    instance.pending.setdefault(_PENDING_KEY, []).append(notice)


def _base_params(instance: runtime.InstanceState, **more: Any) -> dict[str, Any]:
    return {"title": instance.title, "fault_level": instance.fault_level, **more}


# --- hook receivers (connected by engine.desk.install) ---------------------------------------------

def on_instance_started(start: hooks.Start) -> None:
    """instance_started: a new request tells the service desk."""
    instance = start.instance
    if instance.process_id in REQUEST_PROCESSES:
        _stage(instance, _Notice("request_opened", instance.id, _base_params(instance), groups=[SERVICE_DESK],
                                 exclude=instance.started_by))


def on_tasks_opened(opened: hooks.Opened) -> None:
    """tasks_opened: a task made ready for a named person, an SLA warning or escalation for its group, the
    satisfaction survey for the requester."""
    instance = opened.instance
    for row in opened.tasks:
        params = _base_params(instance, task=row["name"], group=row["candidate_group"])
        if row["form_key"] in REMINDER_FORMS and row["candidate_group"]:
            element = str(row["element_id"])
            if row["form_key"] == "sla_escalation":
                params["step"] = int(element.rsplit("_", 1)[-1]) if element[-1:].isdigit() else 1
            _stage(instance, _Notice("sla_warning", instance.id, params, groups=[row["candidate_group"]],
                                     task_row=row))
        elif row["form_key"] == SURVEY_FORM and instance.started_by:
            _stage(instance, _Notice("survey_requested", instance.id, params, users=[instance.started_by],
                                     task_row=row))
        elif row["assignee"]:
            _stage(instance, _Notice("task_assigned", instance.id, params, users=[row["assignee"]],
                                     task_row=row))


def on_task_completed(completion: hooks.Completion) -> None:
    """task_completed: a resolution step that resolved the request tells the requester."""
    instance = completion.instance
    if completion.data.get("resolved") is True and instance.started_by:
        _stage(instance, _Notice("request_resolved", instance.id, _base_params(instance),
                                 users=[instance.started_by], exclude=completion.actor.username))


def on_task_reassigned(change: hooks.Reassigned) -> None:
    """task_reassigned: an assignment tells the assignee; a release tells the group the task went back to."""
    instance, task = change.instance, change.task
    params = _base_params(instance, task=task["name"], group=task["candidate_group"], actor=change.actor)
    if change.kind == history.TASK_ASSIGNED and change.assignee:
        record(change.session, kind="task_assigned", instance_id=instance.id, params=params,
               users=[change.assignee], task_id=task["id"], exclude=change.actor)
    elif change.kind == history.TASK_RELEASED and task["candidate_group"]:
        record(change.session, kind="task_released", instance_id=instance.id, params=params,
               groups=[task["candidate_group"]], task_id=task["id"], exclude=change.actor)


def request_chased(session: Session, *, instance: runtime.InstanceState, count: int, note: str | None,
                   actor: str) -> None:
    """A chase (engine.desk.case.chase_request) tells whoever holds the request's open tasks and the service desk."""
    holders = session.scalars(select(TaskRecord.assignee).where(
        TaskRecord.instance_id == instance.id, TaskRecord.state == "ready", TaskRecord.assignee.is_not(None)))
    record(session, kind="request_chased", instance_id=instance.id,
           params=_base_params(instance, count=count, note=note), users=sorted({h for h in holders if h}),
           groups=[SERVICE_DESK], exclude=actor)


def reply_posted(session: Session, *, instance: runtime.InstanceState, author: str, text: str) -> None:
    """A reply on a request (engine.desk.conversation): an agent's tells the requester; the requester's tells
    whoever holds its open tasks, or the service desk when nobody holds one."""
    params = _base_params(instance, actor=author, excerpt=text[:EXCERPT])
    if author != instance.started_by:
        if instance.started_by:
            _write(session, [_Notice("reply_posted", instance.id, {**params, TO_REQUESTER: True},
                                     users=[instance.started_by])])
        return
    open_tasks = session.execute(select(TaskRecord.id, TaskRecord.assignee).where(
        TaskRecord.instance_id == instance.id, TaskRecord.state == "ready").order_by(TaskRecord.id)).all()
    notices = [_Notice("reply_posted", instance.id, params, users=[row.assignee], task_id=row.id, exclude=author)
               for row in open_tasks if row.assignee]
    if not notices:
        notices = [_Notice("reply_posted", instance.id, params, groups=[SERVICE_DESK], exclude=author,
                           task_id=open_tasks[0].id if open_tasks else None)]
    _write(session, notices)


def write_staged(saved: hooks.Moment) -> None:
    """instance_saved: the notices this change noted (the task records it opened have their ids by now)."""
    staged: list[_Notice] | None = saved.instance.pending.pop(_PENDING_KEY, None)
    if staged:
        _write(saved.session, staged)


# --- delivery (after commit, outside any request's transaction) ------------------------------------

@dataclass
class Delivery:
    """What one run of the sender did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


_executor: ThreadPoolExecutor | None = None
_executor_pid = 0
_in_flight: set[Future[Any]] = set()
_flight_lock = threading.Lock()


def send_soon(bind: Engine, ids: list[int]) -> None:
    """After commit: try these rows at once on a worker thread; never raises, never waits for the relay."""
    global _executor, _executor_pid
    try:
        with _flight_lock:
            if _executor is None or _executor_pid != os.getpid():  # a forked worker starts its own
                _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="opsflow-mail")
                _executor_pid = os.getpid()
            future = _executor.submit(_send_quietly, bind, ids)
            _in_flight.add(future)
        future.add_done_callback(_landed)
    except Exception:  # interpreter shutting down: the job sends them later
        log.exception("could not queue notification mail %s", ids)


def _landed(future: Future[Any]) -> None:
    with _flight_lock:
        _in_flight.discard(future)


def _send_quietly(bind: Engine, ids: list[int]) -> None:
    try:
        deliver_due(bind, ids=ids)
    except Exception:
        log.exception("sending notification mail %s failed; the scheduler's job retries it", ids)


def wait_for_sends(timeout: float = 10.0) -> None:
    """Wait for the immediate attempts under way (tests, a clean shutdown)."""
    with _flight_lock:
        pending = list(_in_flight)
    wait_futures(pending, timeout=timeout)


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempts: int
    kind: str
    username: str
    instance_id: int | None
    task_id: int | None
    params: dict[str, Any]
    email: str | None
    locale: str | None
    number: str | None = None  # the request's number (INC-2026-000123)


_CLAIMABLE = (select(_rows.c.id, _rows.c.attempts, _rows.c.kind, _rows.c.username, _rows.c.instance_id,
                     _rows.c.task_id, _rows.c.params)
              .where(_rows.c.email_state == PENDING))


def _claim(bind: Engine, *, ids: list[int] | None, limit: int) -> list[_Claimed]:
    """Take due rows for sending in a short transaction: each row's lease moves its next attempt LEASE ahead
    and counts the attempt, only if nobody else took it since we read it."""
    now = clock.now()
    with busy_as_error(), Session(bind) as session, session.begin():
        query = _CLAIMABLE.where(_rows.c.next_attempt_at <= now).order_by(_rows.c.next_attempt_at, _rows.c.id)
        if ids is not None:
            query = query.where(_rows.c.id.in_(ids))
        if bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query.limit(limit)).all()
        taken = []
        for row in rows:
            changed = session.connection().execute(
                update(_rows).where(_rows.c.id == row.id, _rows.c.email_state == PENDING,
                                    _rows.c.attempts == row.attempts)
                .values(attempts=row.attempts + 1, next_attempt_at=now + LEASE)).rowcount
            if changed == 1:
                taken.append(row)
        if not taken:
            return []
        people = {p.username: p for p in session.execute(
            select(_users.c.username, _users.c.email, _users.c.locale, _users.c.is_active)
            .where(_users.c.username.in_({row.username for row in taken})))}
        numbers = {r.id: r.number for r in session.execute(select(_instances.c.id, _instances.c.number).where(
            _instances.c.id.in_({row.instance_id for row in taken if row.instance_id})))}
    claimed = []
    for row in taken:
        person = people.get(row.username)
        active = person is not None and person.is_active
        claimed.append(_Claimed(row.id, row.attempts + 1, row.kind, row.username, row.instance_id, row.task_id,
                                dict(row.params or {}), person.email if active and person else None,
                                person.locale if person else None, numbers.get(row.instance_id)))
    return claimed


def _settle(bind: Engine, claimed: _Claimed, values: dict[str, Any]) -> None:
    """Record the outcome, unless our lease ran out and another sender took the row meanwhile."""
    with busy_as_error(), Session(bind) as session, session.begin():
        session.execute(update(_rows).where(_rows.c.id == claimed.id, _rows.c.attempts == claimed.attempts,
                                            _rows.c.email_state == PENDING).values(**values))


def _permanent(error: Exception) -> bool:
    """A refusal the relay will repeat (5xx): no point in trying again."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500 \
        and not isinstance(error, smtplib.SMTPServerDisconnected)


def deliver_due(bind: Engine, *, ids: list[int] | None = None, limit: int = BATCH,
                settings: notify.SmtpSettings | None = None) -> Delivery:
    """Send the pending mails that are due (or just `ids`): claim, send outside any transaction, record."""
    settings = settings if settings is not None else notify.settings_from_env()
    done = Delivery()
    for claimed in _claim(bind, ids=ids, limit=limit):
        now = clock.now()
        if settings is None or not claimed.email:
            _settle(bind, claimed, {"email_state": SKIPPED, "next_attempt_at": None,
                                    "last_error": "mail is off" if settings is None else "no e-mail address"})
            done.skipped += 1
            continue
        try:
            message = build_message(claimed, settings)
            notify.send_message(settings, message, [claimed.email])
        except (smtplib.SMTPException, OSError, ValueError) as error:
            text = f"{type(error).__name__}: {error}"[:500]
            if claimed.attempts >= MAX_ATTEMPTS or _permanent(error):
                _settle(bind, claimed, {"email_state": FAILED, "next_attempt_at": None, "last_error": text})
                log.warning("notification %s to %s failed for good after %s attempts: %s", claimed.id,
                            claimed.email, claimed.attempts, text)
                done.failed += 1
            else:
                _settle(bind, claimed, {"next_attempt_at": now + retry_delay(claimed.attempts), "last_error": text})
                done.retried += 1
            continue
        _settle(bind, claimed, {"email_state": SENT, "sent_at": now, "next_attempt_at": None, "last_error": None})
        done.sent += 1
    return done


def link_path(kind: str, *, instance_id: int | None, task_id: int | None,
              params: dict[str, Any] | None = None) -> str | None:
    """Where a notice leads in the app: the requester's request page, or the task, or the inbox."""
    to_requester = kind in ("request_resolved", "survey_requested") or (params or {}).get(TO_REQUESTER)
    if to_requester and instance_id:
        return f"/portal/requests/{instance_id}"
    if task_id:
        return f"/tasks/{task_id}"
    return "/inbox" if instance_id else None


def build_message(claimed: _Claimed, settings: notify.SmtpSettings) -> EmailMessage:
    """The plain-text UTF-8 mail of one notice, in the recipient's language."""
    path = link_path(claimed.kind, instance_id=claimed.instance_id, task_id=claimed.task_id, params=claimed.params)
    base = os.environ.get(BASE_URL_SETTING, "").strip().rstrip("/")
    link = f"{base}{path}" if base and path else None
    message = EmailMessage(policy=SMTP_POLICY)
    message["Subject"] = texts.subject(claimed.kind, claimed.params, instance_id=claimed.instance_id,
                                       locale=claimed.locale, number=claimed.number)
    message["From"] = settings.sender
    message["To"] = claimed.email or ""
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(idstring=f"notification-{claimed.id}",
                                       domain=settings.sender.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.set_content(texts.body(claimed.kind, claimed.params, instance_id=claimed.instance_id,
                                   locale=claimed.locale, link=link, number=claimed.number), charset="utf-8")
    return message


def _job(session: Session) -> None:
    bind = session.get_bind()  # the job's own session stays idle: each claim and outcome is a short transaction
    if isinstance(bind, Engine):
        deliver_due(bind)


JOB = hooks.Job("notifications", JOB_SECONDS, _job)


# --- the in-app list and the preferences -----------------------------------------------------------

def _as_dict(row: Any, locale: str | None) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "instance_id": row.instance_id, "task_id": row.task_id,
            "text": texts.subject(row.kind, row.params or {}, instance_id=row.instance_id, locale=locale,
                                  number=row.number),
            "link": link_path(row.kind, instance_id=row.instance_id, task_id=row.task_id, params=row.params),
            "created_at": row.created_at, "read_at": row.read_at, "email_state": row.email_state}


def list_for(session: Session, *, actor: Actor, unread_only: bool = False, limit: int = 50, offset: int = 0,
             locale: str | None = None) -> tuple[list[dict[str, Any]], int, int]:
    """The actor's in-app notices, newest first, with how many there are and how many are unread."""
    mine = access.notification_condition(_rows.c.username, actor)
    shown = (select(_rows, _instances.c.number).outerjoin(_instances, _instances.c.id == _rows.c.instance_id)
             .where(mine, _rows.c.in_app.is_(True)))
    if unread_only:
        shown = shown.where(_rows.c.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(shown.subquery())) or 0
    rows = session.execute(shown.order_by(_rows.c.id.desc()).limit(limit).offset(offset))
    return [_as_dict(row, locale) for row in rows], int(total), unread_count(session, actor=actor)


def unread_count(session: Session, *, actor: Actor) -> int:
    """How many in-app notices the actor has not read (the bell)."""
    return int(session.scalar(select(func.count()).select_from(_rows).where(
        access.notification_condition(_rows.c.username, actor), _rows.c.in_app.is_(True),
        _rows.c.read_at.is_(None))) or 0)


def mark_read(session: Session, *, actor: Actor, notification_id: int | None = None) -> int:
    """Mark one of the actor's notices read (NotFound for anyone else's), or all of them; returns how many changed."""
    mine = access.notification_condition(_rows.c.username, actor)
    if notification_id is not None:
        found = session.scalar(select(_rows.c.id).where(_rows.c.id == notification_id, mine,
                                                        _rows.c.in_app.is_(True)))
        if found is None:
            raise NotFound(f"notification {notification_id} does not exist", reason="notification_missing",
                           params={"notification_id": notification_id})
    query = update(_rows).where(mine, _rows.c.read_at.is_(None)).values(read_at=clock.now())
    if notification_id is not None:
        query = query.where(_rows.c.id == notification_id)
    return int(session.connection().execute(query).rowcount or 0)


def preferences(session: Session, *, actor: Actor) -> dict[str, dict[str, bool]]:
    """kind -> channel -> on, for the actor (everything is on unless turned off)."""
    off = {(row.kind, row.channel) for row in session.execute(
        select(_opt_outs.c.kind, _opt_outs.c.channel).where(_opt_outs.c.username == actor.username))}
    return {kind: {channel: (kind, channel) not in off for channel in CHANNELS} for kind in KINDS}


def set_preferences(session: Session, *, actor: Actor, enabled: dict[str, dict[str, bool]]) -> None:
    """Replace the actor's opt-outs: a kind and channel missing or False in `enabled` is turned off."""
    unknown = sorted(set(enabled) - set(KINDS))
    if unknown:
        raise InvalidInput(f"unknown notification kinds: {', '.join(unknown)}", field_errors={"kinds": unknown})
    session.execute(delete(_opt_outs).where(_opt_outs.c.username == actor.username))
    off = [{"username": actor.username, "kind": kind, "channel": channel}
           for kind in KINDS for channel in CHANNELS if not enabled.get(kind, {}).get(channel, False)]
    if off:
        session.execute(insert(_opt_outs), off)


def has_email(session: Session, *, actor: Actor) -> bool:
    """Whether mail can reach the actor at all (the settings page says so when not)."""
    return bool(session.scalar(select(_users.c.email).where(_users.c.username == actor.username)))
