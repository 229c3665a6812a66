"""The complaint journey in a real browser (seed 000 第二篇 督促/投诉): the requester chases an open request;
a chase too soon is refused with the time of the next; the 3rd chase makes it a complaint; the service desk
sees the chases on its inbox and on the task; the service manager names the first-responsible person with
the user picker and handles the complaint; the service desk's callback finds the customer satisfied and
the complaint closes. Screenshots go to tests/e2e/artifacts/."""
from __future__ import annotations

import re
from typing import Any

import pytest

from engine.desk import complaint
from tests.e2e.test_service_desk_journey import Person


def test_chase_three_times_complaint_handled_customer_satisfied(browser: Any, server: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    requester = Person(browser, server, "requester")
    desk = Person(browser, server, "service_desk")
    manager = Person(browser, server, "service_manager")
    try:
        # 用户: raises a request and chases it
        page = requester.page
        page.goto(f"{server}/portal/new")
        page.select_option("#f-channel", "phone")
        page.fill("#f-requester_name", "李四")
        page.fill("#f-contact_phone", "13900000000")
        page.fill("#f-organisation", "区教育局")
        page.fill("#f-system", "校园网")
        page.fill("#f-title", "教学楼断网")
        page.fill("#f-description", "教学楼三层全部断网")
        page.check("input[name=urgency][value=high]")
        page.click("form.form button[type=submit]")
        page.wait_for_url(re.compile(r"/portal/requests/\d+$"))
        request_url = page.url

        def chase(note: str) -> None:
            page.fill("#note", note)
            page.click("form[action$='/chase'] button[type=submit]")
            page.wait_for_url(request_url)

        chase("一上午了还没人联系我")
        assert "已记录第 1 次督促" in page.inner_text("main")
        chase("再催一次")  # too soon: refused, and told when the next chase is possible
        assert re.search(r"每 30 分钟只能督促一次：下次可在 .+ 之后督促", page.inner_text("main"))
        assert "客户已督促此请求 1 次" in page.inner_text("main")
        requester.shot("c01-chase-too-soon")
        monkeypatch.setenv(complaint.INTERVAL_SETTING, "0")  # as if half an hour had passed each time
        chase("还是没人来")
        chase("第三次督促，要投诉")
        main = page.inner_text("main")
        assert "此请求现按投诉处理" in main and "客户已督促此请求 3 次" in main
        complaint_no = re.search(r"投诉处理第 (\d+) 号", main)
        assert complaint_no, main
        requester.shot("c02-complaint-raised")

        # 服务台: the chases on its inbox, and on the task of the request
        desk.page.goto(f"{server}/inbox")
        chases = desk.page.inner_text("section.chases")
        assert "第三次督促，要投诉" in chases and "一上午了还没人联系我" in chases and "requester" in chases
        desk.shot("c03-desk-inbox-chases")
        desk.open_task("受理并记录服务请求")
        banner = desk.page.inner_text("section.chases")
        assert "客户已督促此请求 3 次" in banner and "还是没人来" in banner
        assert "此请求按投诉处理" in desk.page.inner_text("main")

        # 服务经理: 确定第一责任人 with the user picker, then 投诉处理
        manager.open_task("确定第一责任人")
        assert "这是关于服务请求第" in manager.page.inner_text("main")
        assert manager.page.locator("select#f-first_responsible[data-user-picker]").count() == 1
        assert manager.page.locator("select#f-first_responsible option[value=requester]").count() == 0
        manager.page.select_option("#f-first_responsible", "engineer")
        manager.page.fill("#f-finding", "工程师未按预约时间到场")
        manager.shot("c04-first-responsible")
        manager.submit()
        manager.open_task("投诉处理")
        manager.page.fill("#f-actions", "当天下午派工程师到场恢复网络，并向客户致歉")
        manager.page.fill("#f-cause", "派单片区匹配错误")
        manager.submit()

        # 服务台: 投诉回访 — the customer is satisfied; the complaint closes
        desk.open_task("投诉回访")
        desk.page.check("input[name=satisfied][value=true]")
        desk.page.fill("#f-customer_comment", "网络已恢复，满意")
        desk.shot("c05-callback")
        desk.submit()
        page.goto(f"{server}/portal/requests/{complaint_no[1]}")
        main = page.inner_text("main")
        assert "已结束" in main and "这是关于服务请求第" in main
        assert page.locator(".timeline li").count() == 3  # named, handled, called back
        requester.shot("c06-complaint-closed")
        page.goto(request_url)
        assert "客户已于" in page.inner_text("section.complaint-link")  # the request shows the satisfied complaint
    finally:
        for person in (requester, desk, manager):
            person.close()
