"""Issue 11 in a real browser: a 咨询 (question) the service desk answers itself, from the request to the
callback. The requester asks, the desk accepts, classifies it as a question, records its answer (服务台直接解答),
and calls the requester back (满意度回访); no engineer ever sees it. Screenshots go to tests/e2e/artifacts/."""
from __future__ import annotations

import re
from typing import Any

from tests.e2e.test_service_desk_journey import Person
from tests.support.flows import allow_closing


def test_a_question_is_answered_and_closed_by_the_service_desk(browser: Any, server: str,
                                                                server_database: Any) -> None:
    requester = Person(browser, server, "requester")
    desk = Person(browser, server, "service_desk")
    engineer = Person(browser, server, "engineer")
    try:
        page = requester.page
        page.goto(f"{server}/portal/new")
        page.select_option("#f-channel", "web")
        page.fill("#f-requester_name", "李四")
        page.fill("#f-contact_phone", "13900000000")
        page.fill("#f-organisation", "市教育局")
        page.fill("#f-system", "OA 系统")
        page.fill("#f-title", "如何修改 OA 密码")
        page.fill("#f-description", "想修改 OA 登录密码，不知道在哪里操作")
        page.check("input[name=urgency][value=low]")
        page.click("form.form button[type=submit]")
        page.wait_for_url(re.compile(r"/portal/requests/\d+$"))
        number = int(re.search(r"/portal/requests/(\d+)$", page.url)[1])  # type: ignore[index]

        desk.open_task("受理并记录服务请求")
        desk.page.check("input[name=request_confirmed][value=true]")
        desk.submit()
        desk.open_task("事件分类")
        desk.page.check("input[name=category][value=consultation]")
        desk.page.check("input[name=fault_level][value=IV]")
        desk.shot("fl-01-classify")
        desk.submit()

        # First-line resolution: the desk records its answer; no engineer is involved.
        desk.open_task("服务台直接解答")
        desk.page.fill("#f-answer", "登录 OA 后点击右上角头像，选择“修改密码”")
        desk.page.check("input[name=method][value=phone]")
        desk.page.check("input[name=resolved][value=true]")
        desk.shot("fl-02-answer")
        desk.submit()
        engineer.page.goto(f"{server}/inbox")
        assert engineer.page.locator("table.inbox a:has-text('如何修改 OA 密码')").count() == 0

        # The requester sees the survey waiting (they may answer it themselves) ...
        page.goto(f"{server}/portal/requests/{number}")
        assert page.locator(".attention a:has-text('满意度回访')").count() == 1
        assert page.locator("text=您也可以在这里直接作答").count() == 1
        requester.shot("fl-03-portal-survey")

        # ... but the service desk calls first (a question needs no reusable solution: a manager said so).
        allow_closing(server_database, number)
        desk.open_task("满意度回访")
        desk.page.fill("#f-score", "5")
        desk.page.fill("#f-comment", "电话回访，用户已成功修改密码")
        desk.page.check("input[name=remaining_problem][value=false]")
        desk.shot("fl-04-callback")
        desk.submit()

        page.goto(f"{server}/portal/requests/{number}")
        assert page.locator("text=已结束").count() >= 1
        assert page.locator(".attention").count() == 0  # nothing waits for the requester any more
        steps = page.locator(".timeline li")
        assert steps.count() == 4  # 受理, 事件分类, 服务台直接解答, 满意度回访: the desk's steps only
        assert "服务台直接解答" in steps.nth(2).inner_text()
        requester.shot("fl-05-closed")
    finally:
        for person in (requester, desk, engineer):
            person.close()
