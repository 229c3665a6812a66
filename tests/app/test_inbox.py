"""The agents' inbox and task pages: who sees what, claim/release/assign, SLA display, filters, pages."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import database
from engine import clock, users
from engine.desk import sla
from engine.errors import Conflict
from engine.process import definitions, runtime
from tests.app.conftest import at_remote_fix, complete, open_task, start_request, visible_text
from tests.support.flows import Flow
from tests.support.parts import stock_parts

SLA_DIAGRAM = Path(__file__).parent / "diagrams" / "sla_inbox.bpmn"
T0 = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)


def task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-task="(\d+)"', html)]


@pytest.fixture
def sla_app(app: Flask) -> Flask:
    with database(app).transaction() as session:
        definitions.deploy(session, [definitions.SourceFile("sla_inbox.bpmn", SLA_DIAGRAM.read_bytes())])
    return app


def dated_task(app: Flask, level: str) -> int:
    """A ready engineer task due at the level's resolve target (24 h for I, 72 h for II)."""
    flow = Flow(database(app), "sla_inbox")
    flow.complete("classify", {"category": "fault", "fault_level": level}, "service_desk")
    return flow.task_id("work")


def test_the_inbox_lists_my_groups_tasks_with_process_title_and_level(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    first, second = start_request(requester, title="HIS 无法登录"), start_request(requester, "emergency")
    desk = client_for("service_desk")
    page = desk.get("/inbox").text
    accept_1, accept_2 = open_task(app, first, "accept"), open_task(app, second, "accept")
    assert task_ids(page) == [accept_1, accept_2]
    assert "服务台及现场服务" in page and "应急服务" in page and "HIS 无法登录" in page
    # Was: "无截止时间" (应急 受理 had no due time); every human step now has one (issue 11 item 4):
    # 受理 carries the 30-minute response target in both flows.
    assert len(re.findall(r'<td class="due">[\d: -]+<br><span class="left">剩余 (?:29|30) 分钟', page)) == 2
    assert task_ids(client_for("engineer").get("/inbox").text) == []
    assert "目前没有待办任务" in client_for("engineer").get("/inbox").text


def test_sla_due_time_left_and_css_class(sla_app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    with clock.frozen(T0) as advance:
        task = dated_task(sla_app, "I")  # due in 24 h
        engineer = client_for("engineer")
        advance(dt.timedelta(hours=1))
        row = re.search(rf'<tr class="([^"]*)" data-task="{task}">(.*?)</tr>', engineer.get("/inbox").text, re.S)
        assert row is not None and row[1] == "task sla-ok" and "剩余 23 小时" in row[2]
        advance(dt.timedelta(hours=20))  # 3 h left of 24: under 20 %
        row = re.search(rf'<tr class="([^"]*)" data-task="{task}">(.*?)</tr>', engineer.get("/inbox").text, re.S)
        assert row is not None and row[1] == "task sla-warn" and "剩余 3 小时" in row[2]
        assert "2026-11-24 09:00" in row[2]  # 01:00 UTC + 24 h, shown in Asia/Shanghai
        advance(dt.timedelta(hours=3, minutes=30))
        row = re.search(rf'<tr class="([^"]*)" data-task="{task}">(.*?)</tr>', engineer.get("/inbox").text, re.S)
        assert row is not None and row[1] == "task sla-late" and "已超时 30 分钟" in row[2]
        engineer.post("/locale", data={"locale": "en"})
        assert "late by 30 min" in engineer.get("/inbox").text


def test_soonest_due_first_then_oldest_and_pages_cover_everything_once(
        sla_app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    db = database(sla_app)
    with clock.frozen(T0) as advance:
        late_ii = dated_task(sla_app, "II")  # due T0 + 72 h
        advance(dt.timedelta(minutes=1))
        soon_i = dated_task(sla_app, "I")  # due T0 + 24 h
        undated = []
        for _ in range(3):
            flow = Flow(db, "service_desk")
            flow.complete("accept", {"request_confirmed": True}, "service_desk")
            flow.complete("classify", {"category": "fault", "fault_level": "III"}, "service_desk")
            undated.append(flow.task_id("remote_fix"))
    engineer = client_for("engineer")
    expected = task_ids(engineer.get("/inbox").text)
    assert sorted(expected) == sorted([soon_i, late_ii, *undated])
    assert expected.index(soon_i) < expected.index(late_ii)  # due in 24 h before due in 72 h
    seen, url = [], "/inbox?limit=2"
    while url:
        page = engineer.get(url).text
        seen += task_ids(page)
        assert "共 5 个任务" in page
        found = re.search(r'<a href="([^"]+)">下一页', page)
        url = found[1].replace("&amp;", "&") if found else ""
    assert seen == expected


def test_filters_by_process_fault_level_and_state(sla_app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    level_i, level_ii = dated_task(sla_app, "I"), dated_task(sla_app, "II")
    flow = Flow(database(sla_app), "service_desk")
    flow.complete("accept", {"request_confirmed": True}, "service_desk")
    # Classified level I it would go on as an emergency (issue 11); re-graded later, it stays with the engineers.
    flow.complete("classify", {"category": "fault", "fault_level": "II"}, "service_desk")
    with database(sla_app).transaction() as session:
        sla.change_fault_level(session, instance_id=flow.id, level="I", actor=users.actor(session, "service_desk"))
    remote_fix = flow.task_id("remote_fix")
    engineer = client_for("engineer")

    def shown(query: str) -> list[int]:
        return sorted(task_ids(engineer.get(f"/inbox?{query}").text))

    assert shown("level=I") == [level_i, remote_fix]
    assert shown("process=service_desk") == [remote_fix]
    assert shown("process=sla_inbox&level=II") == [level_ii]
    assert shown("process=&level=&state=open") == [level_i, level_ii, remote_fix]
    engineer.post(f"/tasks/{level_ii}/claim")
    client_for("engineer2").post(f"/tasks/{level_i}/claim")
    assert shown("state=mine") == [level_ii]
    assert shown("state=unclaimed") == [remote_fix]
    assert shown("state=claimed") == [level_i]
    assert shown("state=all") == [level_i, level_ii, remote_fix]
    assert shown("") == [level_ii, remote_fix]  # a colleague's claim is theirs
    assert engineer.get("/inbox?level=V").status_code == 422
    assert engineer.get("/inbox?after=garbage").status_code == 422


def test_the_task_page_shows_the_request_every_earlier_step_the_form_and_the_diagram(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = start_request(client_for("requester"))
    desk = client_for("service_desk")
    complete(desk, open_task(app, instance_id, "accept"), {"request_confirmed": "true", "notes": "已电话确认"})
    complete(desk, open_task(app, instance_id, "classify"), {"category": "fault", "fault_level": "II"})
    task = open_task(app, instance_id, "remote_fix")
    page = client_for("engineer").get(f"/tasks/{task}")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "联系人 张三" in text and "问题描述 门诊 HIS 登录超时" in text  # the request, labelled
    assert "确认受理 是" in text or "是" in text
    assert "已电话确认" in text and "故障 " in text and "II 级 · 严重" in text
    assert text.count("service_desk 于") == 2  # who did each earlier step
    # the form: bool as yes/no radios, enum radios/select, parts list table with an add-row button
    assert 'name="resolved" value="true"' in page.text and 'name="resolved" value="false"' in page.text
    assert 'name="parts_used-0-part"' in page.text and 'data-add-row="parts_used"' in page.text
    assert "/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" in page.text
    diagram = client_for("engineer").get(f"/tasks/{task}/diagram")
    assert diagram.status_code == 200 and diagram.json["current"] == ["remote_fix"]
    assert diagram.json["completed"] == ["accept", "classify"] and 'id="remote_fix"' in diagram.json["xml"]


def test_bad_task_input_keeps_everything_typed_including_parts_rows(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, task = at_remote_fix(app, client_for)
    engineer = client_for("engineer")
    typed = {"resolved": "false", "actions": "更换电源", "parts_used-0-part": "电源模块", "parts_used-0-quantity": "0",
             "parts_used-1-part": "网线", "parts_used-1-quantity": "2", "duration_min": "abc"}
    response = engineer.post(f"/tasks/{task}", data=typed)
    assert response.status_code == 422
    page = response.text
    assert 'name="resolved" value="false" checked' in page and "更换电源</textarea>" in page
    assert 'name="parts_used-0-part" aria-label="备件"' in page and 'value="电源模块"' in page
    assert 'name="parts_used-1-quantity"' in page and 'value="网线"' in page and 'value="abc"' in page
    assert "第 1 行，数量：不能小于 1。" in page and "必须为整数。" in page
    assert "此项为必填项。" in page  # method
    fixed = {**typed, "method": "onsite", "parts_used-0-quantity": "1", "duration_min": "45"}
    stock_parts(database(app), {"电源模块": 1, "网线": 2})  # the rows name real parts, in stock
    assert engineer.post(f"/tasks/{task}", data=fixed).status_code == 302
    steps = client_for("service_desk").get(f"/tasks/{open_task(app, instance_id, 'dispatch_onsite')}").text
    assert "电源模块 × 1; 网线 × 2" in steps


def test_claim_release_and_assign(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    _, task = at_remote_fix(app, client_for)
    engineer, engineer2 = client_for("engineer"), client_for("engineer2")

    assert engineer.post(f"/tasks/{task}/claim", data={"next": "/inbox"}).location == "/inbox"
    page = engineer2.get(f"/tasks/{task}").text
    assert "此任务已由 engineer 认领" in visible_text(page) and f'action="/tasks/{task}"' not in page
    refused = engineer2.post(f"/tasks/{task}", data={"resolved": "true", "method": "remote", "actions": "x"})
    assert refused.status_code == 409 and "此任务已由 engineer 接手" in visible_text(refused.text)
    assert engineer2.post(f"/tasks/{task}/claim").status_code == 409
    assert engineer2.post(f"/tasks/{task}/release").status_code == 403
    assert engineer.post(f"/tasks/{task}/release").status_code == 302

    # a manager may assign (only to a member of the task's group) and release anyone's claim
    with database(app).transaction() as session:
        users.create_user(session, username="boss", password="opsflow-demo", groups=["service_manager"])
    boss = client_for("boss")
    assert boss.get(f"/tasks/{task}").status_code == 403  # not the manager's group: not their business
    manager = client_for("service_manager")
    with database(app).transaction() as session:
        users.create_user(session, username="lead_engineer", password="opsflow-demo",
                          groups=["engineer", "service_manager"])
    lead = client_for("lead_engineer")
    page = lead.get(f"/tasks/{task}").text
    assert '<option value="engineer2" translate="no">engineer2</option>' in page
    assert lead.post(f"/tasks/{task}/assign", data={"assignee": "engineer2"}).status_code == 302
    assert "engineer2" in visible_text(lead.get(f"/tasks/{task}").text)
    assert lead.post(f"/tasks/{task}/assign", data={"assignee": "requester"}).status_code == 422
    assert lead.post(f"/tasks/{task}/release").status_code == 302
    assert engineer.post(f"/tasks/{task}/assign", data={"assignee": "engineer"}).status_code == 403
    assert manager.post(f"/tasks/{task}/assign", data={}).status_code == 422


def test_tasks_of_other_groups_are_forbidden_with_a_clear_page(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = start_request(client_for("requester"))
    accept = open_task(app, instance_id, "accept")
    engineer = client_for("engineer")
    for response in (engineer.get(f"/tasks/{accept}"), engineer.get(f"/tasks/{accept}/diagram"),
                     engineer.post(f"/tasks/{accept}", data={"request_confirmed": "true"}),
                     engineer.post(f"/tasks/{accept}/claim")):
        assert response.status_code == 403
    page = engineer.get(f"/tasks/{accept}").text
    assert "您没有权限执行此操作" in page and "任务只对所属组的成员和被分派的人开放" in page
    assert engineer.get("/tasks/9999").status_code == 404 and "未找到" in engineer.get("/tasks/9999").text
    json_error = engineer.get(f"/tasks/{accept}", headers={"Accept": "application/json"})
    assert json_error.status_code == 403 and json_error.json["code"] == "forbidden"


def test_auditors_see_everything_read_only(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = start_request(client_for("requester"))
    accept = open_task(app, instance_id, "accept")
    auditor = client_for("auditor")
    assert task_ids(auditor.get("/inbox").text) == [accept]
    page = auditor.get(f"/tasks/{accept}").text
    assert "审计员可以查看此任务，但不能办理。" in page
    assert "<form" not in page.split("</header>")[1]  # no action buttons, no task form
    assert auditor.get(f"/portal/requests/{instance_id}").status_code == 200
    for path, data in ((f"/tasks/{accept}", {"request_confirmed": "true"}), (f"/tasks/{accept}/claim", {}),
                       (f"/tasks/{accept}/release", {}), (f"/tasks/{accept}/assign", {"assignee": "x"})):
        response = auditor.post(path, data=data)
        assert response.status_code == 403 and "审计员" in response.text, path
    assert auditor.get("/admin/users").status_code == 200


def test_a_second_agent_submitting_a_completed_task_gets_a_clear_page_with_their_input(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = start_request(client_for("requester"))
    accept = open_task(app, instance_id, "accept")
    with database(app).transaction() as session:
        users.create_user(session, username="desk2", password="opsflow-demo", groups=["service_desk"])
    first, second = client_for("service_desk"), client_for("desk2")
    assert 'name="request_confirmed"' in first.get(f"/tasks/{accept}").text
    assert 'name="request_confirmed"' in second.get(f"/tasks/{accept}").text  # both have the form open
    complete(first, accept, {"request_confirmed": "true", "notes": "我先受理"})
    late = second.post(f"/tasks/{accept}", data={"request_confirmed": "false", "notes": "客户说明\n很长的记录"})
    assert late.status_code == 409
    text = visible_text(late.text)
    assert "此任务已由其他人完成" in text and "您填写的内容没有保存" in text
    assert "already completed by service_desk" in late.text
    assert "客户说明\n很长的记录" in late.text and "备注 客户说明 很长的记录" in text
    assert "需求已确认 否" in text and "需求已确认 是" in text  # what they typed, and what was really saved
    assert f'action="/tasks/{accept}"' not in late.text  # no form to submit again
    assert "我先受理" in text  # the step as it was really done


def test_a_submit_that_meets_a_concurrent_change_gets_the_form_back_filled_in(
        app: Flask, client_for: Callable[[str], FlaskClient], monkeypatch: pytest.MonkeyPatch) -> None:
    """The task is still open (the request changed at the same moment): nothing to copy by hand,
    the form comes back with the input, and sending it again works."""
    instance_id = start_request(client_for("requester"))
    accept = open_task(app, instance_id, "accept")
    desk = client_for("service_desk")
    real_complete = runtime.complete_task

    def changed_meanwhile(*args: Any, **kwargs: Any) -> Any:
        raise Conflict(runtime._CONFLICT, process_id="service_desk")

    monkeypatch.setattr(runtime, "complete_task", changed_meanwhile)
    typed = {"request_confirmed": "true", "notes": "客户说明\n很长的记录"}
    refused = desk.post(f"/tasks/{accept}", data=typed)
    assert refused.status_code == 409
    text = visible_text(refused.text)
    assert "您处理期间此请求发生了变化" in text and "请查看请求的最新情况后再次提交" in text
    assert "此任务已由其他人完成" not in text
    assert f'action="/tasks/{accept}"' in refused.text  # the form is back …
    assert ">客户说明\n很长的记录</textarea>" in refused.text  # … with what was typed
    monkeypatch.setattr(runtime, "complete_task", real_complete)
    complete(desk, accept, typed)
    assert open_task(app, instance_id, "classify")


def test_the_diagram_viewer_is_served_from_node_modules(app: Flask,
                                                        client_for: Callable[[str], FlaskClient]) -> None:
    client = client_for("engineer")
    script = client.get("/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js")
    assert script.status_code == 200 and b"BpmnJS" in script.data[:5000] + script.data[-5000:]
    assert client.get("/vendor/bpmn-js/assets/bpmn-js.css").status_code == 200
    assert client.get("/vendor/bpmn-js/../../package.json").status_code == 404


def test_json_clients_get_json_errors_with_field_messages(app: Flask,
                                                          client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = start_request(client_for("requester"))
    accept = open_task(app, instance_id, "accept")
    desk = client_for("service_desk")
    response = desk.post(f"/tasks/{accept}", data={"notes": "x"}, headers={"Accept": "application/json"})
    assert response.status_code == 422 and response.json["code"] == "invalid_input"
    assert response.json["field_errors"]["request_confirmed"] == ["此项为必填项。"]
    missing = desk.get("/tasks/424242", headers={"Accept": "application/json"})
    assert missing.status_code == 404 and missing.json["code"] == "not_found"


def test_a_colleague_claiming_while_you_fill_in_the_form_is_a_409_naming_them_with_your_input_kept(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, task = at_remote_fix(app, client_for)
    engineer, engineer2 = client_for("engineer"), client_for("engineer2")
    assert f'action="/tasks/{task}"' in engineer.get(f"/tasks/{task}").text  # the form is open …
    assert engineer2.post(f"/tasks/{task}/claim").status_code == 302  # … when a colleague takes the task
    typed = {"resolved": "false", "method": "onsite", "actions": "更换电源\n第二行", "parts_used-0-part": "电源模块",
             "parts_used-0-quantity": "1"}

    taken = engineer.post(f"/tasks/{task}", data=typed)
    assert taken.status_code == 409
    text = visible_text(taken.text)
    assert "您处理期间，此任务已由 engineer2 接手" in text and "现在只有 engineer2 可以办理此任务" in text
    assert "没有权限" not in text and "此任务已由其他人完成" not in text
    assert "was taken by engineer2" in taken.text  # the engine's own words, as details
    assert f'action="/tasks/{task}"' in taken.text  # the form is back, filled in
    assert ">更换电源\n第二行</textarea>" in taken.text and 'value="电源模块"' in taken.text
    assert 'name="resolved" value="false" checked' in taken.text

    engineer.post("/locale", data={"locale": "en"})
    english = visible_text(engineer.post(f"/tasks/{task}", data=typed).text)
    assert "engineer2 took this task while you were working on it" in english
    as_json = engineer.post(f"/tasks/{task}", data=typed, headers={"Accept": "application/json"})
    assert as_json.status_code == 409 and as_json.json["code"] == "task_taken"
    assert as_json.json["assignee"] == "engineer2" and "engineer2" in as_json.json["message"]

    # Once the colleague gives it back, the same input goes through.
    assert engineer2.post(f"/tasks/{task}/release").status_code == 302
    stock_parts(database(app), {"电源模块": 1})  # the row names a real part, in stock
    complete(engineer, task, typed)
    assert open_task(app, instance_id, "dispatch_onsite")
