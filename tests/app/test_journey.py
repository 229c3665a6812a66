"""The service-desk journey through HTTP posts only: requester, service desk, engineer, requester again."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.app.conftest import complete, open_task, start_request, visible_text


def test_service_desk_request_from_portal_to_satisfaction_call(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    requester, desk, engineer = client_for("requester"), client_for("service_desk"), client_for("engineer")

    instance_id = start_request(requester)
    page = requester.get(f"/portal/requests/{instance_id}")
    assert page.status_code == 200 and "HIS 无法登录" in page.text and "受理并记录服务请求" in page.text

    # 服务台: the request is in the desk's inbox; claim it, accept it, classify it.
    inbox = desk.get("/inbox")
    accept = open_task(app, instance_id, "accept")
    assert f'data-task="{accept}"' in inbox.text
    assert desk.post(f"/tasks/{accept}/claim").status_code == 302
    task_page = desk.get(f"/tasks/{accept}")
    assert "门诊 HIS 登录超时" in task_page.text  # the request, with its labels
    complete(desk, accept, {"request_confirmed": "true", "notes": "电话已确认"})
    classify = open_task(app, instance_id, "classify")
    moved_on = complete(desk, classify, {"category": "fault", "fault_level": "II", "impact": "门诊挂号"})
    assert f"已保存。服务请求 {instance_id} 号已进入下一步。" in desk.get(moved_on.location).text

    # 技术支持: remote fix; the page shows both earlier steps with who did them.
    remote_fix = open_task(app, instance_id, "remote_fix")
    page = engineer.get(f"/tasks/{remote_fix}")
    text = visible_text(page.text)
    assert "受理并记录服务请求" in text and "事件分类" in text and "电话已确认" in text
    assert "故障级别" in text and "service_desk" in text
    complete(engineer, remote_fix, {"resolved": "true", "method": "remote", "actions": "重置账号",
                                    "parts_used-0-part": "", "parts_used-0-quantity": ""})

    # 服务经理: no reusable solution for this one (closing needs that or an approved solution, seed 003).
    recorded = client_for("service_manager").post("/kb/no-reusable-solution",
                                                  data={"instance_id": instance_id, "reason": "账号问题，无需入库"})
    assert recorded.status_code == 302

    # 用户: the satisfaction call waits in the requester's own list, then the request is closed.
    mine = requester.get("/portal/")
    satisfaction = open_task(app, instance_id, "satisfaction")
    assert f"/tasks/{satisfaction}" in mine.text and "满意度回访" in mine.text
    done = complete(requester, satisfaction, {"score": "5", "remaining_problem": "false", "comment": "很快"})
    assert done.location == f"/portal/requests/{instance_id}"
    closed = requester.get(done.location)
    assert "已结束" in closed.text and "II 级" in closed.text
    # the flash says the request ended, not that it moved on to a next step
    assert f"已保存。服务请求 {instance_id} 号已结束。" in closed.text and "已进入下一步" not in closed.text
    assert "满意度回访" in visible_text(closed.text)

