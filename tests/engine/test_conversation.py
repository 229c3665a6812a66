"""The conversation on a request (engine.desk.conversation): who may post and read replies and internal
notes, the text's limits, replies closing with the request, the comment_added event (hash of the text) and
the audit still verifying, an altered text showing, internal notes redacted from a requester's history."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, update

from engine import access, users
from engine.audit import verification as audit
from engine.desk import conversation, tasks
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.store.conversation_models import RequestComment
from engine.store.db import Database
from engine.store.models import HistoryEvent
from engine.users import Actor
from tests.bpmn import helpers as h
from tests.support.flows import Flow

TO_REMOTE_FIX = [("accept", h.accept(), "service_desk"), ("classify", h.classify(), "service_desk")]


def post(db: Database, flow: Flow, who: str, body: str, visibility: str = conversation.REPLY
         ) -> conversation.Comment:
    with db.transaction() as session:
        return conversation.add_comment(session, instance_id=flow.id, actor=users.actor(session, who), body=body,
                                        visibility=visibility)


def seen_by(db: Database, flow: Flow, who: str) -> list[tuple[str, str]]:
    with db.transaction() as session:
        thread = conversation.thread(session, instance_id=flow.id, actor=users.actor(session, who))
    return [(c.visibility, c.body) for c in thread.comments]


def at_remote_fix(db: Database) -> Flow:
    """A service-desk request raised by `requester`, accepted and classified: the engineers' remote fix is open."""
    flow = Flow(db, "service_desk")
    for element, data, user in TO_REMOTE_FIX:
        flow.complete(element, data, user)
    return flow


def closed_request(db: Database) -> Flow:
    flow = at_remote_fix(db)
    flow.complete("remote_fix", h.resolution(resolved=True), "engineer")
    flow.allow_closing()  # a manager: no reusable solution (seed 003)
    flow.complete("satisfaction", h.satisfaction(remaining_problem=False), "service_desk")
    assert flow.status() == "completed"
    return flow


@pytest.fixture
def stranger(bundled: Database) -> str:
    """A second customer, of another organisation."""
    with bundled.transaction() as session:
        users.create_user(session, username="requester2", password="pw", groups=["requester"])
    return "requester2"


def verified(db: Database, flow: Flow) -> None:
    with db.transaction() as session:
        verdict = audit.verify_instance(session, flow.id)
    assert verdict.ok, verdict.first_divergence


# --- posting: who, what, the limits ----------------------------------------------------------------

def test_agent_note_and_reply_requester_sees_only_the_reply_and_answers(bundled: Database) -> None:
    flow = at_remote_fix(bundled)
    note = post(bundled, flow, "engineer", "日志里有连接池耗尽的报错", conversation.INTERNAL)
    reply = post(bundled, flow, "engineer", "  我们正在远程排查，请保持电话畅通。\n")
    assert reply.body == "我们正在远程排查，请保持电话畅通。"  # trimmed
    answer = post(bundled, flow, "requester", "好的，下午都在。")
    assert seen_by(bundled, flow, "requester") == [("reply", reply.body), ("reply", answer.body)]
    everything = [("internal", note.body), ("reply", reply.body), ("reply", answer.body)]
    for agent in ("engineer", "service_desk", "auditor", "process_owner"):
        assert seen_by(bundled, flow, agent) == everything, agent
    events = flow.events("comment_added")
    assert [(e["actor"], e["payload"]["visibility"], e["payload"]["comment_id"]) for e in events] == [
        ("engineer", "internal", note.id), ("engineer", "reply", reply.id), ("requester", "reply", answer.id)]
    assert events[1]["payload"]["sha256"] == hashlib.sha256(reply.body.encode()).hexdigest()
    assert events[1]["payload"]["length"] == len(reply.body)
    assert "body" not in events[0]["payload"]  # the history keeps the hash, the table the text
    verified(bundled, flow)


def test_the_requester_may_not_post_internal_notes(bundled: Database) -> None:
    flow = at_remote_fix(bundled)
    with pytest.raises(Forbidden) as refused:
        post(bundled, flow, "requester", "只给工程师看", conversation.INTERNAL)
    assert refused.value.reason == "comment_forbidden"
    assert flow.events("comment_added") == []


def test_another_customer_learns_nothing(bundled: Database, stranger: str) -> None:
    flow = at_remote_fix(bundled)
    post(bundled, flow, "service_desk", "已受理")
    for visibility in conversation.VISIBILITIES:
        with pytest.raises(Forbidden) as refused:
            post(bundled, flow, stranger, "我也要说", visibility)
        assert refused.value.reason == "request_of_someone_else"
    with bundled.transaction() as session, pytest.raises(Forbidden) as reading:
        conversation.thread(session, instance_id=flow.id, actor=users.actor(session, stranger))
    assert reading.value.reason == "request_of_someone_else"
    with bundled.transaction() as session, pytest.raises(Forbidden):
        conversation.comments_page(session, instance_id=flow.id, actor=users.actor(session, stranger))


