"""The archive of service reports (seed 002 7.2.5): each report's PDF, stored once per version with its
SHA-256, never changed (the database refuses UPDATE and DELETE on `report_document`); re-generating a report
archives a new version. Every hand-out checks the hash; the archive is browsed by class and attribute.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import access, clock
from engine.desk import report_pdf
from engine.desk.report_figures import ZONE
from engine.errors import ArchiveCorrupted, Conflict, InvalidInput, NotFound
from engine.store.report_models import ReportDocument, ServiceReport
from engine.users import Actor

BROWSE_FILTERS = ("report_class", "device_type", "customer_type", "business_line")
_STATUS_ZH = {"approve": "通过", "special": "特殊情况（经理审核）", "send_back": "退回修改"}


@dataclass(frozen=True)
class Download:
    """A document's bytes, after its hash was checked."""

    document: ReportDocument
    report: ServiceReport
    content: bytes
    filename: str


def meta(report: ServiceReport, version: int) -> dict[str, Any]:
    """The header of a report's PDF."""
    labels = {"device_type": "设备类型", "customer_type": "客户属性", "business_line": "业务类别"}
    rows = [("报告类别", report_pdf.CLASS_NAMES[report.report_class]
             + (f"（{report_pdf.CYCLE_NAMES[report.cycle]}）" if report.cycle else "")),
            ("报告期间", f"{report.period_start.astimezone(ZONE):%Y-%m-%d} 至 "
                     f"{report.period_end.astimezone(ZONE):%Y-%m-%d}（不含）"),
            ("合同", report.contract), ("客户", report.customer),
            *((labels[name], report_pdf.attribute_label(name, getattr(report, name))) for name in labels),
            ("报告编号 / 版本", f"{report.id} / 第 {version} 版"),
            ("应交日期", f"{report.due_at.astimezone(ZONE):%Y-%m-%d}"),
            ("评述", report.commentary_by), ("审核", report.reviewer and
                                             f"{report.reviewer}：{_STATUS_ZH.get(report.review_outcome or '', '')}"),
            ("归档", report.archived_at and f"{report.archived_by}，{report.archived_at.astimezone(ZONE):%Y-%m-%d}")]
    return {"title": report.title, "rows": rows, "generated_at": clock.now(), "zone": ZONE}


def store(session: Session, report: ServiceReport, actor: Actor) -> ReportDocument:
    """Render the report and archive it as its next version (the first when it is filed)."""
    version = (session.scalar(select(func.max(ReportDocument.version)).where(ReportDocument.report_id == report.id))
               or 0) + 1
    content = report_pdf.render_pdf(report.figures or {}, report.commentary or "", meta(report, version))
    document = ReportDocument(report_id=report.id, version=version, sha256=hashlib.sha256(content).hexdigest(),
                              size=len(content), content=content, created_by=actor.username, created_at=clock.now())
    session.add(document)
    session.flush()
    return document


def regenerate(session: Session, *, report_id: int, actor: Actor) -> ReportDocument:
    """A new version of an archived report's PDF (e.g. after a layout fix); the earlier ones stay as they are."""
    access.require_archive_reports(actor, "archive a new version of a service report")
    report = session.scalars(select(ServiceReport).where(ServiceReport.id == report_id).with_for_update()).one_or_none()
    if report is None:
        raise NotFound(f"service report {report_id} does not exist")
    if report.status != "archived":
        raise Conflict(f"service report {report_id} is {report.status}; only archived reports get new versions")
    return store(session, report, actor)


def reports_with_documents(session: Session) -> list[int]:
    return list(session.scalars(select(ReportDocument.report_id).distinct()))


def download(session: Session, *, document_id: int, actor: Actor) -> Download:
    """A document's bytes, refused (ArchiveCorrupted) unless they still match the hash recorded at archiving."""
    access.require_read_reports(actor)
    document = session.get(ReportDocument, document_id)
    if document is None:
        raise NotFound(f"archived document {document_id} does not exist")
    content = bytes(document.content)
    found = hashlib.sha256(content).hexdigest()
    if found != document.sha256 or len(content) != document.size:
        raise ArchiveCorrupted(f"archived document {document_id} (report {document.report_id} version "
                               f"{document.version}) does not match its recorded SHA-256 {document.sha256}: "
                               f"found {found}; it is not handed out")
    report = session.get(ServiceReport, document.report_id)
    assert report is not None
    return Download(document, report, content, f"service-report-{report.id}-v{document.version}.pdf")


def browse(session: Session, *, actor: Actor, **filters: str | None) -> list[dict[str, Any]]:
    """Archived reports with their document versions, newest period first, filtered by class and attributes."""
    access.require_read_reports(actor)
    unknown = set(filters) - set(BROWSE_FILTERS)
    if unknown:
        raise InvalidInput(f"unknown archive filters: {', '.join(sorted(unknown))}")
    query = select(ServiceReport).where(ServiceReport.status == "archived")
    for name, value in filters.items():
        if value:
            query = query.where(getattr(ServiceReport, name) == value)
    reports = list(session.scalars(query.order_by(ServiceReport.period_start.desc(), ServiceReport.id.desc())))
    versions: dict[int, list[Any]] = {}
    for row in session.execute(select(ReportDocument.id, ReportDocument.report_id, ReportDocument.version,
                                      ReportDocument.sha256, ReportDocument.size, ReportDocument.created_at,
                                      ReportDocument.created_by)
                               .where(ReportDocument.report_id.in_([r.id for r in reports]))
                               .order_by(ReportDocument.version)):
        versions.setdefault(row.report_id, []).append(row)
    return [{"report": report, "documents": versions.get(report.id, [])} for report in reports]


def report_page(session: Session, *, report_id: int, actor: Actor) -> dict[str, Any]:
    """One report with its figures, review and archived versions."""
    access.require_read_reports(actor)
    report = session.get(ServiceReport, report_id)
    if report is None:
        raise NotFound(f"service report {report_id} does not exist")
    documents = list(session.execute(select(ReportDocument.id, ReportDocument.version, ReportDocument.sha256,
                                            ReportDocument.size, ReportDocument.created_at, ReportDocument.created_by)
                                     .where(ReportDocument.report_id == report_id).order_by(ReportDocument.version)))
    return {"report": report, "documents": documents}
