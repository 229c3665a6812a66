"""The KPI dashboard, the cases behind each figure, CSV/XLSX exports and ECharts from node_modules."""
from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, jsonify, render_template, request, send_from_directory, url_for
from sqlalchemy import select

import config as config_module
from app.reports import bp, export, labels
from app.web.requests import wants_json
from app.web.session import actor, unit_of_work
from engine import access, clock
from engine.desk import kpi
from engine.errors import NotFound
from engine.store.models import ProcessDefinition

ECHARTS_DIST = config_module.ROOT / "node_modules" / "echarts" / "dist"
DEFAULT_DIMENSION = "category"
# Filters the page offers as fields; any attribute of kpi.FILTERS is taken from the query string.
FILTER_FIELDS = ("process_id", "fault_level", "customer", "zone")
CASES_PER_PAGE = 500


def _timezone() -> str:
    return str(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _query() -> tuple[kpi.Period, kpi.Filters, dict[str, str]]:
    """The period and filters of the query string, and the arguments that keep them in links."""
    label = request.args.get("period") or clock.now().astimezone(ZoneInfo(_timezone())).strftime("%Y-%m")
    period = kpi.Period.parse(label, _timezone())
    filters = kpi.Filters.of({name: request.args.get(name) for name in kpi.FILTERS})
    return period, filters, {"period": period.label, **filters.values}


def _cases_url(kept: dict[str, str], figure: str, **more: Any) -> str:
    args: dict[str, Any] = {**kept, "figure": figure, **{k: v for k, v in more.items() if v is not None}}
    return url_for("reports.cases", **args)


@bp.get("/")
def index() -> Any:
    access.require_read_kpis(actor())
    period, filters, kept = _query()
    dimension = request.args.get("dimension") or DEFAULT_DIMENSION
    with unit_of_work() as session:
        summary = kpi.dashboard(session, period, filters, dimension=dimension, timezone=_timezone())
        processes = sorted(set(session.scalars(select(ProcessDefinition.process_id))))
    if wants_json():
        return jsonify(summary)
    return render_template("reports/index.html", summary=summary, period=period, filters=filters, kept=kept,
                           dimension=dimension, processes=processes, charts=_charts(summary, kept, dimension),
                           cases_url=lambda figure, **more: _cases_url(kept, figure, **more),
                           labels=labels, filter_fields=FILTER_FIELDS, load=kpi.LOAD, ages=kpi.AGES)


def _charts(summary: dict[str, Any], kept: dict[str, str], dimension: str) -> dict[str, Any]:
    """What reports.js draws: names already in the page's language, each point with its drill-down link."""
    unit = summary["period"]["unit"]
    period = kpi.Period.parse(summary["period"]["label"], _timezone())

    def bucket_url(bucket: str, figure: str) -> str:
        return _cases_url({**kept, "period": period.narrowed(bucket, unit, _timezone()).label}, figure)

    breakdown = summary["breakdowns"][dimension]
    sla_rows = summary["sla"]
    levels = sorted({row["fault_level"] for row in sla_rows if row["fault_level"]})
    return {
        "texts": {"opened": str(labels.FIGURES["opened"]), "resolved": str(labels.FIGURES["resolved"]),
                  "resolve_missed": str(labels.FIGURES["resolve_missed"]),
                  "respond": str(labels.TARGETS["respond"]), "resolve": str(labels.TARGETS["resolve"]),
                  "cases": str(labels.FIGURES["opened"])},
        "trend": [{"bucket": row["bucket"], **{name: row[name] for name in ("opened", "resolved", "resolve_missed")},
                   "urls": {name: bucket_url(row["bucket"], name) for name in ("opened", "resolved", "resolve_missed")}}
                  for row in summary["trend"]],
        "satisfaction": [{"name": str(score), "value": count, "url": _cases_url(kept, f"satisfaction_{score}")}
                         for score, count in summary["satisfaction"].items()],
        "sla": {"levels": [labels.value_name("fault_level", level) for level in levels],
                "series": {target: [{"value": None if row["rate"] is None else round(row["rate"] * 100, 1),
                                     "url": _cases_url({**kept, "fault_level": level}, f"{target}_missed")}
                                    for level in levels for row in sla_rows
                                    if row["fault_level"] == level and row["target"] == target]
                           for target in kpi.TARGETS}},
        "breakdown": [{"name": labels.value_name(dimension, row["value"]), "value": row["opened"],
                       "url": _cases_url(kept, "opened", dimension=dimension, value=row["value"] or "")}
                      for row in breakdown[:20]],
        "backlog": [{"name": str(labels.AGES[name]), "value": summary["backlog"][name],
                     "url": _cases_url(kept, f"age_{name}")} for name, _, _ in kpi.AGES],
    }


def _drill_down() -> tuple[kpi.Period, kpi.Filters, dict[str, str], dict[str, Any]]:
    period, filters, kept = _query()
    figure = request.args.get("figure") or "opened"
    dimension = request.args.get("dimension") or None
    return period, filters, kept, {"figure": figure, "dimension": dimension,
                                   "value": request.args.get("value", "") if dimension else None}


@bp.get("/cases")
def cases() -> Any:
    """The cases behind one figure of the dashboard, with the same period and filters."""
    access.require_read_kpis(actor(), "list the cases behind the service reports")
    period, filters, kept, what = _drill_down()
    with unit_of_work() as session:
        rows = kpi.cases(session, period, what["figure"], filters, dimension=what["dimension"], value=what["value"],
                         limit=CASES_PER_PAGE + 1)
        total = len(rows) if len(rows) <= CASES_PER_PAGE else kpi.count_cases(
            session, period, what["figure"], filters, dimension=what["dimension"], value=what["value"])
    rows = rows[:CASES_PER_PAGE]
    if wants_json():
        return jsonify(total=total, cases=[export.plain(row) for row in rows])
    return render_template("reports/cases.html", rows=rows, total=total, period=period, filters=filters, kept=kept,
                           what=what, labels=labels, shown=len(rows),
                           export_args={**kept, **{k: v for k, v in what.items() if v is not None}})


@bp.get("/export.<fmt>")
def download(fmt: str) -> Any:
    """The dashboard's figures (what=summary, every breakdown) or one figure's cases (what=cases) as CSV or XLSX."""
    access.require_read_kpis(actor(), "export the service reports")
    if fmt not in export.FORMATS:
        raise NotFound(f"no export as {fmt!r}; one of {', '.join(export.FORMATS)}", reason="export_format_missing",
                       params={"format": fmt})
    period, filters, _kept, what = _drill_down()
    with unit_of_work() as session:
        if request.args.get("what") == "cases":
            at_most = current_app.config["REPORT_EXPORT_MAX_ROWS"]
            tables = [export.cases_table(kpi.cases(session, period, what["figure"], filters, limit=at_most + 1,
                                                   dimension=what["dimension"], value=what["value"]),
                                         at_most=at_most)]
            name = f"cases-{what['figure']}-{period.label}"
        else:
            tables = export.summary_tables(kpi.summary(session, period, filters, timezone=_timezone()))
            name = f"kpi-{period.label}"
    body, mimetype = export.render(tables, fmt)
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={name.replace('..', '_')}.{fmt}"})


@bp.get("/vendor/echarts/<path:filename>")
def echarts(filename: str) -> Any:
    """Apache ECharts from node_modules (installed by scripts/install with npm ci): no CDN."""
    if not Path(ECHARTS_DIST).is_dir():
        raise NotFound("the chart library is not installed (run scripts/install)", reason="charts_missing")
    return send_from_directory(ECHARTS_DIST, filename, max_age=24 * 3600)

