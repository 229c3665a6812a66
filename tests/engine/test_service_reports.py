"""The service-report procedure (seed 002): review branches, periodic generation exactly once per period,
the PDF in Chinese, the immutable archive with its hash check, permissions, the 质量管理员's list of late and
incomplete reports, and the quarterly customer callbacks."""
from __future__ import annotations

import datetime as dt
import hashlib
import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DatabaseError, IntegrityError

from engine import clock, users
from engine.desk import report_archive, report_figures, report_pdf, service_reports
from engine.desk.report_figures import ZONE
from engine.errors import ArchiveCorrupted, Conflict, Forbidden, InvalidInput, NotFound
from engine.process import runtime
from engine.store.db import Database
from engine.store.report_models import ReportCallback, ReportDocument, ReportSchedule, ServiceReport
from tests.support.flows import REQUEST, Flow

# Periods are local calendar months (Asia/Shanghai unless OPSFLOW_TIMEZONE says otherwise).
NOV = dt.datetime(2026, 11, 1, tzinfo=ZONE)
DEC = dt.datetime(2026, 12, 1, tzinfo=ZONE)
# Tests run on the engine clock at this time unless they move it (reports of November are due 2026-12-11).
TODAY = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
COMMENTARY = "本月 SLA 达成率良好；II 级事件一起超时，原因为备件到货延迟，已增加备件库存。"


@pytest.fixture(autouse=True)
def today() -> Iterator[None]:
    with clock.frozen(TODAY):
        yield


def _report(db: Database, *, by: str = "project_manager", **changes: object) -> int:
    values: dict[str, object] = {"report_class": "major_event", "period_start": NOV, "period_end": DEC,
                                 "customer": "市第一人民医院", **changes}
    with db.transaction() as session:
        return service_reports.create_report(session, actor=users.actor(session, by), **values).id  # type: ignore[arg-type]


def _flow(db: Database, report_id: int) -> Flow:
    with db.transaction() as session:
        instance_id = service_reports.get_report(session, report_id).instance_id
    flow = Flow.__new__(Flow)
    flow.db, flow.id = db, instance_id
    return flow


def _row(db: Database, report_id: int) -> ServiceReport:
    with db.transaction() as session:
        report = service_reports.get_report(session, report_id)
        session.expunge(report)
        return report


def _documents(db: Database, report_id: int) -> list[tuple[int, str, bytes]]:
    with db.transaction() as session:
        return [(d.version, d.sha256, bytes(d.content)) for d in session.scalars(
            select(ReportDocument).where(ReportDocument.report_id == report_id).order_by(ReportDocument.version))]


ARCHIVE = {"device_type": "host", "customer_type": "medical", "business_line": "software_platform"}


def _to_archive(db: Database, report_id: int) -> Flow:
    flow = _flow(db, report_id)
    flow.complete("commentary", {"commentary": COMMENTARY}, "project_manager")
    flow.complete("review", {"decision": "approve"}, "report_reviewer")
    flow.complete("archive", ARCHIVE, "service_desk")
    return flow


# --- review branches ---------------------------------------------------------------------------------

def test_approved_report_is_archived_with_its_pdf(bundled: Database) -> None:
    report_id = _report(bundled)
    flow = _flow(bundled, report_id)
    assert flow.open_elements() == ["commentary"]
    report = _row(bundled, report_id)
    assert report.figures["opened"] == 0  # generated when the report was made
    assert flow.open_tasks()[0]["due_at"] == report.due_at.isoformat() == "2026-12-10T16:00:00+00:00"  # 12-11 00:00
    flow.complete("commentary", {"commentary": COMMENTARY}, "project_manager")
    assert (_row(bundled, report_id).status, flow.open_elements()) == ("in_review", ["review"])
    flow.complete("review", {"decision": "approve"}, "report_reviewer")
    assert (_row(bundled, report_id).status, flow.open_elements()) == ("approved", ["archive"])
    flow.complete("archive", ARCHIVE, "service_desk")
    report = _row(bundled, report_id)
    assert (report.status, report.archived_by, report.reviewer, flow.status()) == (
        "archived", "service_desk", "report_reviewer", "completed")
    assert (report.device_type, report.customer_type, report.business_line) == ("host", "medical", "software_platform")
    [(version, sha, content)] = _documents(bundled, report_id)
    assert version == 1 and content.startswith(b"%PDF") and sha == hashlib.sha256(content).hexdigest()


