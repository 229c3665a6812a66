"""Notifications (engine.desk.notifications): each kind from a real step of a flow, written with the change (a
rollback leaves none), opt-outs per kind and channel, mail after commit with retries and backoff, never in a
request's way, one mail per notice with two senders (PostgreSQL), texts in Chinese and English."""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from engine import clock, users
from engine.audit import verification as audit
from engine.desk import case, notifications
from engine.desk import notification_texts as texts
from engine.errors import NotFound
from engine.process import definitions, runtime, timers
from engine.store.db import Database
from engine.store.models import ProcessInstance, User
from engine.store.notification_models import Notification
from tests.bpmn import helpers as h
from tests.support.flows import REQUEST, Flow
from tests.support.smtp_sink import silent_server, smtp_sink

T0 = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def no_mail_left_in_flight() -> Iterator[None]:
    yield
    notifications.wait_for_sends()


@pytest.fixture
def people(bundled: Database) -> Database:
    """The demo users plus a second engineer, a second service-desk agent and an engineers' manager (lead), some
    with an address."""
    with bundled.transaction() as session:
        users.create_user(session, username="eng2", password="pw", groups=["engineer"], email="eng2@ops.example",
                          locale="en")
        users.create_user(session, username="desk2", password="pw", groups=["service_desk"],
                          email="desk2@ops.example")
        users.create_user(session, username="lead", password="pw", groups=["engineer", "service_manager"])
        for name, address in [("requester", "req@hospital.example"), ("engineer", "eng@ops.example")]:
            session.execute(update(User).where(User.username == name).values(email=address))
    return bundled


def rows(db: Database, **where: Any) -> list[Notification]:
    with db.transaction() as session:
        query = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return list(session.scalars(query))


def recipients(db: Database, kind: str, instance_id: int) -> list[str]:
    return sorted(n.username for n in rows(db, kind=kind, instance_id=instance_id))


def number_of(db: Database, instance_id: int) -> str:
    with db.transaction() as session:
        return str(session.scalar(select(ProcessInstance.number).where(ProcessInstance.id == instance_id)))


def act(db: Database, name: str) -> users.Actor:
    with db.transaction() as session:
        return users.actor(session, name)


def test_every_kind_comes_from_a_real_step(people: Database) -> None:
    db = people
    flow = Flow(db, "service_desk")
    assert recipients(db, "request_opened", flow.id) == ["desk2", "service_desk"]  # the desk, not the requester
    h.drive(flow, [h.Step("accept", h.accept(), "service_desk"), h.Step("classify", h.classify(), "service_desk")])
    task_id = flow.task_id("remote_fix")
    with db.transaction() as session:
        runtime.claim_task(session, task_id=task_id, actor=users.actor(session, "engineer"))
    assert rows(db, kind="task_released") == []  # a claim tells nobody
    with db.transaction() as session:
        runtime.release_task(session, task_id=task_id, actor=users.actor(session, "engineer"))
    released = rows(db, kind="task_released")
    assert [(n.username, n.task_id, n.params["actor"]) for n in released] == [
        ("eng2", task_id, "engineer"), ("lead", task_id, "engineer")]  # the group, but not who released it
    with db.transaction() as session:
        runtime.assign_task(session, task_id=task_id, assignee=users.actor(session, "eng2"),
                            actor=users.actor(session, "lead"))
    assigned = rows(db, kind="task_assigned")
    assert [(n.username, n.task_id, n.params["task"]) for n in assigned] == [("eng2", task_id, "远程解决")]
    with db.transaction() as session:
        case.chase_request(session, instance_id=flow.id, actor=users.actor(session, "requester"), note="还没好")
    chased = rows(db, kind="request_chased")
    assert sorted(n.username for n in chased) == ["desk2", "eng2", "service_desk"]  # the holder and the desk
    assert {n.params["count"] for n in chased} == {1} and chased[0].params["note"] == "还没好"
    flow.complete("remote_fix", h.resolution(resolved=True), "eng2")
    assert recipients(db, "request_resolved", flow.id) == ["requester"]
    survey = rows(db, kind="survey_requested")
    assert [(n.username, n.task_id) for n in survey] == [("requester", flow.task_id("satisfaction"))]
    with db.transaction() as session:  # the notices are beside the history: every instance still verifies
        assert audit.verify_instance(session, flow.id).ok


