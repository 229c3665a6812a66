"""/api/v1/requests: the agents' search and list, and a request by its number."""
from __future__ import annotations

import re
from collections.abc import Callable

from tests.app.test_api import Call, api, assert_problem, start  # noqa: F401  (api: the fixture)


def test_search_list_and_number(api: Callable[[str], Call]) -> None:  # noqa: F811
    requester = api("requester")
    printer = start(requester, title="打印机卡纸", organisation="市第一人民医院").json
    other = start(requester, title="交换机端口故障").json
    assert re.fullmatch(r"INC-\d{4}-\d{6}", printer["number"])
    desk = api("service_desk")
    found = desk("GET", "/requests", query_string={"q": "人民医院"})
    assert found.status_code == 200, found.text
    assert [r["number"] for r in found.json["requests"]] == [printer["number"]]
    assert found.json["total"] is None and "人民医院" in "".join(found.json["terms"])
    listed = desk("GET", "/requests", query_string={"state": "open", "page_size": 1}).json
    assert [r["id"] for r in listed["requests"]] == [other["id"]] and listed["has_more"] and listed["total"] == 2
    searched_and_filtered = desk("GET", "/requests", query_string={"q": "卡纸", "state": "closed"}).json
    assert searched_and_filtered["requests"] == []
    one = desk("GET", f"/requests/{printer['number'].lower()}")
    assert one.status_code == 200 and one.json["id"] == printer["id"] and one.json["customer"] is not None
    task = desk("GET", "/tasks", query_string={"scope": "visible"}).json[0]
    assert re.fullmatch(r"INC-\d{4}-\d{6}", task["number"])


def test_who_finds_what(api: Callable[[str], Call]) -> None:  # noqa: F811
    mine = start(api("requester")).json
    assert_problem(api("requester")("GET", "/requests"), 403)
    assert api("vendor")("GET", "/requests").json["requests"] == []
    assert_problem(api("vendor")("GET", f"/requests/{mine['number']}"), 404)
    assert api("auditor")("GET", f"/requests/{mine['number']}").status_code == 200
    assert_problem(api("service_desk")("GET", "/requests/INC-1999-000001"), 404)
    assert_problem(api("service_desk")("GET", "/requests", query_string={"sort": "x"}), 422)