def test_an_agent_who_never_saw_a_task_of_the_request_may_not_post(bundled: Database) -> None:
    flow = Flow(bundled, "service_desk")  # the service desk's accept is open: nothing for the engineers yet
    with pytest.raises(Forbidden):
        post(bundled, flow, "engineer", "看看")
    flow.complete("accept", h.accept(), "service_desk")
    flow.complete("classify", h.classify(), "service_desk")
    assert post(bundled, flow, "engineer", "看看", conversation.INTERNAL).id  # remote_fix is the engineers'


def test_staff_raising_a_request_of_their_own_are_its_requester_there(bundled: Database) -> None:
    """A vendor engineer's own request waits on their permission (a task of theirs as its requester): that
    makes them no agent of it — replies only, no internal notes."""
    with bundled.transaction() as session:
        users.create_user(session, username="vendor_raiser", password="pw", groups=["vendor"])
    flow = Flow(bundled, "other_service", user="vendor_raiser")
    for element, data, user in (("record_analyse", h.record_analyse(), "service_desk"),
                                ("onsite_check", h.onsite_check(), "engineer"),
                                ("feasible_plan", h.feasible_plan(), "engineer"),
                                ("ask_permission", h.ask_permission(), "project_manager")):
        flow.complete(element, data, user)
    assert flow.open_elements() == ["customer_permission"]
    note = post(bundled, flow, "engineer", "停机窗口需要客户签字", conversation.INTERNAL)
    with pytest.raises(Forbidden):
        post(bundled, flow, "vendor_raiser", "我也是工程师", conversation.INTERNAL)
    reply = post(bundled, flow, "vendor_raiser", "周六可以停机")
    assert seen_by(bundled, flow, "vendor_raiser") == [("reply", reply.body)]
    assert ("internal", note.body) in seen_by(bundled, flow, "engineer")


def test_auditors_read_but_never_write(bundled: Database) -> None:
    flow = at_remote_fix(bundled)
    for visibility in conversation.VISIBILITIES:
        with pytest.raises(Forbidden) as refused:
            post(bundled, flow, "auditor", "审计意见", visibility)
        assert refused.value.reason == "auditor_read_only"
    with bundled.transaction() as session:
        thread = conversation.thread(session, instance_id=flow.id, actor=users.actor(session, "auditor"))
    assert (thread.may_reply, thread.may_note, thread.shows_internal) == (False, False, True)


@pytest.mark.parametrize(("body", "reason"), [
    ("", "comment_empty"), (" \n\t ", "comment_empty"), ("x" * (conversation.BODY_LIMIT + 1), "comment_too_long"),
    ("a\x00b", "comment_not_text"), ("\ud800", "comment_not_text"),
])
def test_the_text_must_be_there_and_within_limits(bundled: Database, body: str, reason: str) -> None:
    flow = at_remote_fix(bundled)
    with pytest.raises(InvalidInput) as refused:
        post(bundled, flow, "requester", body)
    assert refused.value.reason == reason
    assert list(refused.value.field_errors) == ["body"]
    assert flow.events("comment_added") == []


def test_the_limit_itself_is_allowed(bundled: Database) -> None:
    flow = at_remote_fix(bundled)
    assert len(post(bundled, flow, "requester", "字" * conversation.BODY_LIMIT).body) == conversation.BODY_LIMIT


def test_an_unknown_visibility_or_request(bundled: Database) -> None:
    flow = at_remote_fix(bundled)
    with pytest.raises(InvalidInput) as refused:
        post(bundled, flow, "service_desk", "hi", "public")
    assert refused.value.reason == "comment_visibility"
    with bundled.transaction() as session, pytest.raises(NotFound):
        conversation.add_comment(session, instance_id=flow.id + 1000, actor=users.actor(session, "service_desk"),
                                 body="hi", visibility=conversation.REPLY)


# --- a closed request ------------------------------------------------------------------------------

