"""Service reports through the API (issue 15 item 1, "reports when they exist"): the KPI dashboard's figures
for a period and filters (what /reports shows), the archive of reviewed reports, and an archived PDF, whose
bytes are handed out only while they match the SHA-256 recorded at archiving. The work is engine.desk.kpi's
and engine.desk.report_archive's; who may read what is engine.access's (managers, auditors, reviewers)."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.auth import actor, token_required
from app.api.routes import documented_errors
from app.report_archive.schemas import ArchivedSchema, BrowseArgs
from app.web.session import unit_of_work
from engine import access, clock
from engine.desk import kpi, report_archive

api = Blueprint("api_reports", __name__, url_prefix="/api/v1/reports",
                description="Service reports: KPI figures of a period, the archive, archived PDFs")
token_required(api, "api")
BLUEPRINTS = (api,)

_PDF = {"200": {"description": "The archived PDF as an attachment; X-Content-SHA256 is the hash recorded at "
                               "archiving, which its bytes were checked against",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}


# The query's fields: the period, the breakdown, and one exact-value filter per case attribute (kpi.FILTERS).
_KPI_ARGS: dict[str, fields.Field] = {
    "period": fields.String(load_default=None, validate=validate.Length(max=40),
                            metadata={"description": "a year (2026), a month (2026-11), a day (2026-11-03) or a "
                                                     "range (2026-11-01..2026-11-15), in local days; default: this "
                                                     "month"}),
    "dimension": fields.String(load_default="category", validate=validate.OneOf(kpi.DIMENSIONS),
                               metadata={"description": "the breakdown beside the engineer and group load"}),
    **{name: fields.String(load_default=None, validate=validate.Length(max=200),
                           metadata={"description": f"only cases whose {name} is this value"})
       for name in kpi.FILTERS},
}
KpiArgs = Schema.from_dict(_KPI_ARGS, name="KpiArgs")


class KpiSchema(Schema):
    """kpi.summary's figures (docs/engine.md, "KPIs"): rates are fractions (0..1) or null without cases."""

    period = fields.Dict(required=True, metadata={"description": "label, start, end (UTC), trend unit"})
    filters = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    now = fields.String(required=True)
    headline = fields.Dict(required=True, metadata={"description": "resolution rate, MTTR, SLA attainment, "
                                                                   "first-contact resolution, chases, complaints …"})
    sla = fields.List(fields.Dict(), required=True, metadata={"description": "per fault level and target"})
    satisfaction = fields.Dict(required=True, metadata={"description": "cases per score (1..5)"})
    trend = fields.List(fields.Dict(), required=True, metadata={"description": "per day, week or month"})
    breakdowns = fields.Dict(required=True, metadata={"description": "per attribute: a row per value"})
    backlog = fields.Dict(required=True, metadata={"description": "open cases by age"})


class ArchivePageSchema(Schema):
    reports = fields.List(fields.Nested(ArchivedSchema), required=True)


def _timezone() -> str:
    return str(current_app.config["BABEL_DEFAULT_TIMEZONE"])


@api.get("/kpis")
@api.arguments(KpiArgs, location="query")
@api.response(200, KpiSchema)
@documented_errors(api, 422)
def kpis(args: dict[str, Any]) -> Any:
    """The KPI figures of a period (what /reports shows), filtered by process, level, customer, zone …"""
    access.require_read_kpis(actor())
    timezone = _timezone()
    label = args["period"] or clock.now().astimezone(ZoneInfo(timezone)).strftime("%Y-%m")
    period = kpi.Period.parse(label, timezone)
    filters = kpi.Filters.of({name: args[name] for name in kpi.FILTERS})
    with unit_of_work() as session:
        return kpi.dashboard(session, period, filters, dimension=args["dimension"], timezone=timezone)


@api.get("/archive")
@api.arguments(BrowseArgs, location="query")
@api.response(200, ArchivePageSchema)
@documented_errors(api, 422)
def archive(args: dict[str, Any]) -> Any:
    """Archived reports with their PDF versions, newest period first, by class and attribute."""
    with unit_of_work() as session:
        return {"reports": report_archive.browse(session, actor=actor(), **args)}


@api.get("/archive/documents/<int:document_id>")
@api.doc(responses=_PDF)
@documented_errors(api, 404)
def archived_document(document_id: int) -> Any:
    """One archived PDF, checked against its recorded SHA-256 before it is handed out (500 if it was altered)."""
    with unit_of_work() as session:
        found = report_archive.download(session, document_id=document_id, actor=actor())
    return Response(found.content, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{found.filename}"',
        "X-Content-SHA256": found.document.sha256, "Cache-Control": "private, no-store"})
