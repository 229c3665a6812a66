"""Hand-overs between the service-desk flows (issue 11): 事件分类 sends a level I fault to 应急服务, a case
needing a vendor to 第三方服务 and out-of-scope work to 其他服务 (which asks the customer's permission first).

The service desk's flow ends there, at an end event carrying the camunda:property `hand_over_to` (the
process id), and the request goes on as a new request of that process: raised by the same requester with the
same request form, in the same transaction. The link is in both histories: the new request starts with the
engine data `handed_over_from` (diagrams may read it, as 第三方服务 does to skip a second classification), and
the service desk's request records `handed_over` naming the new one.
"""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import users
from engine.desk.callback import end_property
from engine.process import history, hooks, runtime
from engine.store.models import HistoryEvent

HAND_OVER_TO = "hand_over_to"
HANDED_OVER = history.HANDED_OVER  # in the request handed over
LINK_VARIABLE = "handed_over_from"  # engine data of the request it goes on as

_linking: ContextVar[dict[str, Any] | None] = ContextVar("opsflow_handover", default=None)


def _request_data(session: Session, instance_id: int) -> tuple[dict[str, Any], str | None]:
    """The request form's data as the request was raised, and its form key."""
    payload = session.scalars(select(HistoryEvent.payload).where(
        HistoryEvent.instance_id == instance_id, HistoryEvent.kind == history.INSTANCE_STARTED)).one()
    return dict(payload.get("data") or {}), payload.get("form_key")


def hand_over(recorded: hooks.Recorded) -> None:
    """change_recorded: a request that ended at a hand-over goes on as a request of the process it names."""
    if recorded.end_element is None:
        return
    target = end_property(recorded.definition, recorded.end_element, HAND_OVER_TO)
    if target is None:
        return
    session, source = recorded.session, recorded.instance
    data, _form_key = _request_data(session, source.id)
    requester = users.actor(session, source.started_by or "")
    link = {"process_id": source.process_id, "instance_id": source.id, "by": recorded.actor}
    token = _linking.set(link)
    try:
        started = runtime.start_instance(session, process_id=target, data=data, actor=requester)
    finally:
        _linking.reset(token)
    runtime.record_events(session, instance=source, actor=recorded.actor or runtime.SYSTEM_ACTOR,
                          events=[(HANDED_OVER, {"process_id": target, "instance_id": started.id,
                                                 "end_element": recorded.end_element})])


def link_at_start(start: hooks.Start) -> dict[str, Any]:
    """instance_starting: a request started by a hand-over names the request it comes from."""
    link = _linking.get()
    return {LINK_VARIABLE: link} if link is not None else {}


def linked(session: Session, instance_id: int) -> dict[str, Any]:
    """Where a request was handed over to ({'to': …}) or came from ({'from': …}), for its pages."""
    found: dict[str, Any] = {}
    for kind, payload in session.execute(select(HistoryEvent.kind, HistoryEvent.payload).where(
            HistoryEvent.instance_id == instance_id,
            HistoryEvent.kind.in_((HANDED_OVER, history.INSTANCE_STARTED)))):
        if kind == HANDED_OVER:
            found["to"] = {"process_id": payload["process_id"], "instance_id": payload["instance_id"]}
        elif (payload.get("engine_data") or {}).get(LINK_VARIABLE):
            source = payload["engine_data"][LINK_VARIABLE]
            found["from"] = {"process_id": source["process_id"], "instance_id": source["instance_id"]}
    return found
