"""The service desk keeps a customer and its contract in the browser: the customer (with its need owner),
a contract whose warranty defaults to three years from acceptance, and its health-check cycle; a bad cycle
is refused with a message and nothing changes. Screenshots go to tests/e2e/artifacts/."""
from __future__ import annotations

from typing import Any

from tests.e2e.test_service_desk_journey import Person


def test_the_service_desk_keeps_a_customer_a_contract_and_its_health_check_cycle(browser: Any, server: str) -> None:
    desk = Person(browser, server, "service_desk")
    try:
        page = desk.page
        page.goto(f"{server}/inbox")
        page.click("header a:has-text('客户')")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "客户"
        page.fill("#new-customer #f-name", "涟水县人民医院")
        page.fill("#new-customer #f-address", "涟水县东大街 1 号")
        page.select_option("#new-customer #f-vip_tier", "key")
        page.fill("#new-customer #f-interface_person", "李主任")
        page.fill("#new-customer #f-need_owner", "requester")
        page.click("#new-customer button[type=submit]")
        page.wait_for_load_state()
        assert "客户 涟水县人民医院 已保存" in page.locator(".flash-success").inner_text()
        assert page.locator("h1").inner_text() == "涟水县人民医院"
        assert page.input_value("#customer-form #f-need_owner") == "requester"

        page.fill("#new-contract #f-code", "HT-2026-01")
        page.fill("#new-contract #f-title", "信息系统运维合同")
        page.fill("#new-contract #f-accepted_on", "2026-03-01")
        page.select_option("#new-contract #f-sla_level", "II")
        page.click("#new-contract button[type=submit]")
        page.wait_for_load_state()
        row = page.locator("#customer-contracts tbody tr").first
        assert "HT-2026-01" in row.inner_text() and "2029-03-01" in row.inner_text()  # 3 years by default
        desk.shot("customers-1-customer")

        page.click("#customer-contracts a:has-text('HT-2026-01')")
        page.wait_for_load_state()
        assert "2026-03-01" in page.locator("#warranty").inner_text()
        assert "2029-03-01" in page.locator("#warranty").inner_text()
        page.fill("#health-check-form input[name=cycle]", "每月")
        page.click("#health-check-form button[type=submit]")
        page.wait_for_load_state()
        assert "每月" in page.locator(".flash-error").inner_text()
        assert "尚未安排健康检查" in page.locator("#health-check-schedule").inner_text()
        page.fill("#health-check-form input[name=cycle]", "P3M")
        page.click("#health-check-form button[type=submit]")
        page.wait_for_load_state()
        assert "健康检查周期已保存" in page.locator(".flash-success").inner_text()
        assert "P3M" in page.locator("#health-check-schedule").inner_text()
        desk.shot("customers-2-contract")

        page.click("a:has-text('合同')")
        page.wait_for_load_state()
        assert "P3M" in page.locator("#contracts").inner_text()
    finally:
        desk.close()