def test_send_back_needs_a_reason_and_loops_to_the_commentary(bundled: Database) -> None:
    report_id = _report(bundled)
    flow = _flow(bundled, report_id)
    flow.complete("commentary", {"commentary": "初稿"}, "project_manager")
    with pytest.raises(InvalidInput) as refused:
        flow.complete("review", {"decision": "send_back"}, "report_reviewer")
    assert "comment" in refused.value.field_errors
    assert flow.open_elements() == ["review"]  # the refusal changed nothing
    flow.complete("review", {"decision": "send_back", "comment": "缺少违约原因分析"}, "report_reviewer")
    report = _row(bundled, report_id)
    assert (report.status, report.review_outcome) == ("drafting", "send_back")
    assert report.review_comment == "缺少违约原因分析"
    assert flow.open_elements() == ["commentary"]
    flow.complete("commentary", {"commentary": COMMENTARY}, "project_manager")
    flow.complete("review", {"decision": "approve"}, "report_reviewer")
    assert flow.open_elements() == ["archive"]
    assert _row(bundled, report_id).commentary == COMMENTARY
    assert flow.gateways() == [("gw_review", ["commentary"]), ("gw_review", ["archive"])]


@pytest.mark.parametrize(("manager_decision", "next_step"), [("approve", "archive"), ("send_back", "commentary")])
def test_special_cases_go_to_the_manager(bundled: Database, manager_decision: str, next_step: str) -> None:
    report_id = _report(bundled)
    flow = _flow(bundled, report_id)
    flow.complete("commentary", {"commentary": COMMENTARY}, "project_manager")
    with pytest.raises(InvalidInput):
        flow.complete("review", {"decision": "special"}, "report_reviewer")
    flow.complete("review", {"decision": "special", "comment": "客户对 SLA 口径有异议"}, "report_reviewer")
    assert (_row(bundled, report_id).status, flow.open_elements()) == ("special_review", ["manager_review"])
    [task] = flow.open_tasks()
    assert task["group"] == "report_manager"
    with pytest.raises(Forbidden):  # not the reviewers': their manager's
        flow.complete("manager_review", {"decision": "approve"}, "report_reviewer")
    flow.complete("manager_review", {"decision": manager_decision, "comment": "按合同口径"}, "report_manager")
    assert flow.open_elements() == [next_step]
    assert _row(bundled, report_id).review_outcome == manager_decision


