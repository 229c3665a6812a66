"""An agent finds a request by its number in the nav's search box and lands on it; by words, the results list
the request and its number opens it; the all-requests list saves a filter. Screenshots go to
tests/e2e/artifacts/."""
from __future__ import annotations

import re
from typing import Any

from tests.e2e.test_service_desk_journey import Person


def test_search_by_number_then_open_the_request(browser: Any, server: str) -> None:
    requester = Person(browser, server, "requester")
    desk = Person(browser, server, "service_desk")
    try:
        page = requester.page
        page.goto(f"{server}/portal/new")
        page.select_option("#f-channel", "phone")
        page.fill("#f-requester_name", "李四")
        page.fill("#f-contact_phone", "13900000000")
        page.fill("#f-organisation", "区教育局")
        page.fill("#f-system", "校园网")
        page.fill("#f-title", "教学楼断网")
        page.fill("#f-description", "教学楼三层全部断网，交换机指示灯不亮")
        page.check("input[name=urgency][value=high]")
        page.click("form.form button[type=submit]")
        page.wait_for_url(re.compile(r"/portal/requests/\d+$"))
        request_url = page.url
        number = page.locator("dd.request-number").inner_text().strip()
        assert re.fullmatch(r"INC-\d{4}-\d{6}", number)
        assert page.locator("form.nav-search").count() == 0  # requesters have no search box

        page = desk.page
        page.goto(f"{server}/inbox")
        assert number in page.locator("table.inbox").inner_text()
        page.fill("form.nav-search input[name=q]", number.lower())
        page.press("form.nav-search input[name=q]", "Enter")
        page.wait_for_url(request_url)
        assert page.locator("dd.request-number").inner_text().strip() == number
        assert "教学楼断网" in page.locator("h1").inner_text()
        desk.shot("s01-search-by-number")

        page.fill("form.nav-search input[name=q]", "交换机 教育局")
        page.press("form.nav-search input[name=q]", "Enter")
        page.wait_for_url(re.compile(r"/search\?q="))
        assert page.locator("h1").inner_text() == "搜索请求"
        rows = page.locator("table.search-results tbody tr")
        assert rows.count() == 1 and number in rows.first.inner_text()
        desk.shot("s02-search-by-words")
        rows.first.locator("a.request-number").click()
        page.wait_for_url(request_url)

        page.click("header a:has-text('全部请求')")
        page.wait_for_url(f"{server}/requests")
        page.fill("#request-filters input[name=customer]", "教育局")
        page.select_option("#request-filters select[name=state]", "open")
        page.click("#request-filters button[type=submit]")
        page.wait_for_load_state()
        assert number in page.locator("table.requests").inner_text()
        page.fill("#save-filter input[name=name]", "教育局未结")
        page.click("#save-filter button[type=submit]")
        page.wait_for_load_state()
        assert "已保存" in page.locator(".flash-success").inner_text()
        page.goto(f"{server}/requests")
        page.click(".saved-filters a:has-text('教育局未结')")
        page.wait_for_load_state()
        assert page.input_value("#request-filters input[name=customer]") == "教育局"
        assert number in page.locator("table.requests").inner_text()
        desk.shot("s03-saved-filter")
    finally:
        requester.close()
        desk.close()
