"""/reports: the KPI dashboard, drill-down to the cases behind a figure, CSV and XLSX exports, permissions."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from app import database
from engine import clock, users
from engine.desk import kpi, sla
from tests.app.conftest import visible_text
from tests.app.test_i18n import english_words
from tests.support.flows import REQUEST, Flow

T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
RESOLVED = {"resolved": True, "method": "remote", "actions": "远程重启服务"}
READERS = ["service_manager", "project_manager", "general_manager", "resident_manager", "auditor", "quality_admin",
           "report_reviewer"]
OUTSIDERS = ["engineer", "requester", "service_desk", "vendor", "process_owner"]
PAGES = ["/reports/?period=2026-11", "/reports/cases?period=2026-11&figure=opened",
         "/reports/export.xlsx?period=2026-11", "/reports/export.csv?period=2026-11&what=cases&figure=opened"]


@pytest.fixture
def cases(app: Flask) -> dict[str, int]:
    """Three November requests: east resolved in 2 h (score 5), west resolved in 4 h at level I, one open (east)."""
    db = database(app)
    with clock.frozen(T0) as advance:
        east = Flow(db, "service_desk", {**REQUEST, "zone": "东区", "device_type": "host"})
        west = Flow(db, "service_desk", {**REQUEST, "zone": "西区", "organisation": "市教育局"})
        waiting = Flow(db, "service_desk", {**REQUEST, "zone": "东区"})
        for flow, level in ((east, "III"), (west, "I"), (waiting, "II")):
            flow.complete("accept", {"request_confirmed": True}, "service_desk")
            # Level I classified as such goes on as an 应急 request (issue 11): west is re-graded to I instead.
            flow.complete("classify", {"category": "fault", "fault_level": "II" if level == "I" else level},
                          "service_desk")
        with db.transaction() as session:
            sla.change_fault_level(session, instance_id=west.id, level="I", actor=users.actor(session, "service_desk"))
        advance(2 * H)
        east.complete("remote_fix", RESOLVED, "engineer")
        east.allow_closing()
        east.complete("satisfaction", {"score": 5, "remaining_problem": False}, "requester")
        advance(2 * H)
        west.complete("remote_fix", RESOLVED, "engineer")
    return {"east": east.id, "west": west.id, "waiting": waiting.id}


def _ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-case="(\d+)">', html)]


def test_the_dashboard_shows_the_figures_in_chinese(client_for: Callable[[str], FlaskClient],
                                                    cases: dict[str, int]) -> None:
    page = client_for("service_manager").get("/reports/?period=2026-11")
    assert page.status_code == 200
    text = page.text
    assert 'lang="zh-CN"' in text and "服务报告" in text and "事件解决率" in text and "平均解决时间" in text
    assert english_words(text) == []
    assert re.search(r'data-figure="opened">.*?<a href="[^"]*">3</a>', text, re.S)
    assert re.search(r'data-figure="resolved">.*?<a href="[^"]*">2</a>', text, re.S)
    assert "66.7%" in text and "3.0 小时" in text  # 2 of 3 resolved; (2 h + 4 h) / 2
    assert "/reports/vendor/echarts/echarts.min.js" in text and 'id="chart-trend"' in text


def test_the_dashboard_in_english(client_for: Callable[[str], FlaskClient], cases: dict[str, int]) -> None:
    manager = client_for("service_manager")
    manager.post("/locale", data={"locale": "en"})
    text = manager.get("/reports/?period=2026-11&dimension=zone").text
    assert "Service reports" in text and "Resolution rate" in text and "Cases by Zone" in text
    assert "服务报告" not in text


def test_filters_narrow_the_figures(client_for: Callable[[str], FlaskClient], cases: dict[str, int]) -> None:
    manager = client_for("service_manager")
    east = manager.get("/reports/?period=2026-11&zone=东区", headers={"Accept": "application/json"}).get_json()
    level_one = manager.get("/reports/?period=2026-11&fault_level=I&customer=市教育局",
                            headers={"Accept": "application/json"}).get_json()
    december = manager.get("/reports/?period=2026-12", headers={"Accept": "application/json"}).get_json()
    assert (east["headline"]["opened"], east["headline"]["resolved"], east["filters"]) == (2, 1, {"zone": "东区"})
    assert (level_one["headline"]["opened"], level_one["headline"]["resolve_met"]) == (1, 1)
    assert december["headline"]["opened"] == 0
    refused = manager.get("/reports/?period=last-year")
    assert refused.status_code == 422 and "last-year" in refused.text


def test_drill_down_lists_the_cases_behind_a_figure(client_for: Callable[[str], FlaskClient],
                                                    cases: dict[str, int]) -> None:
    manager = client_for("service_manager")
    resolved = manager.get("/reports/cases?period=2026-11&figure=resolved")
    assert resolved.status_code == 200 and "已解决" in resolved.text and english_words(resolved.text) == []
    assert _ids(resolved.text) == [cases["west"], cases["east"]]
    # Each case links to its history, which managers may read.
    assert manager.get(f"/audit/instances/{cases['east']}").status_code == 200
    assert f'href="/audit/instances/{cases["east"]}"' in resolved.text
    backlog = manager.get("/reports/cases?period=2026-11&figure=backlog&zone=东区").text
    assert _ids(backlog) == [cases["waiting"]]
    by_zone = manager.get("/reports/cases?period=2026-11&figure=opened&dimension=zone&value=西区",
                          headers={"Accept": "application/json"}).get_json()
    assert [row["instance_id"] for row in by_zone["cases"]] == [cases["west"]] and by_zone["total"] == 1
    # Every link of the dashboard's figures leads to as many cases as the figure says.
    page = manager.get("/reports/?period=2026-11").text
    for figure, link, shown in re.findall(r'data-figure="(\w+)">.*?<a href="([^"]+)">([^<]+)</a>', page, re.S):
        if shown.isdigit():
            listed = manager.get(link.replace("&amp;", "&"), headers={"Accept": "application/json"}).get_json()
            assert listed["total"] == int(shown), figure


def test_the_chart_data_links_each_point_to_its_cases(app: Flask, client_for: Callable[[str], FlaskClient],
                                                      cases: dict[str, int]) -> None:
    manager = client_for("service_manager")
    page = manager.get("/reports/?period=2026-11&dimension=zone").text
    found = re.search(r'<script type="application/json" id="report-charts">(.*?)</script>', page, re.S)
    assert found
    import json

    charts = json.loads(found[1])
    assert [(point["name"], point["value"]) for point in charts["breakdown"]] == [("东区", 2), ("西区", 1)]
    day = charts["trend"][0]
    assert day["bucket"] == "2026-11-02" and day["opened"] == 3
    listed = manager.get(day["urls"]["opened"], headers={"Accept": "application/json"}).get_json()
    assert listed["total"] == 3
    assert charts["satisfaction"][4]["value"] == 1
    assert manager.get(charts["satisfaction"][4]["url"], headers={"Accept": "application/json"}).get_json()[
        "cases"][0]["instance_id"] == cases["east"]


def test_xlsx_export_reads_back(client_for: Callable[[str], FlaskClient], cases: dict[str, int]) -> None:
    response = client_for("auditor").get("/reports/export.xlsx?period=2026-11")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "kpi-2026-11.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[:5] == ["主要指标", "SLA", "满意度", "趋势", "积压"] and "片区" in book.sheetnames
    headline = {row[2]: row[1] for row in book["主要指标"].iter_rows(min_row=2, values_only=True)}
    assert (headline["opened"], headline["resolved"], headline["mttr_seconds"]) == (3, 2, 3 * 3600)
    zones = list(book["片区"].iter_rows(values_only=True))
    assert zones[0][:3] == ("片区", "新建工单", "已解决") and zones[1][:3] == ("东区", 2, 1)
    listed = client_for("auditor").get("/reports/export.xlsx?period=2026-11&what=cases&figure=resolved")
    rows = list(load_workbook(io.BytesIO(listed.data)).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("instance_id", "title") and [row[0] for row in rows[1:]] == [cases["west"], cases["east"]]


def test_csv_export_reads_back(client_for: Callable[[str], FlaskClient], cases: dict[str, int]) -> None:
    response = client_for("quality_admin").get(
        "/reports/export.csv?period=2026-11&what=cases&figure=opened&dimension=zone&value=东区")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["instance_id", "title"]
    assert sorted(int(row[0]) for row in rows[1:]) == sorted([cases["east"], cases["waiting"]])
    assert rows[0][-1] == "number" and all(re.fullmatch(r"[A-Z]{3}-\d{4}-\d{6}", row[-1]) for row in rows[1:])
    summary = client_for("quality_admin").get("/reports/export.csv?period=2026-11").data.decode("utf-8-sig")
    assert summary.startswith("主要指标\r\n指标,数值,键\r\n新建工单,3,opened\r\n")
    assert client_for("quality_admin").get("/reports/export.pdf?period=2026-11").status_code == 404


def test_only_report_readers_see_reports(client_for: Callable[[str], FlaskClient], cases: dict[str, int]) -> None:
    for username in READERS:
        client = client_for(username)
        assert [client.get(path).status_code for path in PAGES] == [200] * len(PAGES), username
        assert "/reports/" in client.get("/inbox" if username != "auditor" else "/audit/").text
    for username in OUTSIDERS:
        client = client_for(username)
        assert [client.get(path).status_code for path in PAGES] == [403] * len(PAGES), username
    refused = client_for("engineer").get("/reports/")
    assert "engineer 无权查看服务报告" in visible_text(refused.text)


def test_echarts_is_served_from_node_modules(client_for: Callable[[str], FlaskClient]) -> None:
    response = client_for("service_manager").get("/reports/vendor/echarts/echarts.min.js")
    assert response.status_code == 200 and b"echarts" in response.data[:2000]
    response.close()


def test_the_summary_the_pdf_reuses_matches_the_page(app: Flask, client_for: Callable[[str], FlaskClient],
                                                     cases: dict[str, int]) -> None:
    with database(app).transaction() as session:
        summary = kpi.summary(session, kpi.Period.parse("2026-11"))
    shown = client_for("auditor").get("/reports/?period=2026-11", headers={"Accept": "application/json"}).get_json()
    assert summary["headline"] == shown["headline"] and summary["sla"] == shown["sla"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_case_export_stops_at_its_limit_and_says_so(app: Flask, client_for: Callable[[str], FlaskClient],
                                                       cases: dict[str, int], fmt: str) -> None:
    app.config["REPORT_EXPORT_MAX_ROWS"] = 2
    response = client_for("auditor").get(f"/reports/export.{fmt}?period=2026-11&what=cases&figure=opened")
    assert response.status_code == 200
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    else:
        rows = [[cell for cell in row if cell is not None]
                for row in load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)]
    assert rows[0][:2] == ["instance_id", "title"]
    assert [int(row[0]) for row in rows[1:3]] == [cases["waiting"], cases["west"]]  # the newest two
    assert rows[3:] == [["仅导出最新的 2 个工单；其余请缩小时间段或筛选条件。"]]
