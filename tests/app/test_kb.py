"""Knowledge-base pages: an engineer writes a solution from the resolution step, the 技术负责人 approves it
from the review queue, the case closes; the portal's self-service search shows approved solutions only."""
from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.app.conftest import complete, open_task, start_request, visible_text

SOLUTION = {"title": "HIS 登录超时", "kind": "solution", "system": "HIS 服务器", "device_type": "software",
            "category": "软件", "symptom": "门诊 HIS 登录超时，挂号窗口无法登录", "cause": "数据库连接池耗尽",
            "fix": "调大连接池上限并重启应用服务"}


def _resolved(app: Flask, client_for: Callable[[str], FlaskClient]) -> tuple[int, FlaskClient]:
    requester = client_for("requester")
    case = start_request(requester)
    desk, engineer = client_for("service_desk"), client_for("engineer")
    complete(desk, open_task(app, case, "accept"), {"request_confirmed": "true"})
    complete(desk, open_task(app, case, "classify"), {"category": "fault", "fault_level": "III"})
    return case, engineer


def test_engineer_writes_tech_lead_approves_and_the_case_closes(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    case, engineer = _resolved(app, client_for)
    remote_fix = open_task(app, case, "remote_fix")
    page = engineer.get(f"/tasks/{remote_fix}").text
    assert "知识库" in page and f"/kb/new?incident={case}" in page.replace("&amp;", "&")
    written = engineer.post("/kb/new", data={**SOLUTION, "_incident": str(case), "_next": f"/tasks/{remote_fix}",
                                             "_submit": "1"})
    assert written.status_code == 302 and written.location == f"/tasks/{remote_fix}"
    complete(engineer, remote_fix, {"resolved": "true", "method": "remote", "actions": "调大连接池"})

    requester = client_for("requester")
    satisfaction = open_task(app, case, "satisfaction")
    refused = requester.post(f"/tasks/{satisfaction}", data={"score": "5", "remaining_problem": "false"})
    assert refused.status_code == 422
    assert "cannot be closed yet" in refused.text and "in_review" in refused.text

    lead = client_for("tech_lead")
    queue = lead.get("/kb/review").text
    found = re.search(r'href="/tasks/(\d+)">', queue)
    assert found and "HIS 登录超时" in queue
    review_page = lead.get(f"/tasks/{found[1]}").text
    assert "待审核的解决方案" in review_page and "调大连接池上限并重启应用服务" in review_page
    complete(lead, int(found[1]), {"decision": "approve", "comment": "内容与属性均正确"})

    solution_page = engineer.get("/kb/1").text  # the author sees the outcome
    assert "已发布" in visible_text(solution_page) and "内容与属性均正确" in solution_page
    complete(requester, satisfaction, {"score": "5", "remaining_problem": "false"})
    assert "已结束" in visible_text(requester.get(f"/portal/requests/{case}").text)


def test_search_highlights_matches_and_links_a_solution(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    case, engineer = _resolved(app, client_for)
    engineer.post("/kb/new", data={**SOLUTION, "_submit": "1"})
    results = engineer.get(f"/kb?q=连接池&incident={case}").text
    assert "<mark>连接池</mark>" in results and f"关联到第 {case} 号请求" in results
    linked = engineer.post("/kb/link", data={"instance_id": case, "solution_id": 1, "next": f"/kb?incident={case}"})
    assert linked.status_code == 302
    page = engineer.get(f"/tasks/{open_task(app, case, 'remote_fix')}").text
    assert "已关联的解决方案" in page and "审核中" in page


def test_portal_search_shows_approved_solutions_only(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    engineer, lead, requester = client_for("engineer"), client_for("tech_lead"), client_for("requester")
    engineer.post("/kb/new", data={**SOLUTION, "_submit": "1"})
    engineer.post("/kb/new", data={**SOLUTION, "title": "HIS 打印超时（草稿）"})
    assert requester.get("/kb?q=超时").text.count('class="kb-hit"') == 0
    assert requester.get("/kb/2").status_code == 404
    review = re.search(r'href="/tasks/(\d+)">', lead.get("/kb/review").text)
    assert review
    complete(lead, int(review[1]), {"decision": "approve"})
    page = requester.get("/kb?q=超时").text
    assert "知识库自助查询" in page and page.count('class="kb-hit"') == 1 and "<mark>超时</mark>" in page
    assert "审核记录" not in requester.get("/kb/1").text  # review steps and linked cases are for staff


def test_managers_record_no_reusable_solution_from_the_task_page(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    case, engineer = _resolved(app, client_for)
    manager = client_for("service_manager")
    refused = engineer.post("/kb/no-reusable-solution", data={"instance_id": case, "reason": "一次性故障"})
    assert refused.status_code == 403
    done = manager.post("/kb/no-reusable-solution", data={"instance_id": case, "reason": "一次性故障",
                                                          "next": f"/portal/requests/{case}"})
    assert done.status_code == 302
    complete(engineer, open_task(app, case, "remote_fix"),
             {"resolved": "true", "method": "remote", "actions": "重启"})
    complete(client_for("requester"), open_task(app, case, "satisfaction"),
             {"score": "4", "remaining_problem": "false"})


def test_only_those_who_write_solutions_start_one_from_a_request(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    case, engineer = _resolved(app, client_for)
    assert "门诊 HIS 登录超时" in engineer.get(f"/kb/new?incident={case}").text  # pre-filled from the request
    refused = client_for("requester").get(f"/kb/new?incident={case}")
    assert refused.status_code == 403 and "门诊 HIS 登录超时" not in refused.text
