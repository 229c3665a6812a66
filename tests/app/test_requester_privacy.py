"""Requesters are customers of different organisations: none of them ever sees or answers another's request.

The satisfaction call (满意度回访, then assignee ${initiator}) once became a task of the whole requester group
when its requester released it; these tests walk every page and API path a second customer could take to a
requester's own task. Since issue 11 the call is the service desk's (which its requester may answer), so the
requester's own task here is 其他服务's 用户需求负责人允许? (assignee ${initiator}); the last test covers the call.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app import database
from engine import users
from engine.store.models import TaskRecord
from tests.app.conftest import at_remote_fix, complete, open_task, start_request, visible_text
from tests.support.flows import REQUEST, allow_closing

JSON = {"Accept": "application/json"}
ANSWER = {"permitted": "false", "conditions": "本月不安排停机"}
STEP = "用户需求负责人允许?"
# What the request says about its requester: none of it may reach another customer.
PRIVATE = (REQUEST["contact_phone"], REQUEST["requester_name"], REQUEST["organisation"], REQUEST["description"])


def satisfaction_call(app: Flask, client_for: Callable[[str], FlaskClient]) -> tuple[int, int]:
    """(request, the question whether it may be done): a 其他服务 request raised by `requester`, the plan made
    and the permission asked for."""
    instance_id = start_request(client_for("requester"), "other_service")
    engineer, manager = client_for("engineer"), client_for("project_manager")
    complete(client_for("service_desk"), open_task(app, instance_id, "record_analyse"),
             {"need": "打开机柜整理线缆", "analysis": "超出服务范围"})
    complete(engineer, open_task(app, instance_id, "onsite_check"), {"findings": "线缆松动"})
    complete(engineer, open_task(app, instance_id, "feasible_plan"), {"plan": "停机十分钟整理线缆"})
    complete(manager, open_task(app, instance_id, "ask_permission"), {"request_text": "申请周六打开机柜"})
    return instance_id, open_task(app, instance_id, "customer_permission")


def left_by_the_old_defect(app: Flask, task_id: int, assignee: str | None) -> None:
    """The row as the release defect left it: given to the requester group (assignee NULL), and perhaps then
    claimed by another customer. The engine no longer makes such rows, so the test writes it."""
    with database(app).transaction() as session:
        session.execute(update(TaskRecord).where(TaskRecord.id == task_id).values(assignee=assignee))


def assignee_of(app: Flask, task_id: int) -> str | None:
    with database(app).transaction() as session:
        record = session.get(TaskRecord, task_id)
        assert record is not None
        return record.assignee


def test_releasing_ones_own_satisfaction_call_is_refused_and_it_stays_assigned(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    _, task = satisfaction_call(app, client_for)
    requester = client_for("requester")
    page = requester.get(f"/tasks/{task}").text
    assert f'action="/tasks/{task}/release"' not in page  # no button for it
    refused = requester.post(f"/tasks/{task}/release")
    assert refused.status_code == 403
    assert "belongs to requester, who raised request" in refused.text
    assert "never goes to a group" in refused.text
    as_json = requester.post(f"/tasks/{task}/release", headers=JSON)
    assert as_json.status_code == 403 and as_json.json["code"] == "forbidden"
    assert assignee_of(app, task) == "requester"
    assert client_for("requester2").get(f"/tasks/{task}").status_code == 403


def test_no_manager_hands_a_requesters_call_to_another_requester(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    _, task = satisfaction_call(app, client_for)
    with database(app).transaction() as session:
        users.create_user(session, username="customer_boss", password="opsflow-demo",
                          groups=["requester", "service_manager"])
    boss = client_for("customer_boss")
    assert boss.get(f"/tasks/{task}").status_code == 403  # another customer's call, manager or not
    assert boss.post(f"/tasks/{task}/assign", data={"assignee": "requester2"}).status_code == 403
    assert boss.post(f"/tasks/{task}/release").status_code == 403
    assert assignee_of(app, task) == "requester"


@pytest.mark.parametrize("left_with", [None, "requester2"], ids=["released", "then-claimed-by-another"])
def test_a_call_the_old_defect_released_stays_private_on_every_path(
        app: Flask, client_for: Callable[[str], FlaskClient], left_with: str | None) -> None:
    instance_id, task = satisfaction_call(app, client_for)
    left_by_the_old_defect(app, task, left_with)
    other = client_for("requester2")

    for state in ("open", "mine", "unclaimed", "claimed", "all"):
        listed = other.get(f"/inbox?state={state}")
        assert listed.status_code == 200 and f'data-task="{task}"' not in listed.text, state
        assert not any(secret in listed.text for secret in PRIVATE), state
    portal = other.get("/portal/").text
    assert f"/tasks/{task}" not in portal and f"/portal/requests/{instance_id}" not in portal
    reads = {"task page": other.get(f"/tasks/{task}"), "task JSON": other.get(f"/tasks/{task}", headers=JSON),
             "diagram": other.get(f"/tasks/{task}/diagram"),
             "request page": other.get(f"/portal/requests/{instance_id}"),
             "history CSV": other.get(f"/audit/instances/{instance_id}/export.csv"),
             "history JSON": other.get(f"/audit/instances/{instance_id}/export.json"),
             "SLA report": other.get("/sla/at-risk", headers=JSON)}
    writes = {"answer": other.post(f"/tasks/{task}", data=ANSWER),
              "answer JSON": other.post(f"/tasks/{task}", data=ANSWER, headers=JSON),
              "claim": other.post(f"/tasks/{task}/claim"), "release": other.post(f"/tasks/{task}/release"),
              "assign": other.post(f"/tasks/{task}/assign", data={"assignee": "requester2"}),
              "chase": other.post(f"/portal/requests/{instance_id}/chase", data={"note": "?"})}
    for path, response in {**reads, **writes}.items():
        assert response.status_code == 403, path
        assert not any(secret in response.text for secret in PRIVATE), path
        assert STEP not in response.text, path  # not even which step it waits in
    assert assignee_of(app, task) == left_with  # nothing the other customer sent changed it

    # Its own requester still finds it, and answers it.
    requester = client_for("requester")
    assert f"/tasks/{task}" in requester.get("/portal/").text
    page = requester.get(f"/tasks/{task}")
    assert page.status_code == 200 and REQUEST["contact_phone"] in visible_text(page.text)
    complete(requester, task, ANSWER)
    assert "已结束" in requester.get(f"/portal/requests/{instance_id}").text


def test_the_service_desks_call_to_a_customer_tells_another_customer_nothing(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    """满意度回访 is the service desk's task; its own requester may answer it, no other customer may even see it."""
    instance_id, remote_fix = at_remote_fix(app, client_for)
    complete(client_for("engineer"), remote_fix, {"resolved": "true", "method": "remote", "actions": "重置账号"})
    task = open_task(app, instance_id, "satisfaction")
    other = client_for("requester2")
    answer = {"score": "1", "remaining_problem": "false"}
    tried = {"task page": other.get(f"/tasks/{task}"), "answer": other.post(f"/tasks/{task}", data=answer),
             "claim": other.post(f"/tasks/{task}/claim"), "request page": other.get(f"/portal/requests/{instance_id}")}
    for path, response in tried.items():
        assert response.status_code == 403, path
        assert "满意度回访" not in response.text, path  # not even which step it waits in
        assert not any(secret in response.text for secret in PRIVATE), path
    assert f"/tasks/{task}" not in other.get("/portal/").text
    allow_closing(database(app), instance_id)
    complete(client_for("requester"), task, {"score": "5", "remaining_problem": "false"})
