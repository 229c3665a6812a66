"""Report-archive pages. The engine decides who sees and changes what (engine.desk.report_archive,
engine.desk.service_reports); downloads are handed out only after their SHA-256 matched."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

import forms
from app.report_archive import bp
from app.report_archive.schemas import ArchivedSchema, BrowseArgs, ScheduleArgs, TrackedSchema
from app.web.form_display import display_value
from app.web.requests import load_args, wants_json
from app.web.session import actor, unit_of_work
from engine import access
from engine.desk import report_archive, report_pdf, service_reports

ARCHIVE_FORM = forms.get_form("report_archive")
_ATTRIBUTES = [ARCHIVE_FORM.field(name) for name in service_reports.ATTRIBUTES]
STATUS_NAMES = {
    "drafting": lazy_gettext("being written"),
    "in_review": lazy_gettext("in review"),
    "special_review": lazy_gettext("with the manager"),
    "approved": lazy_gettext("approved, to be archived"),
    "archived": lazy_gettext("archived"),
}
CYCLE_NAMES = {"monthly": lazy_gettext("monthly"), "quarterly": lazy_gettext("quarterly"),
               "annual": lazy_gettext("annual")}
PROBLEM_NAMES = {
    "overdue": lazy_gettext("past its due date"),
    "submitted_late": lazy_gettext("handed in late"),
    "missing_figures": lazy_gettext("figures missing"),
    "missing_commentary": lazy_gettext("commentary missing"),
    "missing_pdf": lazy_gettext("PDF missing"),
    "missing_device_type": lazy_gettext("device type missing"),
    "missing_customer_type": lazy_gettext("customer type missing"),
    "missing_business_line": lazy_gettext("business line missing"),
}


def _class_name(report_class: str | None) -> str:
    return display_value(forms.get_form("report_start").field("report_class"), report_class)


def _attribute(name: str, value: str | None) -> str:
    return display_value(ARCHIVE_FORM.field(name), value) if value else "—"


def _charts(figures: dict[str, Any] | None) -> list[Markup]:
    """The report's charts as the PDF draws them (SVG made on the server)."""
    if not figures:
        return []
    return [Markup(svg) for svg in (*report_pdf.breakdown_charts(figures), report_pdf.trend_chart(figures))]


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    """For the task page: the report a service-report step works on, with its generated figures."""
    def report_panel(page: dict[str, Any]) -> Any:
        if page["instance"]["process_id"] != service_reports.PROCESS_ID:
            return None
        with unit_of_work() as session:
            return service_reports.report_of_instance(session, page["instance"]["id"])

    return {"report_panel": report_panel, "report_class_name": _class_name, "report_attribute": _attribute,
            "report_status_names": STATUS_NAMES, "report_charts": _charts}


@bp.get("/")
def index() -> Any:
    args = load_args(BrowseArgs(), request.args)
    with unit_of_work() as session:
        rows = report_archive.browse(session, actor=actor(), **args)
    if wants_json():
        return jsonify(reports=ArchivedSchema(many=True).dump(rows))
    return render_template("report_archive/index.html", rows=rows, args=args, classes=service_reports.CLASSES,
                           attributes=_ATTRIBUTES)


@bp.get("/<int:report_id>")
def report(report_id: int) -> Any:
    with unit_of_work() as session:
        page = report_archive.report_page(session, report_id=report_id, actor=actor())
        callbacks = service_reports.callbacks(session, actor=actor(), report_id=report_id)
    return render_template("report_archive/report.html", callbacks=callbacks, attributes=_ATTRIBUTES,
                           may_regenerate=access.may_archive_reports(actor()), **page)


@bp.post("/<int:report_id>/versions")
def regenerate(report_id: int) -> Any:
    with unit_of_work() as session:
        document = report_archive.regenerate(session, report_id=report_id, actor=actor())
        version = document.version
    flash(gettext("Version %(version)d of the report was archived.", version=version), "success")
    return redirect(url_for("report_archive.report", report_id=report_id))


@bp.get("/documents/<int:document_id>.pdf")
def document(document_id: int) -> Any:
    with unit_of_work() as session:
        found = report_archive.download(session, document_id=document_id, actor=actor())
    return Response(found.content, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{found.filename}"',
        "X-Content-SHA256": found.document.sha256, "Cache-Control": "private, no-store"})


@bp.get("/tracking")
def tracking() -> Any:
    with unit_of_work() as session:
        rows = service_reports.late_and_incomplete(session, actor=actor())
    if wants_json():
        return jsonify(reports=TrackedSchema(many=True).dump(rows))
    return render_template("report_archive/tracking.html", rows=rows, problem_names=PROBLEM_NAMES)


@bp.get("/schedules")
def schedules() -> Any:
    access.require_read_reports(actor(), "see the report schedules")
    with unit_of_work() as session:
        rows = service_reports.list_schedules(session)
        return render_template("report_archive/schedules.html", rows=rows, cycle_names=CYCLE_NAMES,
                               classes=service_reports.SCHEDULED_CLASSES)


@bp.post("/schedules")
def save_schedule() -> Any:
    access.require_plan_reports(actor(), "schedule service reports")  # a 403 before the input is checked
    args = load_args(ScheduleArgs(), {k: v for k, v in request.form.items() if k != "csrf_token"})
    first = args.pop("first")
    with unit_of_work() as session:
        service_reports.set_schedule(session, actor=actor(), **args, first_period_start=dt.datetime(
            first.year, first.month, first.day, tzinfo=service_reports.ZONE) if first else None)
    flash(gettext("The schedule is saved: each period's report is made once the period ends."), "success")
    return redirect(url_for("report_archive.schedules"))
