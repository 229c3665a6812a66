"""Spare parts in a real browser: a manager stocks a part, the engineer's on-site fix picks it from the
catalogue (a refusal first: more than in stock), and the part shows as issued on the stock page, the
ledger and the monthly report. Screenshots go to tests/e2e/artifacts/."""
from __future__ import annotations

from typing import Any

from engine import users
from engine.process import runtime
from engine.store.db import Database
from tests.bpmn import helpers as h
from tests.e2e.test_service_desk_journey import Person
from tests.support.flows import Flow

INTAKE = [("accept", h.accept(), "service_desk"), ("classify", h.classify(), "service_desk"),
          ("remote_fix", h.resolution(resolved=False), "engineer"),
          ("dispatch_onsite", h.dispatch_onsite(), "service_desk")]


def _case_at_onsite_fix(db: Database) -> int:
    with db.transaction() as session:
        instance = runtime.start_instance(session, process_id="service_desk", data=h.request(),
                                          actor=users.actor(session, "requester"))
    flow = Flow.__new__(Flow)
    flow.db, flow.id = db, instance.id
    for element, data, user in INTAKE:
        flow.complete(element, data, user)
    return flow.id


def test_an_onsite_fix_consuming_a_part_shows_on_the_stock_page_and_the_monthly_report(
        browser: Any, server: str, server_database: Database) -> None:
    manager = Person(browser, server, "service_manager")
    engineer = Person(browser, server, "engineer")
    try:
        page = manager.page
        page.goto(f"{server}/parts/")
        page.fill("form[action='/parts/centres'] input[name=code]", "SZ")
        page.fill("form[action='/parts/centres'] input[name=name]", "深圳服务中心")
        page.click("form[action='/parts/centres'] button[type=submit]")
        page.fill("form[action='/parts/new'] input[name=code]", "PSU-650")
        page.fill("form[action='/parts/new'] input[name=label]", "交换机电源")
        page.fill("form[action='/parts/new'] input[name=model]", "S5720 650W")
        page.fill("form[action='/parts/new'] input[name=unit_price]", "350")
        page.click("form[action='/parts/new'] button[type=submit]")
        assert page.locator("tr[data-part='PSU-650']").count() == 1
        page.goto(f"{server}/parts/stock")
        receive = "form[data-action='parts.receive']"
        page.select_option(f"{receive} select[name=part]", "PSU-650")
        page.select_option(f"{receive} select[name=centre]", "SZ")
        page.fill(f"{receive} input[name=quantity]", "2")
        page.click(f"{receive} button[type=submit]")
        assert page.inner_text("tr[data-part='PSU-650'] td.quantity") == "2"
        manager.shot("parts-01-stocked")

        instance_id = _case_at_onsite_fix(server_database)
        engineer.open_task("现场服务")
        form = engineer.page
        assert form.locator("datalist#picker-parts_used-part option[value='PSU-650']").count() == 1
        form.check("input[name=resolved][value=true]")
        form.select_option("#f-method", "onsite")
        form.fill("#f-actions", "更换交换机电源")
        form.fill("input[name='parts_used-0-part']", "PSU-650")
        form.fill("input[name='parts_used-0-quantity']", "3")
        form.fill("input[name='parts_used-0-centre']", "SZ")
        form.fill("#f-work_done", "更换电源，设备恢复")
        form.check("input[name=customer_confirmed][value=true]")
        engineer.submit()
        assert "库存不足：需要 3 件，仅剩 2 件" in form.inner_text("#e-parts_used")
        engineer.shot("parts-02-refused")
        form.fill("input[name='parts_used-0-quantity']", "1")
        engineer.submit()
        assert "/inbox" in form.url

        page.goto(f"{server}/parts/stock?centre=SZ")
        assert page.inner_text("tr[data-part='PSU-650'] td.quantity") == "1"
        manager.shot("parts-03-stock-after")
        page.goto(f"{server}/parts/ledger?instance={instance_id}")
        assert page.locator("tr[data-kind='issue'][data-part='PSU-650']").count() == 1
        page.goto(f"{server}/parts/report")
        assert page.inner_text("table.parts-report tr[data-part='PSU-650'] td.issued") == "1"
        manager.shot("parts-04-monthly-report")
    finally:
        manager.close()
        engineer.close()
