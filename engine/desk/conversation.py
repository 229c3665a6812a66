"""The conversation on a request (issue 15): replies the requester reads in the portal and internal work
notes only the agents read, each written with a comment_added event in the request's hash-chained history.

The event carries the comment's id, visibility, length and the sha256 of its text (not the text: the
history an outsider may read stays free of notes), so the auditor sees a text altered after the fact
(`Comment.intact`). Who may read or post what is engine.access (may_comment, may_read_internal_notes).
Replies close with the request: afterwards the requester raises a new one; agents may still add notes.
`add_comment` is the one entry point, and returns the comment for whoever reacts to a reply (notifications).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from engine import access, clock
from engine.desk import notifications, request_facts
from engine.errors import Conflict, InvalidInput
from engine.process import history, runtime
from engine.status import InstanceStatus
from engine.store.conversation_models import RequestComment
from engine.store.models import HistoryEvent
from engine.users import Actor

REPLY = "reply"  # the requester reads it
INTERNAL = "internal"  # a work note: the agents (and auditors) only
VISIBILITIES = (REPLY, INTERNAL)
BODY_LIMIT = 10_000
PAGE_SIZE = 50
# Fields of a resolution step the requester is shown: the answer or what was done, and why it happened.
RESOLUTION_FIELDS = ("answer", "method", "actions", "cause")

_comments = cast(Table, RequestComment.__table__)
_events = cast(Table, HistoryEvent.__table__)


@dataclass(frozen=True)
class Comment:
    """One comment as stored; `intact` is False when its text no longer matches its history event."""

    id: int
    instance_id: int
    author: str
    visibility: str
    body: str
    created_at: dt.datetime
    intact: bool = True

    @property
    def is_internal(self) -> bool:
        return self.visibility == INTERNAL

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "instance_id": self.instance_id, "author": self.author,
                "visibility": self.visibility, "body": self.body, "created_at": self.created_at,
                "intact": self.intact}


@dataclass(frozen=True)
class Thread:
    """What a conversation panel shows one actor: the comments they may read (oldest first), what they may
    post, whether the request is closed, and its resolution (the last resolving step), if any."""

    instance_id: int
    comments: list[Comment]
    may_reply: bool
    may_note: bool
    shows_internal: bool
    is_closed: bool
    resolution: dict[str, Any] | None


def body_sha256(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def works_on(session: Session, request: access.RequestFacts, actor: Actor) -> bool:
    """Whether the actor sees one of the request's tasks (open or done) other than the requester's own (their
    answers, their survey): the fact the conversation rules weigh."""
    if not access.may_use_inbox(actor):
        return False  # a customer's tasks make them no agent
    for task in request_facts.tasks(session, request):
        if not access.is_initiators(task) and not access.answers_own_survey(task, actor) \
                and access.may_see_task(task, actor):
            return True
    return False


def shows_internal_notes(session: Session, request: access.RequestFacts, actor: Actor) -> bool:
    """Whether the actor reads the request's internal notes (else they are left out or redacted)."""
    if not access.may_use_inbox(actor):
        return False
    return access.may_read_internal_notes(request, actor, works_on_it=works_on(session, request, actor))


def check_body(body: str) -> str:
    """The text as stored: surrounding blank space trimmed; never empty, at most BODY_LIMIT characters."""
    text = body.strip()
    if not text:
        raise InvalidInput("the comment is empty", field_errors={"body": ["write something"]},
                           reason="comment_empty")
    if len(text) > BODY_LIMIT:
        raise InvalidInput(f"the comment is {len(text)} characters long; at most {BODY_LIMIT}",
                           field_errors={"body": [f"at most {BODY_LIMIT} characters"]}, reason="comment_too_long",
                           params={"length": len(text), "limit": BODY_LIMIT})
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate (JSON allows "\ud800"): no UTF-8 text
        raise InvalidInput("the comment is not valid Unicode text", field_errors={"body": ["not valid text"]},
                           reason="comment_not_text") from None
    if "\x00" in text:  # no database keeps it in text
        raise InvalidInput("the comment contains a NUL character", field_errors={"body": ["NUL character"]},
                           reason="comment_not_text")
    return text


@clock.one_instant
def add_comment(session: Session, *, instance_id: int, actor: Actor, body: str, visibility: str) -> Comment:
    """Post a reply or an internal note on a request: the row and its comment_added event, in this
    transaction (the caller commits). Replies only while the request is open."""
    request = request_facts.load(session, instance_id)
    works = works_on(session, request, actor)
    access.require_read_conversation(request, actor, works_on_it=works)  # first: a stranger learns nothing more
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}",
                           field_errors={"visibility": [f"one of {', '.join(VISIBILITIES)}"]},
                           reason="comment_visibility", params={"visibility": visibility})
    access.require_comment(request, actor, visibility, works_on_it=works)
    if visibility == REPLY and request.status != InstanceStatus.RUNNING:
        raise Conflict(f"request {instance_id} is closed ({request.status}): its conversation ended with it; "
                       "raise a new request if something remains", reason="conversation_closed",
                       params={"instance_id": instance_id})
    text = check_body(body)
    instance = runtime.load_instance(session, instance_id)
    now = clock.now()
    comment_id = int(session.connection().execute(_comments.insert().values(
        instance_id=instance_id, author=actor.username, visibility=visibility, body=text, created_at=now)
        .returning(_comments.c.id)).scalar_one())
    runtime.record_events(session, instance=instance, actor=actor.username, events=[(history.COMMENT_ADDED, {
        "comment_id": comment_id, "visibility": visibility, "length": len(text), "sha256": body_sha256(text)})])
    if visibility == REPLY:  # the other side hears of it (in the app, and by mail unless they opted out)
        notifications.reply_posted(session, instance=instance, author=actor.username, text=text)
    return Comment(comment_id, instance_id, actor.username, visibility, text, now)


