"""The conversation panel (macros/conversation.html) on the portal's request page and the agent's task page,
posting through app/conversation, the audit page's comment events, and /api/v1/instances/{id}/comments."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import database
from engine.desk import conversation
from engine.errors import Conflict
from engine.store.customer_models import Customer
from tests.app.conftest import (
    PASSWORD,
    at_remote_fix,
    complete,
    csrf_token_on,
    open_task,
    start_request,
    visible_text,
)
from tests.app.test_api import Call, assert_problem, make_token, start
from tests.bpmn import helpers as h
from tests.support.flows import REQUEST, allow_closing

NOTE = "内部：客户的交换机固件过旧"
REPLY = "工程师将在今天下午远程处理。"


@pytest.fixture
def api(app: Flask) -> Callable[..., Call]:
    """api("engineer")(method, path, json=…) -> response, with a fresh token of that user (as tests/app/test_api)."""
    def for_user(username: str) -> Call:
        secret, client = make_token(app, username), app.test_client()
        return lambda method, path, **kwargs: client.open(f"/api/v1{path}", method=method,
                                                          headers={"Authorization": f"Bearer {secret}"}, **kwargs)
    return for_user


def say(client: FlaskClient, instance_id: int, body: str, visibility: str | None = None,
        back: str | None = None) -> Any:
    data = {"body": body, **({"visibility": visibility} if visibility else {}), **({"next": back} if back else {})}
    return client.post(f"/requests/{instance_id}/comments", data=data)


def test_agent_notes_and_replies_the_requester_sees_replies_and_answers(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, remote_fix = at_remote_fix(app, client_for)
    engineer, requester = client_for("engineer"), client_for("requester")
    task_page = f"/tasks/{remote_fix}"
    page = engineer.get(task_page).text
    assert 'id="conversation"' in page and 'value="internal"' in page  # the agent's reply / note choice
    posted = say(engineer, instance_id, NOTE, "internal", back=task_page)
    assert posted.status_code == 302 and posted.headers["Location"] == f"{task_page}#conversation"
    say(engineer, instance_id, REPLY, "reply", back=task_page)

    portal = requester.get(f"/portal/requests/{instance_id}").text
    assert REPLY in visible_text(portal) and NOTE not in portal
    assert 'value="internal"' not in portal  # the requester only replies
    answered = say(requester, instance_id, "好的，我在办公室。")  # back to the request page by default
    assert answered.headers["Location"] == f"/portal/requests/{instance_id}#conversation"

    text = visible_text(engineer.get(task_page).text)
    assert NOTE in text and REPLY in text and "好的，我在办公室。" in text
    assert text.index(NOTE) < text.index(REPLY) < text.index("好的，我在办公室。")  # oldest first


def test_another_customer_neither_reads_nor_posts(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, _ = at_remote_fix(app, client_for)
    say(client_for("engineer"), instance_id, NOTE, "internal")
    stranger = client_for("requester2")
    assert stranger.get(f"/portal/requests/{instance_id}").status_code == 403
    refused = say(stranger, instance_id, "让我看看", "reply")
    assert refused.status_code == 403 and NOTE not in refused.text
    json = stranger.post(f"/requests/{instance_id}/comments", data={"body": "x"},
                         headers={"Accept": "application/json"})
    assert json.status_code == 403 and json.get_json()["reason"] == "request_of_someone_else"


def test_the_requester_cannot_post_a_note_and_auditors_cannot_post(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, remote_fix = at_remote_fix(app, client_for)
    assert say(client_for("requester"), instance_id, "偷偷说", "internal").status_code == 403
    auditor = client_for("auditor")
    assert say(auditor, instance_id, "审计", "reply").status_code == 403
    page = auditor.get(f"/tasks/{remote_fix}").text
    assert 'id="conversation"' in page and 'action="/requests/' not in page  # read only: no form


def test_an_empty_message_is_said_on_the_page_and_nothing_is_posted(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, _ = at_remote_fix(app, client_for)
    requester = client_for("requester")
    requester.post("/locale", data={"locale": "en"})
    back = say(requester, instance_id, "   ")
    assert back.status_code == 302
    page = requester.get(back.headers["Location"]).text
    assert "The message is empty." in page and "No messages yet." in page
    too_long = say(requester, instance_id, "x" * 10_001)  # past the form's maxlength: not from a browser
    page = requester.get(too_long.headers["Location"]).text
    assert "The message is 10001 characters long; at most 10000 are allowed." in visible_text(page)
    assert "No messages yet." in page


def test_a_closed_request_takes_no_more_replies(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, remote_fix = at_remote_fix(app, client_for)
    complete(client_for("engineer"), remote_fix, {"resolved": "true", "method": "remote", "actions": "重启打印服务"})
    allow_closing(database(app), instance_id)
    complete(client_for("service_desk"), open_task(app, instance_id, "satisfaction"),
             {"score": "5", "remaining_problem": "false"})
    requester = client_for("requester")
    page = requester.get(f"/portal/requests/{instance_id}").text
    assert "重启打印服务" in visible_text(page)  # the resolution
    assert "此请求已关闭，不能再回复" in page and 'name="body"' not in page
    refused = say(requester, instance_id, "还有问题")
    shown = requester.get(refused.headers["Location"]).text
    assert "已关闭" in shown and "还有问题" not in visible_text(shown)
    desk = client_for("service_desk")
    assert say(desk, instance_id, "客户来电：已正常", "internal").status_code == 302  # notes go on


def test_the_form_carries_the_csrf_token_and_a_forged_post_is_refused(csrf_app: Flask) -> None:
    requester = csrf_app.test_client()
    requester.post("/login", data={"username": "requester", "password": PASSWORD,
                                   "csrf_token": csrf_token_on(requester, "/login")})
    response = requester.post("/portal/new", data={
        "_process": "service_desk", "csrf_token": csrf_token_on(requester, "/portal/new"),
        **REQUEST})
    instance_id = int(response.headers["Location"].rsplit("/", 1)[1])
    token = csrf_token_on(requester, f"/portal/requests/{instance_id}")
    assert requester.post(f"/requests/{instance_id}/comments", data={"body": "无令牌"}).status_code == 400
    assert requester.post(f"/requests/{instance_id}/comments",
                          data={"body": "有令牌", "csrf_token": token}).status_code == 302
    assert "有令牌" in requester.get(f"/portal/requests/{instance_id}").text


def test_the_audit_page_shows_comments_with_internal_ones(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, _ = at_remote_fix(app, client_for)
    engineer = client_for("engineer")
    say(engineer, instance_id, NOTE, "internal")
    say(engineer, instance_id, REPLY, "reply")
    page = client_for("auditor").get(f"/audit/instances/{instance_id}").text
    assert page.count('data-kind="comment_added"') == 2
    assert NOTE in page and REPLY in page and "内部备注" in page
    assert "添加消息" in page


# --- the API --------------------------------------------------------------------------------------

def test_api_comments_follow_the_same_rules(app: Flask, api: Callable[[str], Call],
                                             client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, _ = at_remote_fix(app, client_for)
    engineer, requester = api("engineer"), api("requester")
    note = engineer("POST", f"/instances/{instance_id}/comments", json={"body": NOTE, "visibility": "internal"})
    assert note.status_code == 201 and note.json["visibility"] == "internal" and note.json["intact"] is True
    for n in range(3):
        assert engineer("POST", f"/instances/{instance_id}/comments", json={"body": f"回复 {n}"}).status_code == 201
    everything = engineer("GET", f"/instances/{instance_id}/comments")
    assert [c["body"] for c in everything.json] == [NOTE, "回复 0", "回复 1", "回复 2"]
    theirs = requester("GET", f"/instances/{instance_id}/comments", query_string={"page_size": 2})
    assert [c["body"] for c in theirs.json] == ["回复 0", "回复 1"]
    assert '"total": 3' in theirs.headers["X-Pagination"]
    assert requester("GET", f"/instances/{instance_id}/comments",
                     query_string={"visibility": "internal"}).json == []
    notes_only = api("auditor")("GET", f"/instances/{instance_id}/comments", query_string={"visibility": "internal"})
    assert [c["body"] for c in notes_only.json] == [NOTE]
    history = requester("GET", f"/instances/{instance_id}/history", query_string={"page_size": 500}).json
    redacted = [e for e in history if e["kind"] == "comment_added" and e["payload"] == {"redacted": True}]
    assert len(redacted) == 1 and redacted[0]["actor"] is None

    assert_problem(requester("POST", f"/instances/{instance_id}/comments",
                             json={"body": "x", "visibility": "internal"}), 403, "forbidden")
    assert_problem(api("requester2")("GET", f"/instances/{instance_id}/comments"), 403)
    assert_problem(api("requester2")("POST", f"/instances/{instance_id}/comments", json={"body": "x"}), 403)
    assert_problem(api("auditor")("POST", f"/instances/{instance_id}/comments", json={"body": "x"}), 403)
    assert_problem(requester("POST", f"/instances/{instance_id}/comments", json={"body": "  "}), 422)
    assert_problem(requester("POST", f"/instances/{instance_id}/comments", json={"body": "x" * 10_001}), 422)
    assert_problem(requester("POST", f"/instances/{instance_id}/comments", json={}), 422)
    assert_problem(requester("GET", "/instances/999999/comments"), 404)


def test_api_a_requester_replies_on_their_own_request(api: Callable[[str], Call]) -> None:
    requester = api("requester")
    instance_id = start(requester).json["id"]
    posted = requester("POST", f"/instances/{instance_id}/comments", json={"body": "请尽快处理"})
    assert posted.status_code == 201 and posted.json["author"] == "requester"
    assert [c["body"] for c in api("service_desk")("GET", f"/instances/{instance_id}/comments").json] == ["请尽快处理"]


def test_a_customer_deciding_on_a_colleagues_request_sees_the_step_not_the_conversation(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    desk = client_for("service_desk")
    desk.post("/customers/", data={"name": "市医院信息科", "vip_tier": "key", "need_owner": "requester2"})
    with database(app).transaction() as session:
        customer_id = session.scalars(select(Customer.id)).one()
    desk.post(f"/customers/{customer_id}/users", data={"username": "requester"})
    instance_id = start_request(client_for("requester"), process="other_service", organisation="市医院信息科")
    say(desk, instance_id, "需要停机十分钟", "reply")
    for element, data, who in (("record_analyse", h.record_analyse(), "service_desk"),
                               ("onsite_check", h.onsite_check(), "engineer"),
                               ("feasible_plan", h.feasible_plan(), "engineer"),
                               ("ask_permission", h.ask_permission(), "project_manager")):
        complete(client_for(who), open_task(app, instance_id, element), data)
    page = client_for("requester2").get(f"/tasks/{open_task(app, instance_id, 'customer_permission')}")
    assert page.status_code == 200 and 'id="conversation"' not in page.text and "需要停机十分钟" not in page.text


def test_losing_the_race_to_a_colleagues_change_posts_after_it(
        app: Flask, client_for: Callable[[str], FlaskClient], monkeypatch: pytest.MonkeyPatch) -> None:
    instance_id, _ = at_remote_fix(app, client_for)
    real, calls = conversation.add_comment, []

    def raced(session: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["body"])
        if len(calls) == 1:  # as runtime's version check answers when another change saved the request first
            raise Conflict("instance changed meanwhile")
        return real(session, **kwargs)

    monkeypatch.setattr(conversation, "add_comment", raced)
    assert say(client_for("requester"), instance_id, "还在等").status_code == 302
    assert calls == ["还在等", "还在等"]
    assert "还在等" in visible_text(client_for("requester").get(f"/portal/requests/{instance_id}").text)