def test_a_task_made_ready_for_a_named_engineer_tells_them(people: Database) -> None:
    flow = Flow(people, "service_desk")
    h.drive(flow, [h.Step("accept", h.accept(), "service_desk"), h.Step("classify", h.classify(), "service_desk"),
                   h.Step("remote_fix", h.resolution(resolved=False), "engineer"),
                   h.Step("dispatch_onsite", h.dispatch_onsite("eng2"), "service_desk")])
    assigned = rows(people, kind="task_assigned")
    assert [(n.username, n.task_id) for n in assigned] == [("eng2", flow.task_id("onsite_fix"))]
    assert rows(people, kind="request_resolved") == []  # resolved: False is no resolution


def test_sla_warning_and_escalation_tell_their_groups(sqlite_db: Database) -> None:
    db = sqlite_db
    diagram = (Path(__file__).parent / "diagrams" / "sla.bpmn").read_bytes()
    with db.transaction() as session:
        for name, group in [("requester", "requester"), ("desk", "service_desk"), ("eng", "engineer"),
                            ("svcmgr", "service_manager")]:
            users.create_user(session, username=name, password="pw", groups=[group])
        definitions.deploy(session, [definitions.SourceFile("sla.bpmn", diagram)])
    with clock.frozen(T0) as advance:
        flow = Flow(db, "sla_test")
        flow.complete("classify", {"category": "fault", "fault_level": "I"}, "desk")
        advance(dt.timedelta(hours=24, seconds=1))
        with db.transaction() as session:
            due = timers.due_soon(session, clock.now())
        for timer_id, _ in due:
            with db.transaction() as session:
                runtime.fire_timer(session, timer_id=timer_id, fired_by="test")
    warnings = rows(db, kind="sla_warning")
    assert sorted((n.username, n.params.get("step")) for n in warnings) == [("eng", None), ("svcmgr", 1)]
    assert all(n.task_id and n.email_state == "skipped" for n in warnings)  # nobody has an address, mail is off


def test_a_change_that_rolls_back_leaves_no_notice(people: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), people.transaction() as session:
        runtime.start_instance(session, process_id="service_desk", data=dict(REQUEST),
                               actor=users.actor(session, "requester"))
        assert session.scalars(select(Notification)).all()  # written in the change's transaction …
        raise Boom
    assert rows(people) == []  # … and gone with it