def test_replies_end_with_the_request_internal_notes_go_on(bundled: Database) -> None:
    flow = closed_request(bundled)
    for who in ("requester", "service_desk"):
        with pytest.raises(Conflict) as refused:
            post(bundled, flow, who, "还有一个问题")
        assert refused.value.reason == "conversation_closed"
    note = post(bundled, flow, "service_desk", "客户来电补充：已恢复正常", conversation.INTERNAL)
    assert seen_by(bundled, flow, "service_desk") == [("internal", note.body)]
    assert seen_by(bundled, flow, "requester") == []
    with bundled.transaction() as session:
        thread = conversation.thread(session, instance_id=flow.id, actor=users.actor(session, "requester"))
    assert thread.is_closed and not thread.may_reply and not thread.may_note
    assert thread.resolution is not None
    assert thread.resolution["data"] == {"method": "remote", "actions": "远程重启应用服务并清理会话"}
    assert thread.resolution["actor"] == "engineer"
    verified(bundled, flow)  # a note after the end is no workflow input: the audit accepts it


# --- integrity and redaction -----------------------------------------------------------------------

def test_an_altered_text_shows_and_an_altered_event_breaks_the_chain(bundled: Database) -> None:
    flow = at_remote_fix(bundled)
    reply = post(bundled, flow, "service_desk", "工程师明天上午到场")
    with bundled.transaction() as session:
        session.execute(update(RequestComment).where(RequestComment.id == reply.id).values(body="工程师下周到场"))
    with bundled.transaction() as session:
        shown = conversation.thread(session, instance_id=flow.id, actor=users.actor(session, "auditor")).comments
        audited = conversation.for_audit(session, flow.id)
    assert [c.intact for c in shown] == [False]
    assert audited[reply.id].intact is False
    verified(bundled, flow)  # the chain itself is whole: the text is what changed
    with bundled.transaction() as session:
        event = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == flow.id,
                                                           HistoryEvent.kind == "comment_added")).one()
        event.payload = {**event.payload, "sha256": hashlib.sha256("工程师下周到场".encode()).hexdigest()}
    with bundled.transaction() as session:
        verdict = audit.verify_instance(session, flow.id)
    assert not verdict.chain_ok and verdict.first_divergence is not None
    assert verdict.first_divergence.kind == "comment_added"


def test_the_requesters_history_redacts_internal_notes(bundled: Database) -> None:
    flow = at_remote_fix(bundled)
    post(bundled, flow, "engineer", "客户的配置有问题，别告诉他", conversation.INTERNAL)
    post(bundled, flow, "engineer", "正在处理")

    def history(who: str) -> list[dict[str, object]]:
        with bundled.transaction() as session:
            events, _ = tasks.visible_history(session, instance_id=flow.id, actor=users.actor(session, who),
                                              limit=500, offset=0)
        return [e for e in events if e["kind"] == "comment_added"]

    theirs = history("requester")
    assert (theirs[0]["actor"], theirs[0]["payload"]) == (None, {"redacted": True})
    assert theirs[1]["payload"]["visibility"] == "reply" and theirs[1]["actor"] == "engineer"
    assert history("service_desk")[0]["payload"]["visibility"] == "internal"
    with bundled.transaction() as session:
        page, total = conversation.comments_page(session, instance_id=flow.id, actor=users.actor(session, "requester"),
                                                 visibility=conversation.INTERNAL)
    assert (page, total) == ([], 0)  # asking for internal notes gives a customer nothing


# --- the rules themselves ----------------------------------------------------------------------------

REQUEST = access.Task(1, 1, "", "", None, None, "alice", None)  # only id and started_by matter


@pytest.mark.parametrize(("groups", "username", "works", "reply", "note", "reads", "internal"), [
    ({"requester"}, "alice", False, True, False, True, False),  # the requester
    ({"requester"}, "bob", False, False, False, False, False),  # another customer
    ({"requester"}, "bob", True, False, False, False, False),  # a customer deciding on a colleague's request
    ({"engineer", "requester"}, "alice", False, True, False, True, False),  # staff raising their own request
    ({"engineer"}, "eve", True, True, True, True, True),  # the agent working on it
    ({"engineer"}, "eve", False, False, False, False, False),  # an engineer elsewhere
    ({"service_desk"}, "sd", False, True, True, True, True),  # the service desk takes every request
    ({"auditor"}, "aud", True, False, False, True, True),
    ({"process_owner"}, "po", False, False, False, True, True),  # an overseer reads
])
def test_conversation_rules(groups: set[str], username: str, works: bool, reply: bool, note: bool, reads: bool,
                            internal: bool) -> None:
    actor = Actor(username, frozenset(groups))
    assert access.may_comment(REQUEST, actor, "reply", works_on_it=works) is reply
    assert access.may_comment(REQUEST, actor, "internal", works_on_it=works) is note
    assert access.may_read_conversation(REQUEST, actor, works_on_it=works) is reads
    assert access.may_read_internal_notes(REQUEST, actor, works_on_it=works) is internal
