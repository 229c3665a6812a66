"""The service-desk journey in a real browser, four users, through the on-site branch:
requester raises it, the service desk accepts and classifies, the engineer cannot fix it remotely,
the desk dispatches an on-site order, the engineer fixes it on site with spare parts, the requester
answers the satisfaction call, and the auditor reads the case without a single action button.
Screenshots of every step go to tests/e2e/artifacts/."""
from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import ARTIFACTS
from tests.support.parts import stock_parts

PASSWORD = "opsflow-demo"


class Person:
    """One user in their own browser context (own cookies), taking screenshots as they go."""

    def __init__(self, browser: Any, base: str, username: str):
        self.base, self.username = base, username
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.page.goto(f"{base}/login")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("form[action='/login'] button[type=submit]")
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, f"{username} could not sign in"

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def open_task(self, step_name: str) -> None:
        """From the inbox (or the portal), open the task whose link reads step_name."""
        self.page.goto(f"{self.base}/inbox")
        self.page.click(f"table.inbox a:has-text('{step_name}')")
        self.page.wait_for_selector("#diagram[data-rendered]")
        assert self.page.get_attribute("#diagram", "data-rendered") != "error", "the diagram did not render"

    def submit(self) -> None:
        self.page.click("form.form button[type=submit]")
        self.page.wait_for_load_state()

    def close(self) -> None:
        self.context.close()


def test_on_site_journey_with_four_users(browser: Any, server: str, server_database: Any) -> None:
    stock_parts(server_database, {"交换机电源": 2, "网线": 10})  # the parts the engineer uses, in stock
    requester = Person(browser, server, "requester")
    desk = Person(browser, server, "service_desk")
    engineer = Person(browser, server, "engineer")
    auditor = Person(browser, server, "auditor")
    lead = Person(browser, server, "tech_lead")
    try:
        # 用户: 提出服务需求 (a required field left empty first: the message, and the typed text, come back)
        page = requester.page
        page.goto(f"{server}/portal/new")
        page.select_option("#f-channel", "phone")
        page.fill("#f-requester_name", "张三")
        page.fill("#f-contact_phone", "13800000000")
        page.fill("#f-system", "视频监控平台")
        page.fill("#f-title", "3 号楼摄像头离线")
        page.fill("#f-description", "3 号楼 12 路摄像头全部离线")
        page.check("input[name=urgency][value=high]")
        page.click("form.form button[type=submit]")
        assert page.locator(".field.has-error #f-organisation").count() == 1
        assert page.input_value("#f-title") == "3 号楼摄像头离线"
        requester.shot("01-request-form-error")
        page.fill("#f-organisation", "市公安局")
        page.click("form.form button[type=submit]")
        page.wait_for_url(re.compile(r"/portal/requests/\d+$"))
        requester.shot("02-request-raised")

        # 服务台: claim, 受理并记录, 事件分类
        desk.open_task("受理并记录服务请求")
        desk.page.click("button:has-text('认领')")
        desk.page.check("input[name=request_confirmed][value=true]")
        desk.page.fill("#f-notes", "电话回拨确认")
        desk.shot("03-accept")
        desk.submit()
        desk.open_task("事件分类")
        desk.page.check("input[name=category][value=fault]")
        desk.page.check("input[name=fault_level][value=II]")
        desk.submit()

        # 技术支持: 远程解决 fails
        engineer.open_task("远程解决")
        assert engineer.page.locator("text=电话回拨确认").count() == 1  # earlier steps are on the page
        engineer.page.check("input[name=resolved][value=false]")
        engineer.page.select_option("#f-method", "remote")
        engineer.page.fill("#f-actions", "远程登录 NVR，无法连通")
        engineer.shot("04-remote-fix")
        engineer.submit()

        # 审计员: sees the waiting task, the case so far and the diagram, and not one form or button
        auditor.open_task("派发现场服务单")
        assert auditor.page.locator("main form").count() == 0
        assert auditor.page.locator("text=审计员可以查看此任务，但不能办理。").count() == 1
        auditor.shot("05-auditor-task")

        # 服务台: 派发现场服务单
        desk.open_task("派发现场服务单")
        desk.page.select_option("#f-engineer", "engineer")  # a picker of the engineer group
        desk.page.fill("#f-appointment_at", "2026-11-25T09:30")
        desk.page.fill("#f-address", "市公安局 3 号楼机房")
        desk.submit()

        # 技术支持: 现场服务 — first the solution for the knowledge base, written from the step's page (seed 003)
        engineer.open_task("现场服务")
        engineer.page.click(".kb-panel a:has-text('编写新解决方案')")
        engineer.page.wait_for_url(re.compile(r"/kb/new\?"))
        assert engineer.page.input_value("#f-title") == "3 号楼摄像头离线"  # taken from the request
        engineer.page.fill("#f-cause", "交换机电源模块损坏，摄像头失去供电")
        engineer.page.fill("#f-fix", "更换交换机电源，确认 12 路摄像头恢复在线")
        engineer.shot("06a-solution-editor")
        engineer.page.click("button[name=_submit]")
        engineer.page.wait_for_url(re.compile(r"/tasks/\d+$"))
        assert "已关联的解决方案" in engineer.page.inner_text(".kb-panel")

        # ... then the step itself, with two spare parts (the second row added in the browser)
        engineer.page.check("input[name=resolved][value=true]")
        engineer.page.select_option("#f-method", "onsite")
        engineer.page.fill("#f-actions", "更换交换机电源")
        engineer.page.fill("input[name='parts_used-0-part']", "交换机电源")
        engineer.page.fill("input[name='parts_used-0-quantity']", "1")
        engineer.page.click("button[data-add-row=parts_used]")
        engineer.page.fill("input[name='parts_used-1-part']", "网线")
        engineer.page.fill("input[name='parts_used-1-quantity']", "3")
        engineer.page.fill("#f-work_done", "更换电源，摄像头恢复在线")
        engineer.page.check("input[name=customer_confirmed][value=true]")
        engineer.shot("06-onsite-fix")
        engineer.submit()

        # 技术负责人: reviews the solution from the review queue and approves it, so the case may close
        lead.page.goto(f"{server}/kb/review")
        lead.page.click("table.list a:text-is('审核')")
        assert "更换交换机电源" in lead.page.inner_text(".kb-panel")
        lead.page.check("input[name=decision][value=approve]")
        lead.page.fill("#f-comment", "内容与属性正确")
        lead.shot("06b-review")
        lead.submit()

        # 用户: 满意度回访 from the portal's "waiting for you"
        page.goto(f"{server}/portal/")
        page.click(".attention a:has-text('满意度回访')")
        page.fill("#f-score", "5")
        page.check("input[name=remaining_problem][value=false]")
        requester.shot("07-satisfaction")
        page.click("form.form button[type=submit]")
        page.wait_for_url(re.compile(r"/portal/requests/\d+$"))
        assert page.locator("text=已结束").count() >= 1
        requester.shot("08-request-closed")

        # 审计员: the closed request, read only
        number = re.search(r"/portal/requests/(\d+)$", page.url)
        assert number
        auditor.page.goto(f"{server}/portal/requests/{number[1]}")
        assert auditor.page.locator("main form").count() == 0
        assert auditor.page.locator(".timeline li").count() == 6
        auditor.shot("09-auditor-request")
    finally:
        for person in (requester, desk, engineer, auditor, lead):
            person.close()
