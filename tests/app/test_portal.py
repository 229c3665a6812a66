"""The requester portal: the request form and its errors, my requests, other processes, chasing (督促)."""
from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import database
from engine.desk import complaint
from engine.store.models import TaskRecord
from tests.app.conftest import at_remote_fix, complete, open_task, start_request, visible_text
from tests.support.flows import REQUEST, allow_closing


def test_the_request_form_renders_every_field_with_its_widget(client_for: Callable[[str], FlaskClient]) -> None:
    page = client_for("requester").get("/portal/new").text
    assert re.search(r'<select id="f-channel" name="channel"', page)  # 5 choices: a select
    assert 'type="radio" name="urgency" value="high"' in page  # required, 3 choices: radios
    assert re.search(r'<textarea id="f-description" name="description"', page)
    assert re.search(r'<input type="email" id="f-contact_email"', page)
    assert "受理渠道" in page and "问题描述" in page  # zh_CN labels
    assert '<option value="service_desk" selected>服务台及现场服务</option>' in page
    for process in ("emergency", "third_party", "other_service"):
        assert f'<option value="{process}"' in page
    assert 'value="health_check"' not in page  # not started with the request form


def test_bad_input_comes_back_with_messages_beside_the_fields_and_everything_kept(
        client_for: Callable[[str], FlaskClient]) -> None:
    client = client_for("requester")
    typed = {"_process": "third_party", "channel": "pigeon", "requester_name": "张三", "title": "打印机卡纸",
             "description": "第二行\n第三行", "urgency": "low", "contact_email": "not-an-email"}
    response = client.post("/portal/new", data=typed)
    assert response.status_code == 422
    page = response.text
    assert "尚未保存" in page
    # each message sits in the field's own block
    blocks = dict(re.findall(r'<div class="field field-\w+ has-error">.*?name="(\w+)".*?<p class="field-error"[^>]*>'
                             r'([^<]+)</p>', page, re.S))
    assert blocks["channel"].startswith("必须是以下之一") and blocks["contact_phone"] == "此项为必填项。"
    assert blocks["contact_email"] == "邮箱地址格式不正确。" and blocks["organisation"] == "此项为必填项。"
    assert 'value="张三"' in page and 'value="打印机卡纸"' in page and "第二行\n第三行</textarea>" in page
    assert 'value="low" checked' in page
    assert '<option value="third_party" selected>' in page
    assert client.get("/portal/").text.count("/portal/requests/") == 0  # nothing was started


def test_enum_errors_show_labels_and_unknown_fields_are_named(client_for: Callable[[str], FlaskClient]) -> None:
    client = client_for("requester")
    typed = {"_process": "service_desk", "channel": "pigeon", "zebra": "1"}
    page = client.post("/portal/new", data=typed).text
    assert "必须是以下之一：电话、传真、网站、邮件、监控告警、投诉。" in page
    assert "monitoring" not in visible_text(page)
    # a key the form does not have is listed above the form, by its name
    assert re.search(r'<div class="problems" role="alert">.*<li>未知字段“zebra”。</li>', page, re.S)
    client.post("/locale", data={"locale": "en"})
    page = client.post("/portal/new", data=typed).text
    assert "Must be one of: Phone, Fax, Website, Email, Monitoring alert, Complaint." in page
    assert "<li>Unknown field &#34;zebra&#34;.</li>" in page


def test_english_users_get_english_labels_and_messages(client_for: Callable[[str], FlaskClient]) -> None:
    client = client_for("requester")
    client.post("/locale", data={"locale": "en"})
    response = client.post("/portal/new", data={"_process": "service_desk"})
    assert response.status_code == 422
    assert "This field is required." in response.text and "此项为必填项" not in response.text
    assert "Channel" in response.text or "channel" in response.text.lower()


