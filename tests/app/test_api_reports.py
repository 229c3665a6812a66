"""The reports API (/api/v1/reports): the KPI figures as /reports computes them, the archive and its PDFs with
their recorded hash, and who may read them (the dashboard's and the archive's readers only)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.app.conftest import start_request
from tests.app.test_api import Call, api, assert_problem  # noqa: F401 (api: the token client fixture)
from tests.app.test_report_archive import _archived, today  # noqa: F401 (the frozen day the archive needs)


def test_the_kpis_are_the_dashboards_figures(api: Callable[[str], Call],  # noqa: F811
                                              client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    start_request(requester)
    start_request(requester, "emergency")
    manager = api("service_manager")
    answer = manager("GET", "/reports/kpis?period=2026-12")
    assert answer.status_code == 200, answer.text
    figures = answer.get_json()
    assert figures["period"]["label"] == "2026-12" and figures["headline"]["opened"] == 2
    web = client_for("service_manager").get("/reports/?period=2026-12", headers={"Accept": "application/json"})
    assert {k: v for k, v in figures.items() if k != "now"} == {k: v for k, v in web.get_json().items() if k != "now"}
    assert set(figures["breakdowns"]) >= {"category", "engineer", "assigned_group"}
    by_zone = manager("GET", "/reports/kpis?period=2026-12&dimension=zone&process_id=emergency").get_json()
    assert by_zone["filters"] == {"process_id": "emergency"} and by_zone["headline"]["opened"] == 1
    assert "zone" in by_zone["breakdowns"]


@pytest.mark.parametrize(("query", "field"), [("period=2026-13", "period"), ("period=2026-12-05..2026-12-01", "period"),
                                              ("dimension=colour", "dimension")])
def test_a_bad_period_or_breakdown_is_a_problem_naming_it(api: Callable[[str], Call],  # noqa: F811
                                                          query: str, field: str) -> None:
    body = assert_problem(api("auditor")("GET", f"/reports/kpis?{query}"), 422)
    assert field in str(body)


def test_the_archive_lists_reports_and_hands_out_checked_pdfs(app: Flask, api: Callable[[str], Call],  # noqa: F811
                                                              client_for: Callable[[str], FlaskClient]) -> None:
    report_id = _archived(app, client_for)
    desk = api("service_desk")
    listing = desk("GET", "/reports/archive?report_class=regular")
    assert listing.status_code == 200, listing.text
    [row] = listing.get_json()["reports"]
    assert row["report"]["id"] == report_id and row["report"]["customer_type"] == "government"
    [document] = row["documents"]
    assert desk("GET", "/reports/archive?report_class=inspection").get_json() == {"reports": []}
    pdf = desk("GET", f"/reports/archive/documents/{document['id']}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert pdf.headers["X-Content-SHA256"] == hashlib.sha256(pdf.data).hexdigest() == document["sha256"]
    assert_problem(desk("GET", f"/reports/archive/documents/{document['id'] + 1}"), 404)


@pytest.mark.parametrize("username", ["requester", "engineer"])
def test_outsiders_read_no_reports(app: Flask, api: Callable[[str], Call],  # noqa: F811
                                   client_for: Callable[[str], FlaskClient], username: str) -> None:
    _archived(app, client_for)
    outsider = api(username)
    assert_problem(outsider("GET", "/reports/kpis"), 403)
    assert_problem(outsider("GET", "/reports/archive"), 403)
    assert_problem(outsider("GET", "/reports/archive/documents/1"), 403)
    assert_problem(app.test_client().get("/api/v1/reports/kpis"), 401)