def test_the_author_of_the_commentary_does_not_review_it(bundled: Database, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("pm_and_reviewer", "project_manager", "report_reviewer")
    report_id = _report(bundled)
    flow = _flow(bundled, report_id)
    flow.complete("commentary", {"commentary": COMMENTARY}, "pm_and_reviewer")
    with pytest.raises(Forbidden):
        flow.complete("review", {"decision": "approve"}, "pm_and_reviewer")
    flow.complete("review", {"decision": "approve"}, "report_reviewer")


def test_a_late_commentary_says_why(bundled: Database) -> None:
    report_id = _report(bundled, due_at=DEC + dt.timedelta(days=5))
    flow = _flow(bundled, report_id)
    with clock.frozen(DEC + dt.timedelta(days=6)):
        with pytest.raises(InvalidInput) as refused:
            flow.complete("commentary", {"commentary": COMMENTARY}, "project_manager")
        assert "late_reason" in refused.value.field_errors
        flow.complete("commentary", {"commentary": COMMENTARY, "late_reason": "客户数据延迟提供"}, "project_manager")
    assert _row(bundled, report_id).late_reason == "客户数据延迟提供"


def test_a_report_instance_needs_its_report(bundled: Database) -> None:
    with pytest.raises(NotFound), bundled.transaction() as session:
        runtime.start_instance(session, process_id="service_report", actor=users.actor(session, "project_manager"),
                               data={"report_id": 999, "title": "无此报告", "report_class": "regular"})
    report_id = _report(bundled)
    with pytest.raises(Conflict), bundled.transaction() as session:  # a report is worked on by one instance
        runtime.start_instance(session, process_id="service_report", actor=users.actor(session, "project_manager"),
                               data={"report_id": report_id, "title": "重复", "report_class": "major_event"})


# --- figures -----------------------------------------------------------------------------------------------

def test_figures_count_requests_not_the_reports_themselves(bundled: Database) -> None:
    with clock.frozen(NOV + dt.timedelta(days=3)):
        Flow(bundled, "service_desk", {**REQUEST, "business_line": "call_center"})
        Flow(bundled, "service_desk", dict(REQUEST))
        _report(bundled)
    with bundled.transaction() as session:
        found = report_figures.figures(session, NOV, DEC, {})
        only = report_figures.figures(session, NOV, DEC, {"business_line": "call_center", "contract": "HT-1"})
        december = report_figures.figures(session, DEC, DEC + dt.timedelta(days=31), {})
    assert found["opened"] == 2 and found["by"]["process_id"] == [("service_desk", 2)]
    assert found["trend"][3] == ("2026-11-04", 2) and len(found["trend"]) == 30
    # Never accepted: the response target passed within the period, so both missed it.
    assert found["sla"]["respond"] == {"met": 0, "missed": 2, "rate": 0.0}
    assert found["breach_count"] == 2 and found["breaches"][0]["targets"] == ["respond", "resolve"]
    assert (only["opened"], only["unapplied_filters"]) == (1, ["contract"])
    assert december["opened"] == 0


# --- periodic generation -------------------------------------------------------------------------------

def _report_periods(db: Database) -> list[tuple[int | None, str]]:
    with db.transaction() as session:
        return [(r.schedule_id, r.period_start.astimezone(ZONE).date().isoformat()) for r in session.scalars(
            select(ServiceReport).order_by(ServiceReport.schedule_id, ServiceReport.period_start))]


def test_each_period_is_reported_once(bundled: Database) -> None:
    with clock.frozen(NOV + dt.timedelta(days=14)) as advance:
        with bundled.transaction() as session:
            planner = users.actor(session, "project_manager")
            monthly = service_reports.set_schedule(session, report_class="regular", cycle="monthly", actor=planner).id
            quarterly = service_reports.set_schedule(session, report_class="regular", cycle="quarterly",
                                                     actor=planner).id
            contract = service_reports.set_schedule(session, report_class="inspection", cycle="monthly",
                                                    contract="HT-2026-017", customer="市第一人民医院",
                                                    actor=planner, business_line="video_surveillance").id
        with bundled.transaction() as session:
            assert service_reports.generate_due(session) == []  # November is not over
        advance(dt.timedelta(days=16, minutes=1))  # 2026-12-01 00:01
        with bundled.transaction() as session:
            made = service_reports.generate_due(session)
        with bundled.transaction() as session:
            assert service_reports.generate_due(session) == []  # a second scheduler finds nothing to do
        # A restart: another process with its own connection pool on the same database.
        restarted = Database(bundled.url)
        try:
            with restarted.transaction() as session:
                assert service_reports.generate_due(session) == []
        finally:
            restarted.dispose()
        assert len(made) == 2
        assert _report_periods(bundled) == [(monthly, "2026-11-01"), (contract, "2026-11-01")]
        advance(dt.timedelta(days=62))  # 2027-02-01: December and January, and the fourth quarter
        with bundled.transaction() as session:
            assert len(service_reports.generate_due(session)) == 5
        with bundled.transaction() as session:
            assert service_reports.generate_due(session) == []
    assert _report_periods(bundled) == [
        (monthly, "2026-11-01"), (monthly, "2026-12-01"), (monthly, "2027-01-01"), (quarterly, "2026-10-01"),
        (contract, "2026-11-01"), (contract, "2026-12-01"), (contract, "2027-01-01")]
    with bundled.transaction() as session:
        inspection = session.scalars(select(ServiceReport).where(ServiceReport.schedule_id == contract)
                                     .order_by(ServiceReport.id)).first()
        assert inspection is not None
        assert (inspection.contract, inspection.customer, inspection.business_line, inspection.title) == (
            "HT-2026-017", "市第一人民医院", "video_surveillance", "市第一人民医院 2026 年 11 月 巡检报告")
        assert inspection.due_at == DEC + dt.timedelta(days=10)
        assert inspection.instance_id is not None
        assert session.scalar(select(func.count()).select_from(ServiceReport)
                              .where(ServiceReport.instance_id.is_(None))) == 0
    # The key (schedule, period) holds even against a scheduler that skipped the conditional advance.
    with pytest.raises(IntegrityError), bundled.transaction() as session:
        session.add(ServiceReport(report_class="regular", title="重复", period_start=NOV, period_end=DEC, due_at=DEC,
                                  schedule_id=monthly, status="drafting"))
        session.flush()


def test_two_schedulers_at_the_same_moment_make_one_report(bundled: Database) -> None:
    if bundled.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time; PostgreSQL's schedulers race for the row")
    with clock.frozen(NOV + dt.timedelta(days=3)) as advance:
        with bundled.transaction() as session:
            service_reports.set_schedule(session, report_class="regular", cycle="monthly",
                                         actor=users.actor(session, "project_manager"))
        advance(dt.timedelta(days=28))
        with bundled.transaction() as first:
            assert len(service_reports.generate_due(first)) == 1
            with bundled.transaction() as second:  # while the first has not committed yet
                assert service_reports.generate_due(second) == []
        with bundled.transaction() as third:
            assert service_reports.generate_due(third) == []
    assert [period for _, period in _report_periods(bundled)] == ["2026-11-01"]


def test_periods_are_local_calendar_periods() -> None:
    late_evening_utc = dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC)  # 2027-01-01 01:00 in Shanghai
    assert service_reports.period_start_of(late_evening_utc, "monthly") == dt.datetime(2027, 1, 1, tzinfo=ZONE)
    assert service_reports.period_start_of(late_evening_utc, "annual") == dt.datetime(2027, 1, 1, tzinfo=ZONE)
    assert service_reports.quarter_of(late_evening_utc) == "2027Q1"
    january_31 = dt.datetime(2026, 1, 31, 12, tzinfo=ZONE)
    assert service_reports.add_months(january_31, 1) == dt.datetime(2026, 2, 1, tzinfo=ZONE)
    assert service_reports.add_months(NOV, -11) == dt.datetime(2025, 12, 1, tzinfo=ZONE)
    assert service_reports.title_of("regular", dt.datetime(2026, 9, 30, 16, tzinfo=dt.UTC), "quarterly", None) == (
        "2026 年第 4 季度 定期运维报告（季度）")


