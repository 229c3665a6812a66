"""The instance history: append-only events, each hash-chained to the previous one.

Every state change appends here inside the same transaction as the change itself. The chain
tail lives on the instance row, so appending never reads old events.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from engine import clock
from engine.store.direct import DirectStatement
from engine.store.models import HistoryEvent

# Event kinds; stable names, other tools read them.
INSTANCE_STARTED = "instance_started"
TASK_READY = "task_ready"
TASK_CLAIMED = "task_claimed"
TASK_RELEASED = "task_released"
TASK_ASSIGNED = "task_assigned"
TASK_COMPLETED = "task_completed"
TASK_CANCELLED = "task_cancelled"
GATEWAY_TAKEN = "gateway_taken"
TIMER_FIRED = "timer_fired"
INSTANCE_ENDED = "instance_ended"
INSTANCE_FAILED = "instance_failed"
REQUEST_CHASED = "request_chased"
FAULT_LEVEL_CHANGED = "fault_level_changed"
INSTANCE_MIGRATED = "instance_migrated"
COMPLAINT_RAISED = "complaint_raised"
# Knowledge base (engine.desk.knowledge): the case's solution, or a manager's "no reusable solution".
SOLUTION_LINKED = "solution_linked"
NO_REUSABLE_SOLUTION = "no_reusable_solution"
# Monitoring intake (engine.desk.alerts): the alert fired again, or monitoring says it is resolved.
ALERT_REPEATED = "alert_repeated"
ALERT_RESOLVED = "alert_resolved"

# Zones (engine.desk.zones): the service desk corrected a request's zone; the payload's engine_data is
# the routing the instance takes from then on (the replay's input).
ZONE_CORRECTED = "zone_corrected"

# Service-desk flows (engine.desk.handover, engine.desk.callback): the request went on as a request of another
# process; nobody answered the satisfaction call in time and the case closed by itself.
HANDED_OVER = "handed_over"
CASE_AUTO_CLOSED = "case_auto_closed"

# Attachments (engine.desk.attachments): a file added to the request (name, size, sha256; the bytes live in
# the attachment store). Not a workflow input: the audit's re-execution passes it by, the hash chain covers it.
ATTACHMENT_ADDED = "attachment_added"
# The conversation (engine.desk.conversation): a reply or an internal note; the payload holds the comment's
# id, visibility, length and the sha256 of its text (the text itself is in request_comment).
COMMENT_ADDED = "comment_added"


_INSERT_EVENTS = DirectStatement(insert(cast(Table, HistoryEvent.__table__)))


class ChainTail(Protocol):
    """Where an instance's chain ends: the instance row (ORM object or engine state)."""

    id: int
    last_event_seq: int
    last_event_hash: str


def canonical(event: dict[str, Any]) -> bytes:
    """The bytes the hash covers: every field but the hashes, with sorted keys."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(prev_hash: str, event: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(event)).hexdigest()


class Recorder:
    """Collects the events of one state change and writes them in one statement."""

    def __init__(self, instance: ChainTail):
        self.instance = instance
        self.rows: list[dict[str, Any]] = []

    def add(self, kind: str, *, actor: str | None, element_id: str | None = None,
            task_record_id: int | None = None, payload: dict[str, Any] | None = None,
            at: dt.datetime | None = None) -> None:
        instance = self.instance
        seq = instance.last_event_seq + 1
        event = {
            "instance_id": instance.id, "seq": seq, "kind": kind, "element_id": element_id,
            "task_record_id": task_record_id, "actor": actor,
            # UTC before hashing: the database gives times back in UTC, and the hash must survive that.
            "at": (at or clock.now()).astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "payload": payload or {},
        }
        digest = event_hash(instance.last_event_hash, event)
        self.rows.append({**event, "at": dt.datetime.fromisoformat(str(event["at"])),
                          "prev_hash": instance.last_event_hash, "hash": digest})
        instance.last_event_seq = seq
        instance.last_event_hash = digest

    def flush(self, session: Session) -> None:
        if self.rows:
            _INSERT_EVENTS.run(session, self.rows)
            self.rows = []


def events_of(session: Session, instance_id: int) -> list[HistoryEvent]:
    """All events of an instance in order."""
    return list(session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
                                .order_by(HistoryEvent.seq)))


def event_to_dict(event: HistoryEvent) -> dict[str, Any]:
    return {"seq": event.seq, "kind": event.kind, "at": event.at.isoformat(), "actor": event.actor,
            "element_id": event.element_id, "task_id": event.task_record_id, "payload": event.payload,
            "hash": event.hash}
