"""The search box, the all-requests list with saved filters, and requests opened by their numbers
(app/requests)."""
from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.app.conftest import at_remote_fix, request_number, start_request, visible_text
from tests.app.test_i18n import english_words


def test_the_nav_has_the_search_box_for_agents_only(client_for: Callable[[str], FlaskClient]) -> None:
    assert 'action="/search"' in client_for("service_desk").get("/inbox").text
    assert 'action="/search"' not in client_for("requester").get("/portal/").text


def test_a_whole_number_jumps_to_the_request(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = start_request(client_for("requester"), title="打印机卡纸")
    number = request_number(app, instance_id)
    desk = client_for("service_desk")
    found = desk.get("/search", query_string={"q": number.lower()})
    assert found.status_code == 302 and found.location == f"/requests/{number}"
    opened = desk.get(found.location)
    assert opened.status_code == 302 and opened.location == f"/portal/requests/{instance_id}"
    page = desk.get(opened.location).text
    assert number in page  # the request page names it


def test_search_results_by_words_and_by_number_prefix(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    printer = start_request(client_for("requester"), title="打印机卡纸", organisation="市第一人民医院")
    other = start_request(client_for("requester"), title="交换机端口故障")
    desk = client_for("service_desk")
    page = desk.get("/search", query_string={"q": "人民医院"})
    assert page.status_code == 200
    assert request_number(app, printer) in page.text and request_number(app, other) not in page.text
    by_prefix = desk.get("/search", query_string={"q": request_number(app, printer)[:8]}).text
    assert request_number(app, printer) in by_prefix and request_number(app, other) in by_prefix
    assert "没有您可查看的请求" in desk.get("/search", query_string={"q": "蓝屏"}).text


def test_another_group_sees_nothing_until_the_request_reaches_it(app: Flask,
                                                               client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, task_id = at_remote_fix(app, client_for)  # the desk handed it to the engineers
    number = request_number(app, instance_id)
    vendor = client_for("vendor")
    assert number not in vendor.get("/search", query_string={"q": "HIS"}).text
    assert vendor.get(f"/requests/{number}").status_code == 404
    engineer = client_for("engineer")
    assert number in engineer.get("/search", query_string={"q": "HIS"}).text
    opened = engineer.get(f"/requests/{number}")
    assert opened.status_code == 302 and opened.location == f"/tasks/{task_id}"


def test_requesters_may_not_search(client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    assert requester.get("/search", query_string={"q": "HIS"}).status_code == 403
    assert requester.get("/requests").status_code == 403


def test_the_list_filters_and_pages(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    first = start_request(client_for("requester"), organisation="区教育局")
    second = start_request(client_for("requester"), organisation="市医院信息科")
    desk = client_for("service_desk")
    page = desk.get("/requests").text
    assert request_number(app, first) in page and request_number(app, second) in page
    filtered = desk.get("/requests", query_string={"customer": "教育局", "state": "open"})
    assert filtered.status_code == 200
    text = visible_text(filtered.text)
    assert request_number(app, first) in text and request_number(app, second) not in text
    assert desk.get("/requests", query_string={"sort": "sideways"}).status_code == 422
    assert desk.get("/requests", query_string={"opened_from": "yesterday"}).status_code == 422


def test_saved_filters_save_rename_delete_and_stay_their_owners(app: Flask,
                                                              client_for: Callable[[str], FlaskClient]) -> None:
    desk = client_for("service_desk")
    saved = desk.post("/requests/filters", data={"name": "一级未结", "query": "fault_level=I&state=open&x=1"})
    assert saved.status_code == 302 and saved.location == "/requests?fault_level=I&state=open"
    page = desk.get("/requests").text
    filter_id = int(re.search(r'data-filter="(\d+)"', page)[1])  # type: ignore[index]
    assert "一级未结" in page
    clash = desk.post("/requests/filters", data={"name": "一级未结", "query": ""}, follow_redirects=True)
    assert "您已有名为" in clash.text
    engineer = client_for("engineer")
    assert "一级未结" not in engineer.get("/requests").text
    assert engineer.post(f"/requests/filters/{filter_id}/delete").status_code == 404
    assert desk.post(f"/requests/filters/{filter_id}/rename", data={"name": "一级"}).status_code == 302
    assert "一级未结" not in desk.get("/requests").text
    assert desk.post(f"/requests/filters/{filter_id}/delete").status_code == 302
    assert 'data-filter=' not in desk.get("/requests").text


def test_a_filter_shared_with_a_group_is_seen_by_its_members(client_for: Callable[[str], FlaskClient]) -> None:
    engineer = client_for("engineer")
    assert engineer.post("/requests/filters", data={"name": "组内逾期", "query": "overdue=1",
                                                    "group_id": "engineer"}).status_code == 302
    assert "组内逾期" in client_for("engineer2").get("/requests").text
    assert "组内逾期" not in client_for("service_desk").get("/requests").text
    refused = engineer.post("/requests/filters", data={"name": "x", "group_id": "service_desk"},
                            follow_redirects=True)
    assert "只能共享给您自己所在的组" in refused.text
    assert 'data-filter=' in refused.text and ">x</a>" not in refused.text


def test_numbers_are_shown_in_the_inbox_and_on_task_pages(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, task_id = at_remote_fix(app, client_for)
    number = request_number(app, instance_id)
    engineer = client_for("engineer")
    assert number in engineer.get("/inbox").text
    assert number in engineer.get(f"/tasks/{task_id}").text
    assert number in client_for("requester").get("/portal/").text
    assert number in client_for("auditor").get("/audit/").text
    assert number in client_for("auditor").get(f"/audit/instances/{instance_id}").text


def test_the_pages_are_chinese_by_default_and_english_on_request(app: Flask,
                                                                 client_for: Callable[[str], FlaskClient]) -> None:
    start_request(client_for("requester"), title="打印机卡纸")
    desk = client_for("service_desk")
    desk.post("/requests/filters", data={"name": "一级", "query": "fault_level=I", "group_id": "service_desk"})
    pages = {"list": desk.get("/requests"), "results": desk.get("/search", query_string={"q": "打印机"}),
             "no results": desk.get("/search", query_string={"q": "蓝屏"}),
             "not found": desk.get("/requests/INC-1999-000001")}
    assert {name: english_words(page.text) for name, page in pages.items() if english_words(page.text)} == {}
    desk.post("/locale", data={"locale": "en"})
    assert "Saved filters" in desk.get("/requests").text and "Search requests" in desk.get("/search").text