def test_schedules_are_checked(bundled: Database) -> None:
    with bundled.transaction() as session:
        planner = users.actor(session, "project_manager")
        for changes in ({"report_class": "major_event", "cycle": "monthly"},
                        {"report_class": "regular", "cycle": "weekly"},
                        {"report_class": "regular", "cycle": "monthly", "due_days": 400}):
            with pytest.raises(InvalidInput):
                service_reports.set_schedule(session, actor=planner, **changes)  # type: ignore[arg-type]
        with pytest.raises(Forbidden):
            service_reports.set_schedule(session, report_class="regular", cycle="monthly",
                                         actor=users.actor(session, "engineer"))
        first = service_reports.set_schedule(session, report_class="regular", cycle="annual", actor=planner,
                                             first_period_start=dt.datetime(2026, 7, 9, tzinfo=ZONE))
        again = service_reports.set_schedule(session, report_class="regular", cycle="annual", actor=planner,
                                             due_days=20)
        assert first.id == again.id and again.next_period_start == dt.datetime(2026, 1, 1, tzinfo=ZONE)
        assert session.scalar(select(func.count()).select_from(ReportSchedule)) == 1


# --- the PDF -------------------------------------------------------------------------------------------------

def test_pdf_renders_chinese_text_and_charts(tmp_path: Path) -> None:
    figures = {"opened": 12, "resolved": 10, "sla": {"respond": {"met": 9, "missed": 1, "rate": 90.0},
                                                     "resolve": {"met": 8, "missed": 2, "rate": 80.0}},
               "by": {"fault_level": [("III", 7), ("II", 5)], "device_type": [("camera", 4), ("", 8)]},
               "breaches": [{"instance_id": 7, "title": "HIS 无法登录", "fault_level": "II", "targets": ["resolve"]}],
               "breach_count": 1, "trend": [("2026-11-01", 3), ("2026-11-02", 9)],
               "top_systems": [("门诊 HIS", 6)]}
    report_pdf.render_pdf({}, "", {})  # WeasyPrint's import and font set-up, once per process
    started = time.perf_counter()
    pdf = report_pdf.render_pdf(figures, COMMENTARY, {"title": "2026 年 11 月 定期运维报告（月度）",
                                                      "rows": [("客户", "市第一人民医院")]})
    elapsed_ms = (time.perf_counter() - started) * 1000
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    extracted = subprocess.run(["/usr/bin/pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                               check=True).stdout
    for expected in ("2026 年 11 月 定期运维报告（月度）", "市第一人民医院", "SLA 达成情况", "备件到货延迟",
                     "HIS 无法登录", "按故障级别", "III 级", "前端摄像头", "每日受理事件数", "门诊 HIS"):
        assert expected in extracted, expected
    fonts = subprocess.run(["/usr/bin/pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "WenQuanYi" in fonts
    assert elapsed_ms < 3000, f"rendering took {elapsed_ms:.0f} ms"


def test_charts_are_svg_with_escaped_labels() -> None:
    svg = report_pdf.bar_chart("按系统", [("<HIS>", 3), ("门诊", 1)])
    assert svg.startswith("<svg") and "&lt;HIS&gt;" in svg and svg.count("<rect") == 2
    assert report_pdf.line_chart("趋势", []).endswith("</svg>")


# --- the archive ----------------------------------------------------------------------------------------------

def test_archived_documents_are_immutable_and_new_versions_are_added(bundled: Database) -> None:
    report_id = _report(bundled)
    _to_archive(bundled, report_id)
    [(_, first_sha, first)] = _documents(bundled, report_id)
    for statement in (update(ReportDocument).values(sha256="0" * 64), update(ReportDocument).values(content=b"x")):
        with pytest.raises(DatabaseError), bundled.transaction() as session:
            session.execute(statement)
    with pytest.raises(DatabaseError), bundled.transaction() as session:
        session.execute(text("DELETE FROM report_document"))
    with bundled.transaction() as session:
        with pytest.raises(Forbidden):  # the service desk archives; the project manager does not
            report_archive.regenerate(session, report_id=report_id, actor=users.actor(session, "project_manager"))
        second = report_archive.regenerate(session, report_id=report_id, actor=users.actor(session, "service_desk"))
        assert second.version == 2
    documents = _documents(bundled, report_id)
    assert [v for v, _, _ in documents] == [1, 2] and documents[0] == (1, first_sha, first)
    with bundled.transaction() as session:
        got = report_archive.download(session, document_id=second.id, actor=users.actor(session, "quality_admin"))
        assert hashlib.sha256(got.content).hexdigest() == got.document.sha256
        assert got.filename == f"service-report-{report_id}-v2.pdf"
    other = _report(bundled)
    with pytest.raises(Conflict), bundled.transaction() as session:  # not archived yet: nothing to re-generate
        report_archive.regenerate(session, report_id=other, actor=users.actor(session, "service_desk"))


def test_a_tampered_document_is_not_handed_out(bundled: Database) -> None:
    report_id = _report(bundled)
    _to_archive(bundled, report_id)
    with bundled.transaction() as session:
        document_id = session.scalar(select(ReportDocument.id).where(ReportDocument.report_id == report_id))
    # Tampering behind the application's back: past the trigger that guards the table.
    postgres = bundled.engine.dialect.name == "postgresql"
    with bundled.transaction() as session:
        if postgres:
            session.execute(text("ALTER TABLE report_document DISABLE TRIGGER report_document_no_update"))
        else:
            session.execute(text("DROP TRIGGER report_document_no_update"))
        session.execute(text("UPDATE report_document SET content = :c WHERE id = :i"),
                        {"c": b"%PDF-forged", "i": document_id})
        if postgres:
            session.execute(text("ALTER TABLE report_document ENABLE TRIGGER report_document_no_update"))
    with pytest.raises(ArchiveCorrupted) as refused, bundled.transaction() as session:
        report_archive.download(session, document_id=document_id, actor=users.actor(session, "service_desk"))
    assert refused.value.status == 500 and "SHA-256" in str(refused.value)


def test_browsing_by_class_and_attribute_and_who_may(bundled: Database) -> None:
    archived = _report(bundled)
    _to_archive(bundled, archived)
    _report(bundled, report_class="expiry_summary")  # not archived: not in the archive yet
    with bundled.transaction() as session:
        desk = users.actor(session, "service_desk")
        assert [r["report"].id for r in report_archive.browse(session, actor=desk)] == [archived]
        assert [r["report"].id for r in report_archive.browse(session, actor=desk, report_class="major_event",
                                                             customer_type="medical")] == [archived]
        assert report_archive.browse(session, actor=desk, business_line="call_center") == []
        assert report_archive.browse(session, actor=desk, report_class="regular") == []
        with pytest.raises(InvalidInput):
            report_archive.browse(session, actor=desk, colour="red")
        for outsider in ("requester", "engineer", "vendor"):
            with pytest.raises(Forbidden):
                report_archive.browse(session, actor=users.actor(session, outsider))
        for reader in ("quality_admin", "report_reviewer", "report_manager", "auditor", "general_manager"):
            assert len(report_archive.browse(session, actor=users.actor(session, reader))) == 1
        with pytest.raises(Forbidden):
            service_reports.create_report(session, report_class="regular", period_start=NOV, period_end=DEC,
                                          actor=users.actor(session, "engineer"))


# --- the 质量管理员's list -------------------------------------------------------------------------------------

def test_late_and_incomplete_reports_are_listed(bundled: Database) -> None:
    on_time = _report(bundled, due_at=DEC + dt.timedelta(days=10))
    _to_archive(bundled, on_time)
    overdue = _report(bundled, due_at=DEC + dt.timedelta(days=3))
    unclassified = _report(bundled, due_at=DEC + dt.timedelta(days=10))
    flow = _flow(bundled, unclassified)
    flow.complete("commentary", {"commentary": COMMENTARY}, "project_manager")
    flow.complete("review", {"decision": "approve"}, "report_reviewer")
    flow.complete("archive", {"business_line": "call_center"}, "service_desk")
    with clock.frozen(DEC + dt.timedelta(days=5)), bundled.transaction() as session:
        with pytest.raises(Forbidden):
            service_reports.late_and_incomplete(session, actor=users.actor(session, "project_manager"))
        rows = service_reports.late_and_incomplete(session, actor=users.actor(session, "quality_admin"))
    found = {row["report"].id: row["problems"] for row in rows}
    assert found == {overdue: ["overdue"], unclassified: ["missing_device_type", "missing_customer_type"]}
    assert next(row for row in rows if row["report"].id == overdue)["days_late"] == 2


def test_a_report_handed_in_late_stays_on_the_list(bundled: Database) -> None:
    report_id = _report(bundled, due_at=DEC)
    with clock.frozen(DEC + dt.timedelta(days=2)):
        _flow(bundled, report_id).complete("commentary", {"commentary": COMMENTARY, "late_reason": "数据延迟"},
                                           "project_manager")
        with bundled.transaction() as session:
            [row] = service_reports.late_and_incomplete(session, actor=users.actor(session, "quality_admin"))
    assert row["problems"] == ["overdue"]
    flow = _flow(bundled, report_id)
    flow.complete("review", {"decision": "approve"}, "report_reviewer")
    flow.complete("archive", ARCHIVE, "service_desk")
    with bundled.transaction() as session:
        [row] = service_reports.late_and_incomplete(session, actor=users.actor(session, "quality_admin"))
    assert row["problems"] == ["submitted_late"]


# --- quarterly callbacks ------------------------------------------------------------------------------------------

def test_each_quarter_archived_reports_are_drawn_for_callbacks_once(bundled: Database) -> None:
    with clock.frozen(dt.datetime(2026, 11, 20, tzinfo=dt.UTC)) as advance:
        fourth_quarter = [_report(bundled) for _ in range(6)]
        for report_id in fourth_quarter:
            _to_archive(bundled, report_id)
        advance(dt.timedelta(days=50))  # 2027-01-09: the fourth quarter is over
        later = _report(bundled, period_start=DEC, period_end=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
        _to_archive(bundled, later)  # archived in the first quarter: not drawn for the fourth
        with bundled.transaction() as session:
            started = service_reports.draw_callbacks(session, rng=random.Random(4))
        with bundled.transaction() as session:
            assert service_reports.draw_callbacks(session) == []  # once per quarter
            drawn = list(session.scalars(select(ReportCallback)))
        assert len(started) == len(drawn) == 2  # 20 % of six, rounded up
        assert {c.quarter for c in drawn} == {"2026Q4"} and {c.report_id for c in drawn} <= set(fourth_quarter)
        flow = Flow.__new__(Flow)
        flow.db, flow.id = bundled, started[0]
        assert [t["group"] for t in flow.open_tasks()] == ["quality_admin"]
        flow.complete("callback", {"reached": True, "score": 4, "note": "报告清楚，希望增加趋势分析"}, "quality_admin")
    with bundled.transaction() as session:
        done = session.scalars(select(ReportCallback).where(ReportCallback.instance_id == started[0])).one()
        assert (done.reached, done.score, done.note) == (True, 4, "报告清楚，希望增加趋势分析")
        assert [c.id for c in service_reports.callbacks(session, actor=users.actor(session, "quality_admin"),
                                                        report_id=done.report_id)] == [done.id]
    with pytest.raises(NotFound), bundled.transaction() as session:  # only a drawn report is called back
        runtime.start_instance(session, process_id="report_callback", actor=users.actor(session, "quality_admin"),
                               data={"report_id": later, "quarter": "2027Q1"})
