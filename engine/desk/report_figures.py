"""The figures a service report is generated with (seed 002 6.1: SLA performance against targets, breaches,
counts by category, level, device, customer and business line, the most frequent systems, the trend by day),
read from the case record's columns (`service_case`, engine.desk.case).

`figures` is the one entry point; once the KPI layer (engine.desk.kpi) is merged it can answer instead.
"""
from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from engine.desk import case
from engine.desk.case import ATTRIBUTES
from engine.store.models import ProcessDefinition, ProcessInstance, ServiceCase

# Filters applied to the case columns; others (contract, customer: no case column yet) are named as unapplied.
FILTERS = (*ATTRIBUTES, "fault_level", "process_id")
TOP = 5
# Report periods are calendar days, months and quarters where the customers are (the web's OPSFLOW_TIMEZONE).
ZONE = ZoneInfo(os.environ.get("OPSFLOW_TIMEZONE") or "Asia/Shanghai")

_cases = cast(Table, ServiceCase.__table__)
_instances = cast(Table, ProcessInstance.__table__)


def _met(done: dt.datetime | None, due: dt.datetime | None, until: dt.datetime) -> bool | None:
    """Whether a target was met: None while it can still be (not done, not yet due) or when there is none."""
    if due is None:
        return None
    if done is not None:
        return done <= due
    return False if due < until else None


def _attainment(results: list[bool | None]) -> dict[str, Any]:
    decided = [r for r in results if r is not None]
    met = sum(decided)
    return {"met": met, "missed": len(decided) - met,
            "rate": round(100 * met / len(decided), 1) if decided else None}


def _counts(values: list[str | None]) -> list[tuple[str, int]]:
    """(value, count), most frequent first; cases without a value count under ''."""
    return sorted(Counter(v or "" for v in values).items(), key=lambda item: (-item[1], item[0]))


def figures(session: Session, period_start: dt.datetime, period_end: dt.datetime,
            filters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Counts and SLA attainment of the requests opened in [period_start, period_end), as plain JSON data."""
    filters = {key: value for key, value in (filters or {}).items() if value not in (None, "")}
    query = (select(_cases, _instances.c.process_id, _instances.c.title)
             .join(_instances, _instances.c.id == _cases.c.instance_id)
             .where(_cases.c.opened_at >= period_start, _cases.c.opened_at < period_end,
                    _instances.c.process_id.not_in(sorted(case.NOT_REQUESTS))))
    for key in FILTERS:
        if key in filters:
            column = _instances.c.process_id if key == "process_id" else _cases.c[key]
            query = query.where(column == filters[key])
    rows = session.execute(query.order_by(_cases.c.opened_at)).all()
    resolved = [r for r in rows if r.resolved_at is not None and r.resolved_at < period_end]
    respond = [_met(r.responded_at, r.respond_due_at, period_end) for r in rows]
    resolve = [_met(r.resolved_at, r.resolve_due_at, period_end) for r in rows]
    breaches = [{"instance_id": r.instance_id, "title": r.title, "fault_level": r.fault_level,
                 "targets": [name for name, met in (("respond", a), ("resolve", b)) if met is False]}
                for r, a, b in zip(rows, respond, resolve, strict=True) if False in (a, b)]
    scores = [r.satisfaction for r in rows if r.satisfaction is not None]
    hours = [(r.resolved_at - r.opened_at).total_seconds() / 3600 for r in resolved]
    days = Counter(r.opened_at.astimezone(ZONE).date().isoformat() for r in rows)
    day, trend = period_start.astimezone(ZONE).date(), []
    last = (period_end - dt.timedelta(microseconds=1)).astimezone(ZONE).date()  # the end is exclusive
    while day <= last:
        trend.append((day.isoformat(), days.get(day.isoformat(), 0)))
        day += dt.timedelta(days=1)
    return {
        "period_start": period_start.isoformat(), "period_end": period_end.isoformat(),
        "filters": {key: filters[key] for key in FILTERS if key in filters},
        "unapplied_filters": sorted(set(filters) - set(FILTERS)),
        "opened": len(rows),
        "resolved": len(resolved),
        "closed": sum(1 for r in rows if r.closed_at is not None and r.closed_at < period_end),
        "open_at_end": sum(1 for r in rows if r.closed_at is None or r.closed_at >= period_end),
        "resolution_rate": round(100 * len(resolved) / len(rows), 1) if rows else None,
        "mean_resolution_hours": round(sum(hours) / len(hours), 1) if hours else None,
        "sla": {"respond": _attainment(respond), "resolve": _attainment(resolve)},
        "breaches": breaches[:20], "breach_count": len(breaches),
        "satisfaction": {"count": len(scores), "average": round(sum(scores) / len(scores), 2) if scores else None,
                         "distribution": sorted(Counter(scores).items())},
        "complaints": sum(1 for r in rows if r.is_complaint),
        "chases": sum(r.chase_count for r in rows),
        "by": {name: _counts([getattr(r, name) for r in rows])
               for name in ("process_id", "fault_level", "category", "device_type", "customer_type", "business_line",
                            "zone")},
        "process_names": dict(session.execute(select(ProcessDefinition.process_id, ProcessDefinition.name)
                                              .where(ProcessDefinition.process_id.in_({r.process_id for r in rows}))
                                              .order_by(ProcessDefinition.version)).all()),
        "top_systems": _counts([r.system for r in rows if r.system])[:TOP],
        "trend": trend,
    }
