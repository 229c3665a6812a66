"""Chases and complaints on the pages: the throttle's message, the service desk's list of chases, the
banner on the handling agent's task page, the complaint's link, and the first-responsible user picker."""
from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.app.conftest import at_remote_fix, complete, open_task, start_request, visible_text


def test_a_chase_too_soon_is_refused_politely(client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    instance_id = start_request(requester)
    requester.post(f"/portal/requests/{instance_id}/chase", data={"note": "还没人联系我"})
    page = visible_text(requester.post(f"/portal/requests/{instance_id}/chase", follow_redirects=True).text)
    assert re.search(rf"请求 {instance_id} 已于 .+ 督促过。每 30 分钟只能督促一次：下次可在 .+ 之后督促。", page), page
    assert "已督促此请求 1 次" in page  # the refused chase was not counted
    requester.post("/locale", data={"locale": "en"})
    page = visible_text(requester.post(f"/portal/requests/{instance_id}/chase", follow_redirects=True).text)
    assert re.search(rf"Request {instance_id} was chased at .+\. One chase per 30 minutes: the next is possible "
                     r"from .+\.", page), page


def test_the_service_desk_sees_each_chase_and_the_agent_sees_them_on_the_task(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, remote_fix = at_remote_fix(app, client_for)
    client_for("requester").post(f"/portal/requests/{instance_id}/chase", data={"note": "打印机还是不能用"})
    inbox = client_for("service_desk").get("/inbox").text
    chases = inbox[inbox.index("客户督促"):inbox.index("</section>", inbox.index("客户督促"))]
    assert f"{instance_id} 号 HIS 无法登录 第 1 次 requester" in visible_text(chases)
    assert "requester" in chases and "打印机还是不能用" in chases
    assert "客户督促" not in client_for("engineer").get("/inbox").text  # the service desk's list
    task = visible_text(client_for("engineer").get(f"/tasks/{remote_fix}").text)
    assert "客户已督促此请求 1 次" in task and "打印机还是不能用" in task and "requester" in task


def test_the_complaint_flow_names_its_first_responsible_person_with_a_picker(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    instance_id = start_request(requester, channel="complaint")
    request_page = visible_text(requester.get(f"/portal/requests/{instance_id}").text)
    assert "此请求按投诉处理" in request_page
    complaint_id = int(re.search(r"投诉处理第 (\d+) 号", request_page)[1])  # type: ignore[index]
    manager = client_for("service_manager")
    name = open_task(app, complaint_id, "name_responsible")
    page = manager.get(f"/tasks/{name}").text
    assert f"这是关于服务请求第 {instance_id} 号的投诉" in visible_text(page)
    picker = re.search(r'<select id="f-first_responsible"[^>]*data-user-picker>(.*?)</select>', page, re.S)
    assert picker, "the first-responsible field is a user picker"
    options = re.findall(r'<option value="([^"]*)"', picker[1])
    assert "engineer" in options and "service_desk" in options
    assert "requester" not in options and "auditor" not in options
    refused = manager.post(f"/tasks/{name}", data={"first_responsible": "requester", "finding": "核实"})
    assert refused.status_code == 422
    assert "requester 不是服务人员的在岗成员。" in visible_text(refused.text)
    complete(manager, name, {"first_responsible": "engineer", "finding": "工程师未按约到场"})
    handle = open_task(app, complaint_id, "handle")
    assert re.search(r"第一责任人：\s*engineer\s*。", visible_text(manager.get(f"/tasks/{handle}").text))
    # The audit's history of the request links its complaint flow.
    history = client_for("auditor").get(f"/audit/instances/{instance_id}").text
    assert f'href="/audit/instances/{complaint_id}"' in history