def test_my_requests_show_where_each_one_stands(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    first = start_request(requester)
    second = start_request(requester, "emergency", title="机房断电")
    other = start_request(client_for("requester2"), title="别人的请求")
    page = requester.get("/portal/").text
    assert f"/portal/requests/{first}" in page and f"/portal/requests/{second}" in page
    assert f"/portal/requests/{other}" not in page and "别人的请求" not in page
    assert "应急服务" in page and "服务台及现场服务" in page and "处理中" in page
    assert "受理并记录服务请求" in page and "受理并记录服务需求" in page  # current steps
    detail = requester.get(f"/portal/requests/{second}")
    assert detail.status_code == 200 and "机房断电" in detail.text
    assert requester.get(f"/portal/requests/{other}").status_code == 403
    assert requester.get("/portal/requests/999").status_code == 404


def test_three_chases_make_a_complaint(app: Flask, client_for: Callable[[str], FlaskClient],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(complaint.INTERVAL_SETTING, "0")  # the throttle: test_a_chase_too_soon_is_refused_politely
    requester = client_for("requester")
    instance_id = start_request(requester)
    for count in (1, 2):
        page = requester.post(f"/portal/requests/{instance_id}/chase", data={"note": "还没人联系我"},
                              follow_redirects=True).text
        assert f"已记录第 {count} 次督促" in page and f"{count} 次" in page and "按投诉处理</span>" not in page
    page = requester.post(f"/portal/requests/{instance_id}/chase", follow_redirects=True).text
    assert "已记录第 3 次督促。此请求现按投诉处理。" in page
    assert '<span class="badge warn">按投诉处理</span>' in page
    assert "投诉" in requester.get("/portal/").text
    # the service desk sees the complaint on the task
    accept = open_task(app, instance_id, "accept")
    assert "投诉" in visible_text(client_for("service_desk").get(f"/tasks/{accept}").text)


def test_only_the_requester_or_the_service_desk_may_chase(client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = start_request(client_for("requester"))
    response = client_for("requester2").post(f"/portal/requests/{instance_id}/chase")
    assert response.status_code == 403 and "您没有权限执行此操作" in response.text
    assert client_for("service_desk").post(f"/portal/requests/{instance_id}/chase").status_code == 302
    assert client_for("auditor").post(f"/portal/requests/{instance_id}/chase").status_code == 403


def test_customer_permission_is_answered_by_the_requester(app: Flask,
                                                          client_for: Callable[[str], FlaskClient]) -> None:
    requester, desk, engineer, pm = (client_for(u) for u in ("requester", "service_desk", "engineer",
                                                              "project_manager"))
    instance_id = start_request(requester, "other_service", title="打开机柜检查")
    steps = [(desk, "record_analyse", {"need": "开柜检查", "analysis": "超出服务范围"}),
             (engineer, "onsite_check", {"findings": "需要开柜"}),
             (engineer, "feasible_plan", {"plan": "断电后开柜"}),
             (pm, "ask_permission", {"request_text": "请允许开柜"})]
    for client, element_id, data in steps:
        assert client.post(f"/tasks/{open_task(app, instance_id, element_id)}", data=data).status_code == 302
    permission = open_task(app, instance_id, "customer_permission")
    assert f"/tasks/{permission}" in requester.get("/portal/").text
    assert client_for("requester2").get(f"/tasks/{permission}").status_code == 403
    page = requester.get(f"/tasks/{permission}").text
    assert 'name="permitted" value="true"' in page and "请允许开柜" in page
    missing = requester.post(f"/tasks/{permission}", data={"conditions": "仅限工作时间"})
    assert missing.status_code == 422 and "此项为必填项。" in missing.text and "仅限工作时间</textarea>" in missing.text
    done = requester.post(f"/tasks/{permission}", data={"permitted": "true", "conditions": "仅限工作时间"})
    assert done.location == f"/portal/requests/{instance_id}"
    assert open_task(app, instance_id, "execute_plan")


def test_auditors_cannot_raise_requests(client_for: Callable[[str], FlaskClient]) -> None:
    response = client_for("auditor").post("/portal/new", data={"_process": "service_desk", **REQUEST})
    assert response.status_code == 403



def test_the_requester_answers_their_own_satisfaction_survey_in_the_portal(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    """Issue 11: 满意度回访 is the service desk's call; the requester may answer it in the portal instead."""
    instance_id, fix = at_remote_fix(app, client_for)
    complete(client_for("engineer"), fix, {"resolved": "true", "method": "remote", "actions": "重置账号"})
    allow_closing(database(app), instance_id)
    survey = open_task(app, instance_id, "satisfaction")
    assert f"/tasks/{survey}" in client_for("service_desk").get("/inbox").text  # the service desk's call to make
    requester = client_for("requester")
    page = requester.get(f"/portal/requests/{instance_id}").text
    assert f'href="/tasks/{survey}"' in page and "您也可以在这里直接作答" in page
    form = requester.get(f"/tasks/{survey}").text
    assert 'name="score"' in form and f'action="/tasks/{survey}/claim"' not in form  # answered, never taken
    response = requester.post(f"/tasks/{survey}", data={"score": "5", "remaining_problem": "false"})
    assert response.status_code == 302 and response.location == f"/portal/requests/{instance_id}"
    assert f"/tasks/{survey}" not in client_for("service_desk").get("/inbox").text


def test_dispatch_offers_the_engineers_and_refuses_anyone_else(app: Flask,
                                                               client_for: Callable[[str], FlaskClient]) -> None:
    """派发现场服务单 names the engineer from a list of the engineer group; the server refuses anyone else."""
    instance_id, fix = at_remote_fix(app, client_for)
    complete(client_for("engineer"), fix, {"resolved": "false", "method": "remote", "actions": "远程无法解决"})
    dispatch = open_task(app, instance_id, "dispatch_onsite")
    desk = client_for("service_desk")
    picker = re.search(r'<select id="f-engineer" name="engineer".*?</select>', desk.get(f"/tasks/{dispatch}").text,
                       re.S)
    assert picker is not None
    assert re.findall(r'<option value="(\w+)"', picker[0]) == ["engineer", "engineer2"]  # the engineers only
    typed = {"engineer": "service_manager", "appointment_at": "2026-12-05T10:00", "address": "门诊楼三层机房"}
    refused = desk.post(f"/tasks/{dispatch}", data=typed)
    assert refused.status_code == 422
    assert '<p class="field-error" id="e-engineer">service_manager 不是技术支持的在岗成员。</p>' in refused.text
    complete(desk, dispatch, {**typed, "engineer": "engineer"})
    with database(app).transaction() as session:
        assert session.get(TaskRecord, open_task(app, instance_id, "onsite_fix")).assignee == "engineer"
