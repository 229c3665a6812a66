"""The report-archive pages: the figures on a report's task pages, browsing by class and attribute, the PDF
download with its hash, new versions, the 质量管理员's list, who may see what, and zh_CN throughout."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import database
from engine import clock, users
from engine.desk import service_reports
from tests.app.conftest import complete, open_task
from tests.app.test_i18n import english_words

NOV = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
DEC = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def today() -> Iterator[None]:
    with clock.frozen(dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)):
        yield


def _report(app: Flask, **changes: object) -> tuple[int, int]:
    """(report, its instance): a monthly 定期运维报告 for November, made by the project manager."""
    values: dict[str, object] = {"report_class": "regular", "cycle": "monthly", "period_start": NOV,
                                 "period_end": DEC, **changes}
    with database(app).transaction() as session:
        report = service_reports.create_report(session, actor=users.actor(session, "project_manager"),
                                               **values)  # type: ignore[arg-type]
        assert report.instance_id is not None
        return report.id, report.instance_id


def _archived(app: Flask, client_for: Callable[[str], FlaskClient]) -> int:
    report_id, instance_id = _report(app)
    complete(client_for("project_manager"), open_task(app, instance_id, "commentary"),
             {"commentary": "本月服务平稳，SLA 全部达成。"})
    complete(client_for("report_reviewer"), open_task(app, instance_id, "review"), {"decision": "approve"})
    complete(client_for("service_desk"), open_task(app, instance_id, "archive"),
             {"device_type": "camera", "customer_type": "government", "business_line": "video_surveillance"})
    return report_id


def test_the_report_steps_show_the_generated_figures(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    _, instance_id = _report(app)
    page = client_for("project_manager").get(f"/tasks/{open_task(app, instance_id, 'commentary')}")
    assert page.status_code == 200
    assert "2026 年 11 月 定期运维报告（月度）" in page.text and "受理事件数" in page.text
    assert page.text.count("<svg") == 7  # six breakdowns and the daily trend
    assert english_words(page.text) == []


def test_archive_browse_download_and_new_versions(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    report_id = _archived(app, client_for)
    desk = client_for("service_desk")
    listing = desk.get("/reports/archive/")
    assert listing.status_code == 200 and f'data-report="{report_id}"' in listing.text
    assert english_words(listing.text) == []
    filtered = desk.get("/reports/archive/?report_class=regular&customer_type=government")
    assert f'data-report="{report_id}"' in filtered.text
    assert f'data-report="{report_id}"' not in desk.get("/reports/archive/?business_line=call_center").text
    assert f'data-report="{report_id}"' not in desk.get("/reports/archive/?report_class=inspection").text
    as_json = desk.get("/reports/archive/", headers={"Accept": "application/json"}).get_json()
    [row] = as_json["reports"]
    [document] = row["documents"]
    pdf = desk.get(f"/reports/archive/documents/{document['id']}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert pdf.headers["X-Content-SHA256"] == hashlib.sha256(pdf.data).hexdigest() == document["sha256"]
    page = desk.get(f"/reports/archive/{report_id}")
    assert page.status_code == 200 and document["sha256"] in page.text and english_words(page.text) == []
    assert client_for("project_manager").post(f"/reports/archive/{report_id}/versions").status_code == 403
    assert desk.post(f"/reports/archive/{report_id}/versions").status_code == 302
    assert "第 2 版" in desk.get(f"/reports/archive/{report_id}").text


@pytest.mark.parametrize("username", ["requester", "engineer", "vendor"])
def test_outsiders_see_no_archive(app: Flask, client_for: Callable[[str], FlaskClient], username: str) -> None:
    report_id = _archived(app, client_for)
    client = client_for(username)
    assert client.get("/reports/archive/").status_code == 403
    assert client.get(f"/reports/archive/{report_id}").status_code == 403
    assert client.get("/reports/archive/documents/1.pdf").status_code == 403
    assert client.get("/reports/archive/tracking").status_code == 403
    assert "/reports/archive/" not in client.get("/", follow_redirects=True).text


def test_the_quality_administrator_sees_late_reports(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    late, _ = _report(app, due_at=DEC)
    on_time, _ = _report(app, report_class="inspection")
    quality = client_for("quality_admin")
    page = quality.get("/reports/archive/tracking")
    assert page.status_code == 200 and english_words(page.text) == []
    assert f'data-report="{late}"' in page.text and f'data-report="{on_time}"' not in page.text
    assert "已超过应交日期" in page.text and "逾期 1 天" in page.text
    rows = quality.get("/reports/archive/tracking", headers={"Accept": "application/json"}).get_json()["reports"]
    assert [(r["report"]["id"], r["problems"]) for r in rows] == [(late, ["overdue"])]
    assert client_for("project_manager").get("/reports/archive/tracking").status_code == 403
    assert "/reports/archive/" in quality.get("/", follow_redirects=True).text


def test_schedules_are_planned_on_their_page(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    desk = client_for("service_desk")
    assert "尚未计划定期报告" in desk.get("/reports/archive/schedules").text
    saved = desk.post("/reports/archive/schedules", data={"report_class": "resident", "cycle": "quarterly",
                                                           "contract": "HT-2026-031", "customer": "市教育局",
                                                           "due_days": "15", "first": "2026-11-20"})
    assert saved.status_code == 302
    page = desk.get("/reports/archive/schedules")
    assert "HT-2026-031" in page.text and "2026-10-01" in page.text and "驻点人员服务报告" in page.text
    assert english_words(page.text) == []
    assert desk.post("/reports/archive/schedules", data={"report_class": "major_event",
                                                         "cycle": "monthly"}).status_code == 422
    assert client_for("engineer").post("/reports/archive/schedules", data={
        "report_class": "regular", "cycle": "monthly"}).status_code == 403
    assert client_for("engineer").get("/reports/archive/schedules").status_code == 403
    assert 'name="report_class"' not in client_for("quality_admin").get("/reports/archive/schedules").text