def test_opt_outs_per_kind_and_channel_and_users_without_an_address(people: Database,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OPSFLOW_SMTP_PORT", "9")  # nothing listens: the attempt fails, the request does not
    with people.transaction() as session:
        prefs = notifications.preferences(session, actor=users.actor(session, "desk2"))
        assert prefs["request_opened"] == {"email": True, "in_app": True}
        prefs["request_opened"]["email"] = False
        notifications.set_preferences(session, actor=users.actor(session, "desk2"), enabled=prefs)
        everything_off = {kind: {"email": False, "in_app": False} for kind in notifications.KINDS}
        notifications.set_preferences(session, actor=users.actor(session, "service_desk"), enabled=everything_off)
    flow = Flow(people, "service_desk")
    opened = rows(people, kind="request_opened", instance_id=flow.id)
    # desk2: in the app only; the demo service_desk turned everything off: no row at all.
    assert [(n.username, n.in_app, n.email_state) for n in opened] == [("desk2", True, "skipped")]
    with people.transaction() as session:
        prefs = notifications.preferences(session, actor=users.actor(session, "desk2"))
        prefs["request_opened"] = {"email": True, "in_app": False}
        notifications.set_preferences(session, actor=users.actor(session, "desk2"), enabled=prefs)
        notifications.set_preferences(session, actor=users.actor(session, "service_desk"),
                                      enabled={k: {"email": True, "in_app": True} for k in notifications.KINDS})
    second = Flow(people, "service_desk")
    opened = rows(people, kind="request_opened", instance_id=second.id)
    # desk2 by mail only (hidden from the list); the demo agent has no address: in the app only.
    assert [(n.username, n.in_app, n.email_state != "skipped") for n in opened] == [
        ("desk2", False, True), ("service_desk", True, False)]
    with people.transaction() as session:
        listed, total, unread = notifications.list_for(session, actor=users.actor(session, "desk2"))
        assert total == 1 and unread == 1 and listed[0]["instance_id"] == flow.id


def test_retries_with_backoff_until_the_relay_takes_it(people: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    bind = people.engine
    with smtp_sink() as (port, sink):
        monkeypatch.setenv("OPSFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("OPSFLOW_SMTP_PORT", str(port))
        monkeypatch.setattr(notifications, "send_soon", lambda bind, ids: None)  # the job alone, step by step
        sink.fail_next = 2  # 451 twice, then it accepts
        with clock.frozen(T0) as advance:
            flow = Flow(people, "service_desk")
            (row,) = rows(people, kind="request_opened", username="desk2")
            assert (row.email_state, row.attempts, row.next_attempt_at) == ("pending", 0, T0)
            assert notifications.deliver_due(bind).retried == 1
            (row,) = rows(people, id=row.id)
            assert (row.attempts, row.next_attempt_at, row.email_state) == (1, T0 + dt.timedelta(minutes=1), "pending")
            assert "451" in (row.last_error or "")
            advance(dt.timedelta(seconds=59))
            assert notifications.deliver_due(bind) == notifications.Delivery()  # not due yet
            advance(dt.timedelta(seconds=1))
            assert notifications.deliver_due(bind).retried == 1
            (row,) = rows(people, id=row.id)
            assert row.next_attempt_at == T0 + dt.timedelta(minutes=1 + 2)  # doubled
            advance(dt.timedelta(minutes=2))
            assert notifications.deliver_due(bind).sent == 1
            (row,) = rows(people, id=row.id)
            assert (row.email_state, row.attempts, row.last_error, row.sent_at) == ("sent", 3, None, clock.now())
            assert notifications.deliver_due(bind) == notifications.Delivery()  # sent once, never again
    message = sink.messages[0].message()
    assert sink.messages[0].rcpt_to == ["desk2@ops.example"] and len(sink.messages) == 1
    assert str(message["Subject"]) == f"【新请求】{number_of(people, flow.id)}「HIS 无法登录」"  # desk2 reads Chinese
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_last_attempt_fails_for_good_and_a_permanent_refusal_at_once(
        people: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    bind = people.engine
    with smtp_sink() as (port, sink):
        monkeypatch.setenv("OPSFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("OPSFLOW_SMTP_PORT", str(port))
        monkeypatch.setattr(notifications, "send_soon", lambda bind, ids: None)
        sink.fail_next = 100
        with clock.frozen(T0) as advance:
            Flow(people, "service_desk")
            for attempt in range(1, notifications.MAX_ATTEMPTS + 1):
                done = notifications.deliver_due(bind)
                assert (done.retried, done.failed) == ((1, 0) if attempt < notifications.MAX_ATTEMPTS else (0, 1))
                advance(notifications.LONGEST_RETRY)
            (row,) = rows(people, kind="request_opened", username="desk2")
            assert (row.email_state, row.attempts, row.next_attempt_at) == ("failed", notifications.MAX_ATTEMPTS, None)
            sink.fail_code = 550
            Flow(people, "service_desk")
            assert notifications.deliver_due(bind).failed == 1  # 5xx: the relay will say the same again
    assert sink.messages == []


def test_a_hanging_relay_never_holds_up_a_request(people: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with silent_server() as port:
        monkeypatch.setenv("OPSFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("OPSFLOW_SMTP_PORT", str(port))
        monkeypatch.setenv("OPSFLOW_SMTP_TIMEOUT", "3")
        began = time.perf_counter()
        flow = Flow(people, "service_desk")  # commits, then queues the mail on a worker thread
        took = time.perf_counter() - began
        assert took < 1.0, f"starting a request took {took:.2f} s with the relay hanging"
        assert flow.status() == "running"
        notifications.wait_for_sends(timeout=10)
    (row,) = rows(people, kind="request_opened", username="desk2")
    assert (row.email_state, row.attempts) == ("pending", 1) and "timed out" in (row.last_error or "")


def test_mail_goes_out_right_after_commit_in_the_recipients_language(people: Database,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_sink() as (port, sink):
        monkeypatch.setenv("OPSFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("OPSFLOW_SMTP_PORT", str(port))
        monkeypatch.setenv("OPSFLOW_BASE_URL", "https://ops.example/")
        flow = Flow(people, "service_desk")
        h.drive(flow, [h.Step("accept", h.accept(), "service_desk"),
                       h.Step("classify", h.classify(), "service_desk")])
        task_id = flow.task_id("remote_fix")
        with people.transaction() as session:
            runtime.assign_task(session, task_id=task_id, assignee=users.actor(session, "eng2"),
                                actor=users.actor(session, "lead"))
        notifications.wait_for_sends()
    mails = {tuple(m.rcpt_to): m.message() for m in sink.messages}
    assert sorted(mails) == [("desk2@ops.example",), ("eng2@ops.example",)]
    english = mails[("eng2@ops.example",)]
    assert str(english["Subject"]).startswith("Assigned to you:")
    assert f"https://ops.example/tasks/{task_id}" in english.get_content()
    assert "退订" not in english.get_content() and "turn this kind of notice off" in english.get_content()
    assert {n.email_state for n in rows(people) if n.username in ("desk2", "eng2")} == {"sent"}


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_two_senders_never_send_one_notice_twice(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with db.transaction() as session:
        users.create_user(session, username="requester", password="pw", groups=["requester"])
        for n in range(40):
            users.create_user(session, username=f"agent{n}", password="pw", groups=["service_desk"],
                              email=f"agent{n}@ops.example")
        from engine import bootstrap
        from tests.conftest import BPMN_DIR
        bootstrap.deploy_directory(session, BPMN_DIR, user="test")
    with smtp_sink() as (port, sink):
        monkeypatch.setenv("OPSFLOW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("OPSFLOW_SMTP_PORT", str(port))
        monkeypatch.setattr(notifications, "send_soon", lambda bind, ids: None)
        for _ in range(3):
            Flow(db, "service_desk")
        assert len(rows(db, email_state="pending")) == 120
        barrier = threading.Barrier(2)
        results: list[notifications.Delivery] = []

        def sender() -> None:
            barrier.wait()
            done = notifications.Delivery()
            while (batch := notifications.deliver_due(db.engine, limit=7)) != notifications.Delivery():
                done.sent += batch.sent
            results.append(done)

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    sent = Counter(m.message()["Message-ID"] for m in sink.messages)
    assert len(sent) == 120 and max(sent.values()) == 1, "a notice was mailed twice"
    assert sum(r.sent for r in results) == 120 and all(r.sent for r in results)  # both senders did some
    assert {n.email_state for n in rows(db)} == {"sent"} and {n.attempts for n in rows(db)} == {1}


@pytest.mark.parametrize("locale", texts.LOCALES)
@pytest.mark.parametrize("kind", texts.KINDS)
def test_every_kind_reads_well_in_both_languages(kind: str, locale: str) -> None:
    params = {"title": "HIS 无法登录\r\nBcc: evil@example.com", "task": "远程处理", "group": "engineer",
              "actor": "engineer", "count": 2, "note": "快点", "step": 1, "fault_level": "I", "excerpt": "快点"}
    subject = texts.subject(kind, params, instance_id=42, locale=locale)
    body = texts.body(kind, params, instance_id=42, locale=locale, link="https://ops.example/tasks/7")
    assert "#42" in subject and "\n" not in subject and "\r" not in subject  # no header injection
    assert "{" not in subject + body and "}" not in subject + body
    assert "https://ops.example/tasks/7" in body
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in body.replace("HIS 无法登录", "").replace("远程处理", "")
                  .replace("快点", ""))
    assert chinese == (locale == "zh_CN"), body


def test_a_request_is_named_by_its_number_once_it_has_one() -> None:
    params = {"title": "HIS 无法登录"}
    assert texts.subject("request_opened", params, instance_id=42, locale="en",
                         number="INC-2026-000042") == "New request INC-2026-000042: HIS 无法登录"
    assert texts.subject("request_opened", params, instance_id=42, locale="zh_CN") == "【新请求】#42「HIS 无法登录」"


def _reply(db: Database, flow: Flow, who: str, body: str, visibility: str = "reply") -> None:
    from engine.desk import conversation
    with db.transaction() as session:
        conversation.add_comment(session, instance_id=flow.id, actor=users.actor(session, who), body=body,
                                 visibility=visibility)


def test_a_reply_tells_the_other_side(people: Database) -> None:
    flow = Flow(people, "service_desk")
    number = number_of(people, flow.id)
    # The desk's reply tells the requester, with its words, and leads to their own request page.
    _reply(people, flow, "service_desk", "请先重启客户端再试一次。\n如仍不行请回复。")
    [to_requester] = rows(people, kind="reply_posted", instance_id=flow.id)
    assert to_requester.username == "requester" and to_requester.task_id is None
    with people.transaction() as session:
        [listed] = [n for n in notifications.list_for(session, actor=users.actor(session, "requester"),
                                                      locale="zh_CN")[0] if n["kind"] == "reply_posted"]
    assert listed["text"] == f"【新回复】请求 {number}「HIS 无法登录」"
    assert listed["link"] == f"/portal/requests/{flow.id}"
    body = texts.body("reply_posted", to_requester.params, instance_id=flow.id, locale="zh_CN", number=number)
    assert "service_desk 在服务请求" in body and "请先重启客户端再试一次。 如仍不行请回复。" in body
    # Internal notes tell nobody.
    _reply(people, flow, "service_desk", "内部：怀疑证书过期", visibility="internal")
    assert len(rows(people, kind="reply_posted", instance_id=flow.id)) == 1
    # The requester's answer goes to the service desk while nobody holds a task (linked to the open task) …
    _reply(people, flow, "requester", "重启后仍然无法登录")
    to_desk = rows(people, kind="reply_posted", instance_id=flow.id)[1:]
    assert sorted(n.username for n in to_desk) == ["desk2", "service_desk"]
    [accept] = [task["id"] for task in flow.open_tasks()]
    assert {n.task_id for n in to_desk} == {accept}
    # … and to whoever holds the request's task once someone does.
    with people.transaction() as session:
        runtime.claim_task(session, task_id=accept, actor=users.actor(session, "desk2"))
    _reply(people, flow, "requester", "还有一个问题")
    [to_holder] = rows(people, kind="reply_posted", instance_id=flow.id)[3:]
    assert (to_holder.username, to_holder.task_id) == ("desk2", accept)


def test_the_list_and_marking_read_are_the_recipients_own(people: Database) -> None:
    Flow(people, "service_desk")
    second = Flow(people, "service_desk")
    number = number_of(people, second.id)
    desk2, other = act(people, "desk2"), act(people, "service_desk")
    with people.transaction() as session:
        listed, total, unread = notifications.list_for(session, actor=desk2, locale="en")
        assert (total, unread) == (2, 2) and listed[0]["id"] > listed[1]["id"]  # newest first
        assert listed[0]["text"] == f"New request {number}: HIS 无法登录"
        assert listed[0]["link"] == "/inbox"
        with pytest.raises(NotFound):
            notifications.mark_read(session, actor=other, notification_id=listed[0]["id"])
        assert notifications.mark_read(session, actor=desk2, notification_id=listed[0]["id"]) == 1
        assert notifications.unread_count(session, actor=desk2) == 1
        assert notifications.unread_count(session, actor=other) == 2  # untouched
        assert notifications.mark_read(session, actor=desk2) == 1
        assert notifications.list_for(session, actor=desk2, unread_only=True)[1] == 0


def test_smtp_settings_are_checked() -> None:
    from engine.desk import notify

    settings = notify.settings_from_env({"OPSFLOW_SMTP_HOST": "mail.example", "OPSFLOW_SMTP_PORT": "587",
                                         "OPSFLOW_SMTP_SECURITY": "STARTTLS", "OPSFLOW_SMTP_USER": "ops",
                                         "OPSFLOW_SMTP_PASSWORD": "s3cret", "OPSFLOW_SMTP_FROM": "ops@example.com"})
    assert settings is not None and (settings.security, settings.user, settings.port) == ("starttls", "ops", 587)
    assert "s3cret" not in repr(settings)
    for bad, message in [({"OPSFLOW_SMTP_SECURITY": "tls"}, "OPSFLOW_SMTP_SECURITY"),
                         ({"OPSFLOW_SMTP_USER": "ops"}, "OPSFLOW_SMTP_PASSWORD"),
                         ({"OPSFLOW_SMTP_TIMEOUT": "0"}, "OPSFLOW_SMTP_TIMEOUT")]:
        with pytest.raises(ValueError, match=message):
            notify.settings_from_env({"OPSFLOW_SMTP_HOST": "mail.example", **bad})