# --- read side ------------------------------------------------------------------------------------

def _recorded_hashes(session: Session, instance_id: int) -> dict[int, str]:
    """comment id → the sha256 its comment_added event recorded."""
    rows = session.connection().execute(select(_events.c.payload).where(
        _events.c.instance_id == instance_id, _events.c.kind == history.COMMENT_ADDED))
    return {int(p["comment_id"]): str(p.get("sha256")) for (p,) in rows if isinstance(p, dict) and "comment_id" in p}


def _comments_query(instance_id: int, *, internal: bool, visibility: str | None) -> Any:
    query = select(_comments).where(_comments.c.instance_id == instance_id)
    if not internal:
        query = query.where(_comments.c.visibility == REPLY)
    if visibility:
        query = query.where(_comments.c.visibility == visibility)
    return query


def _with_check(rows: Any, recorded: dict[int, str]) -> list[Comment]:
    return [Comment(r.id, r.instance_id, r.author, r.visibility, r.body, r.created_at,
                    intact=recorded.get(r.id) == body_sha256(r.body)) for r in rows]


def comments_page(session: Session, *, instance_id: int, actor: Actor, visibility: str | None = None,
                  limit: int = PAGE_SIZE, offset: int = 0) -> tuple[list[Comment], int]:
    """A page of the comments the actor may read (oldest first) and how many there are; a customer never
    learns of internal notes (asking for them gives nothing)."""
    request = request_facts.load(session, instance_id)
    works = works_on(session, request, actor)
    access.require_read_conversation(request, actor, works_on_it=works)
    internal = access.may_read_internal_notes(request, actor, works_on_it=works)
    query = _comments_query(instance_id, internal=internal, visibility=visibility)
    total = session.connection().scalar(select(func.count()).select_from(query.subquery()))
    rows = session.connection().execute(query.order_by(_comments.c.id).limit(limit).offset(offset))
    return _with_check(rows, _recorded_hashes(session, instance_id)), int(total or 0)


def thread(session: Session, *, instance_id: int, actor: Actor) -> Thread:
    """The conversation panel of the request page."""
    request = request_facts.load(session, instance_id)
    works = works_on(session, request, actor)
    access.require_read_conversation(request, actor, works_on_it=works)
    return _thread(session, request, actor, works)


def panel(session: Session, *, instance_id: int, actor: Actor) -> Thread | None:
    """The panel of a task page: None for whoever sees the task but not the conversation (a customer
    deciding on a colleague's request)."""
    request = request_facts.load(session, instance_id)
    works = works_on(session, request, actor)
    if not access.may_read_conversation(request, actor, works_on_it=works):
        return None
    return _thread(session, request, actor, works)


def _thread(session: Session, request: request_facts.Request, actor: Actor, works: bool) -> Thread:
    internal = access.may_read_internal_notes(request, actor, works_on_it=works)
    rows = session.connection().execute(_comments_query(request.id, internal=internal, visibility=None)
                                        .order_by(_comments.c.id))
    comments = _with_check(rows, _recorded_hashes(session, request.id))
    is_open = request.status == InstanceStatus.RUNNING
    return Thread(request.id, comments,
                  may_reply=is_open and access.may_comment(request, actor, REPLY, works_on_it=works),
                  may_note=access.may_comment(request, actor, INTERNAL, works_on_it=works),
                  shows_internal=internal, is_closed=not is_open, resolution=resolution(session, request.id))


def for_audit(session: Session, instance_id: int) -> dict[int, Comment]:
    """Every comment of an instance by id, each checked against its event (the audit's history page, whose
    readers engine.access.require_audit has let in: they read internal notes too)."""
    rows = session.connection().execute(_comments_query(instance_id, internal=True, visibility=None))
    return {c.id: c for c in _with_check(rows, _recorded_hashes(session, instance_id))}


def resolution(session: Session, instance_id: int) -> dict[str, Any] | None:
    """The last step that resolved the request (its data says resolved): who, when, and the fields the
    requester is shown (RESOLUTION_FIELDS)."""
    rows = session.execute(select(_events.c.actor, _events.c.at, _events.c.payload).where(
        _events.c.instance_id == instance_id, _events.c.kind == history.TASK_COMPLETED).order_by(_events.c.seq.desc()))
    for row in rows:
        data = (row.payload or {}).get("data") or {}
        if data.get("resolved") is True:
            return {"form_key": row.payload.get("form_key"), "actor": row.actor, "at": row.at,
                    "data": {k: data[k] for k in RESOLUTION_FIELDS if data.get(k) not in (None, "")}}
    return None


# The events whose payload names a visibility, and the one visibility a customer may read.
_CUSTOMER_VISIBLE = {history.COMMENT_ADDED: REPLY, history.ATTACHMENT_ADDED: access.ATTACHMENT_VISIBILITIES[0]}


def redact(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History events (history.event_to_dict) as someone who may not read internal notes sees them: an
    internal note's or internal file's event keeps its place in the chain, nothing else (not its author,
    length, file name or hash)."""
    redacted = []
    for event in events:
        shown = _CUSTOMER_VISIBLE.get(event["kind"])
        if shown is not None and event["payload"].get("visibility") != shown:
            event = {**event, "actor": None, "payload": {"redacted": True}}
        redacted.append(event)
    return redacted
