"""Service KPIs (seed 000 §SLA/事件/问题, seed 002): read from the case record's plain columns, never from JSON.

Cases belong to a period by when they were opened (`Period`, local days of the desk's time zone); the
backlog is what is still open at `now`. Every figure is a condition on `service_case` (`FIGURES`): the
dashboard counts it and drill-down lists the cases behind it with the same condition, so the two agree.

For other readers (the PDF report of engine.desk's report procedure, exports, the benchmark):

    summary(session, period, filters=None, now=None) -> dict

gives one period's figures as plain data (str, int, float, None, lists and dicts; JSON-ready):
``headline`` (opened, resolved, resolution_rate, mttr_seconds, mean_respond_seconds, first_contact_rate,
satisfaction_average, rated, chases, chased, complaints, reopened, backlog, and the SLA counts),
``sla`` (per fault level and target: met, missed, rate), ``satisfaction`` (count per score 1-5),
``trend`` (per day, week or month: opened, resolved, resolve_met, resolve_missed), ``breakdowns`` (per
attribute in DIMENSIONS: one row per value with the headline's main figures), ``backlog`` (open cases
by age) and ``period``/``filters`` as given. Rates are fractions (0-1) or None when nothing was counted.

Queries are SQLAlchemy Core and run on SQLite and PostgreSQL; they use the indexes ix_case_opened
(period scans) and ix_case_open (the backlog).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    case,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import InvalidInput
from engine.store.models import ProcessInstance, ServiceCase

_cases = cast(Table, ServiceCase.__table__)
_instances = cast(Table, ProcessInstance.__table__)
c = _cases.c

# Archive attributes (seed 002: device type / customer type / business line) and the rest a report breaks down by.
DIMENSIONS = ("process_id", "fault_level", "category", "system", "device_type", "customer_type", "business_line",
              "zone", "customer", "engineer", "assigned_group")
# What the dashboard filters by, on top of the period (issue 13: process, level, customer, zone; and the rest).
FILTERS = DIMENSIONS
TARGETS = ("respond", "resolve")
SCORES = (1, 2, 3, 4, 5)
UNITS = ("day", "week", "month")
# Backlog ages: (name, from, to) in days; open cases opened between now - to and now - from.
AGES = (("lt_1d", 0, 1), ("1_3d", 1, 3), ("3_7d", 3, 7), ("7_30d", 7, 30), ("gt_30d", 30, None))
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; `label` as people wrote it (2026-11, 2026, 2026-11-01..2026-11-15)."""

    start: dt.datetime
    end: dt.datetime
    label: str

    @classmethod
    def parse(cls, text: str, timezone: str = DEFAULT_TIMEZONE) -> Period:
        """A year (2026), a month (2026-11), a day (2026-11-03) or a range of days (2026-11-01..2026-11-15,
        both included), in local days of `timezone`."""
        text = (text or "").strip()
        zone = ZoneInfo(timezone)
        try:
            if ".." in text:
                first, last = (dt.date.fromisoformat(part.strip()) for part in text.split("..", 1))
                begin, end = first, last + dt.timedelta(days=1)
            elif len(text) == 4:
                begin, end = dt.date(int(text), 1, 1), dt.date(int(text) + 1, 1, 1)
            elif len(text) == 7:
                year, month = int(text[:4]), int(text[5:])
                begin = dt.date(year, month, 1)
                end = dt.date(year + month // 12, month % 12 + 1, 1)
            else:
                begin = dt.date.fromisoformat(text)
                end = begin + dt.timedelta(days=1)
        except ValueError:
            raise InvalidInput(f"period {text!r} is not a year (2026), month (2026-11), day (2026-11-03) or "
                               f"range (2026-11-01..2026-11-15)", field_errors={"period": ["2026-11"]}) from None
        if end <= begin:
            raise InvalidInput(f"period {text!r} ends before it begins", field_errors={"period": ["order"]})

        def utc(day: dt.date) -> dt.datetime:
            return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
        return cls(utc(begin), utc(end), text)

    def days(self, timezone: str = DEFAULT_TIMEZONE) -> tuple[dt.date, dt.date]:
        """The first and the last local day of the period."""
        zone = ZoneInfo(timezone)
        return self.start.astimezone(zone).date(), (self.end.astimezone(zone) - dt.timedelta(days=1)).date()

    def narrowed(self, bucket: str, unit: str, timezone: str = DEFAULT_TIMEZONE) -> Period:
        """The part of the period in one trend bucket (a day, the week starting that Monday, a month)."""
        first = dt.date.fromisoformat(bucket + "-01" if unit == "month" else bucket)
        if unit == "month":
            last = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1) - dt.timedelta(days=1)
        else:
            last = first + dt.timedelta(days=6 if unit == "week" else 0)
        begin, end = self.days(timezone)
        first, last = max(first, begin), min(last, end)
        return Period.parse(f"{first.isoformat()}..{last.isoformat()}", timezone)

    @property
    def unit(self) -> str:
        """The trend's bucket for a period this long."""
        days = (self.end - self.start).days
        return "day" if days <= 62 else "week" if days <= 186 else "month"


@dataclass(frozen=True)
class Filters:
    """Exact values of case columns (None: any). `fault_level="-"` style empties are not used: None is any."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, given: dict[str, Any]) -> Filters:
        unknown = set(k for k, v in given.items() if v) - set(FILTERS)
        if unknown:
            raise InvalidInput(f"unknown filters: {', '.join(sorted(unknown))}")
        return cls({k: str(v) for k, v in given.items() if v})

    def conditions(self) -> list[ColumnElement[bool]]:
        return [c[name] == value for name, value in sorted(self.values.items())]


# --- figures: one condition each, counted by the dashboard and listed by drill-down ---------------

def _missed(target: str, now: dt.datetime) -> ColumnElement[bool]:
    """Missed: done late, or not done and past the deadline (a paused open case may be shown late early)."""
    done = c[f"{target}_met"]
    return or_(done.is_(false()), and_(done.is_(None), c[f"{target}_due_at"] < now))


def _first_contact(_now: dt.datetime) -> ColumnElement[bool]:
    return and_(c.resolved_at.is_not(None), c.resolve_attempts == 1, c.reopen_count == 0)


FIGURES: dict[str, Callable[[dt.datetime], ColumnElement[bool]]] = {
    "opened": lambda now: true(),
    "resolved": lambda now: c.resolved_at.is_not(None),
    "unresolved": lambda now: c.resolved_at.is_(None),
    "closed": lambda now: c.closed_at.is_not(None),
    "first_contact": _first_contact,
    "respond_met": lambda now: c.respond_met.is_(true()),
    "respond_missed": lambda now: _missed("respond", now),
    "resolve_met": lambda now: c.resolve_met.is_(true()),
    "resolve_missed": lambda now: _missed("resolve", now),
    "rated": lambda now: c.satisfaction.is_not(None),
    "chased": lambda now: c.chase_count > 0,
    "complaints": lambda now: c.is_complaint.is_(true()),
    "reopened": lambda now: c.reopen_count > 0,
    "backlog": lambda now: c.closed_at.is_(None),
}


def _scored(score: int) -> Callable[[dt.datetime], ColumnElement[bool]]:
    return lambda now: c.satisfaction == score


FIGURES.update({f"satisfaction_{score}": _scored(score) for score in SCORES})


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _in_period(period: Period, filters: Filters) -> list[ColumnElement[bool]]:
    return [c.opened_at >= period.start, c.opened_at < period.end, *filters.conditions()]


# The figures every grouped query gives (headline, breakdowns, SLA rows); trend takes a few of them.
_MAIN = ("opened", "resolved", "first_contact", "respond_met", "respond_missed", "resolve_met", "resolve_missed",
         "rated", "chased", "complaints", "reopened", "backlog")


def _measures(now: dt.datetime, names: Iterable[str] = _MAIN) -> list[Any]:
    return [*(_count(FIGURES[name](now)).label(name) for name in names),
            func.avg(c.resolve_seconds).label("mttr_seconds"),
            func.avg(c.respond_seconds).label("mean_respond_seconds"),
            func.avg(c.satisfaction).label("satisfaction_average"),
            func.coalesce(func.sum(c.chase_count), 0).label("chases")]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _figures(row: Any) -> dict[str, Any]:
    """A grouped row as plain numbers, with its rates."""
    values = dict(row._mapping)
    out: dict[str, Any] = {name: int(values[name]) for name in _MAIN}
    for name in ("mttr_seconds", "mean_respond_seconds", "satisfaction_average"):
        out[name] = None if values[name] is None else round(float(values[name]), 2)
    out["chases"] = int(values["chases"])
    out["resolution_rate"] = _rate(out["resolved"], out["opened"])
    out["first_contact_rate"] = _rate(out["first_contact"], out["resolved"])
    for target in TARGETS:
        met, missed = out[f"{target}_met"], out[f"{target}_missed"]
        out[f"{target}_rate"] = _rate(met, met + missed)
    return out


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or clock.now()


def headline(session: Session, period: Period, filters: Filters | None = None, *,
             now: dt.datetime | None = None) -> dict[str, Any]:
    """The period's main figures (see the module docstring)."""
    query = select(*_measures(_now(now))).where(*_in_period(period, filters or Filters()))
    return _figures(session.execute(query).one())


def breakdown(session: Session, period: Period, dimension: str, filters: Filters | None = None, *,
              now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The main figures per value of one attribute (DIMENSIONS), most cases first; None: not recorded."""
    if dimension not in DIMENSIONS:
        raise InvalidInput(f"cannot break down by {dimension!r}; one of {', '.join(DIMENSIONS)}")
    column = c[dimension]
    query = (select(column.label("value"), *_measures(_now(now))).where(*_in_period(period, filters or Filters()))
             .group_by(column))
    rows = [{"value": row.value, **_figures(row)} for row in session.execute(query)]
    return sorted(rows, key=lambda row: (-row["opened"], row["value"] is None, str(row["value"])))


def sla(session: Session, period: Period, filters: Filters | None = None, *,
        now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """SLA attainment per fault level and target: met, missed (late, or open past its deadline), rate."""
    rows = breakdown(session, period, "fault_level", filters, now=now)
    return [{"fault_level": row["value"], "target": target, "met": row[f"{target}_met"],
             "missed": row[f"{target}_missed"], "rate": row[f"{target}_rate"]}
            for row in sorted(rows, key=lambda row: str(row["value"])) for target in TARGETS]


def satisfaction(session: Session, period: Period, filters: Filters | None = None) -> dict[int, int]:
    """How many cases got each score (1-5)."""
    query = (select(c.satisfaction, func.count()).where(*_in_period(period, filters or Filters()),
                                                         c.satisfaction.is_not(None)).group_by(c.satisfaction))
    found = {score: number for score, number in session.execute(query)}
    return {score: int(found.get(score, 0)) for score in SCORES}


def _offset_hours(period: Period, timezone: str) -> int:
    """The desk's time zone offset at the period's start, in whole hours (Asia/Shanghai: 8, no summer time)."""
    offset = period.start.astimezone(ZoneInfo(timezone)).utcoffset() or dt.timedelta()
    return int(offset.total_seconds() // 3600)


def bucket(dialect: str, unit: str, hours: int) -> ColumnElement[str]:
    """opened_at's local day, week (its Monday) or month, as ISO text (2026-11-02, 2026-11)."""
    if unit not in UNITS:
        raise InvalidInput(f"trend unit {unit!r} is not one of {', '.join(UNITS)}")
    if dialect == "postgresql":
        local = c.opened_at + func.make_interval(0, 0, 0, 0, hours)
        fmt = "YYYY-MM" if unit == "month" else "YYYY-MM-DD"
        return func.to_char(func.date_trunc(unit, func.timezone("UTC", local)), fmt)
    local_day = func.datetime(c.opened_at, f"{hours:+d} hours")
    if unit == "month":
        return func.strftime("%Y-%m", local_day)
    if unit == "week":  # back to Monday: %w is 0 on Sunday
        return func.date(local_day, func.printf("-%d days", (func.strftime("%w", local_day).cast(Integer) + 6) % 7))
    return func.date(local_day)


def trend(session: Session, period: Period, filters: Filters | None = None, *, unit: str | None = None,
          timezone: str = DEFAULT_TIMEZONE, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Per local day, week or month of the period: cases opened, resolved, SLA resolve met and missed."""
    names = ("opened", "resolved", "resolve_met", "resolve_missed")
    key = bucket(session.get_bind().dialect.name, unit or period.unit, _offset_hours(period, timezone)).label("bucket")
    query = (select(key, *(_count(FIGURES[name](_now(now))).label(name) for name in names))
             .where(*_in_period(period, filters or Filters())).group_by(key).order_by(key))
    return [{"bucket": row.bucket, **{name: int(getattr(row, name)) for name in names}}
            for row in session.execute(query)]


def _age(name: str, now: dt.datetime) -> ColumnElement[bool]:
    _, low, high = next(age for age in AGES if age[0] == name)
    parts = [c.closed_at.is_(None), c.opened_at <= now - dt.timedelta(days=low)]
    if high is not None:
        parts.append(c.opened_at > now - dt.timedelta(days=high))
    return and_(*parts)


def _aged(name: str) -> Callable[[dt.datetime], ColumnElement[bool]]:
    return lambda now: _age(name, now)


FIGURES.update({f"age_{name}": _aged(name) for name, _, _ in AGES})


def backlog(session: Session, period: Period, filters: Filters | None = None, *,
            now: dt.datetime | None = None) -> dict[str, int]:
    """Cases of the period still open at `now`, by age."""
    moment = _now(now)
    query = select(*(_count(_age(name, moment)).label(name) for name, _, _ in AGES)).where(
        c.closed_at.is_(None), *_in_period(period, filters or Filters()))
    row = session.execute(query).one()
    return {name: int(getattr(row, name)) for name, _, _ in AGES}


def summary(session: Session, period: Period, filters: Filters | None = None, *,
            now: dt.datetime | None = None, timezone: str = DEFAULT_TIMEZONE,
            dimensions: Iterable[str] = DIMENSIONS) -> dict[str, Any]:
    """One period's figures as plain data (see the module docstring): what the dashboard and the PDF show."""
    filters = filters or Filters()
    moment = _now(now)
    return {
        "period": {"label": period.label, "start": period.start.isoformat(), "end": period.end.isoformat(),
                   "unit": period.unit},
        "filters": dict(filters.values),
        "now": moment.isoformat(),
        "headline": headline(session, period, filters, now=moment),
        "sla": sla(session, period, filters, now=moment),
        "satisfaction": satisfaction(session, period, filters),
        "trend": trend(session, period, filters, timezone=timezone, now=moment),
        "breakdowns": {name: breakdown(session, period, name, filters, now=moment) for name in dimensions},
        "backlog": backlog(session, period, filters, now=moment),
    }


# The breakdowns the dashboard shows beside the one chosen: the load per engineer and per group.
LOAD = ("engineer", "assigned_group")


def dashboard(session: Session, period: Period, filters: Filters | None = None, *, dimension: str = "category",
              now: dt.datetime | None = None, timezone: str = DEFAULT_TIMEZONE) -> dict[str, Any]:
    """What /reports shows: the summary with the chosen breakdown and the engineer and group load (the
    benchmark, bench/reports.py, times exactly this)."""
    if dimension not in DIMENSIONS:
        raise InvalidInput(f"cannot break down by {dimension!r}; one of {', '.join(DIMENSIONS)}",
                           field_errors={"dimension": list(DIMENSIONS)})
    return summary(session, period, filters, now=now, timezone=timezone, dimensions=dict.fromkeys((dimension, *LOAD)))


# --- drill-down -----------------------------------------------------------------------------------

CASE_COLUMNS = ("instance_id", "process_id", "fault_level", "category", "system", "device_type", "customer_type",
                "business_line", "zone", "customer", "engineer", "assigned_group", "opened_at", "responded_at",
                "resolved_at", "closed_at", "respond_due_at", "resolve_due_at", "respond_met", "resolve_met",
                "resolve_seconds", "satisfaction", "chase_count", "is_complaint", "reopen_count", "resolve_attempts")


def cases_query(period: Period, figure: str, filters: Filters | None = None, *, now: dt.datetime | None = None,
                value: str | None = None, dimension: str | None = None) -> Select[Any]:
    """The cases behind one figure, newest first: `figure` from FIGURES; `dimension`/`value` narrow it to a
    breakdown's bar (value "" or None: not recorded)."""
    if figure not in FIGURES:
        raise InvalidInput(f"unknown figure {figure!r}", field_errors={"figure": sorted(FIGURES)})
    conditions = [*_in_period(period, filters or Filters()), FIGURES[figure](_now(now))]
    if dimension is not None:
        if dimension not in DIMENSIONS:
            raise InvalidInput(f"cannot break down by {dimension!r}; one of {', '.join(DIMENSIONS)}")
        conditions.append(c[dimension].is_(None) if not value else c[dimension] == value)
    return (select(*(c[name] for name in CASE_COLUMNS), _instances.c.title)
            .join(_instances, _instances.c.id == c.instance_id)
            .where(*conditions).order_by(c.opened_at.desc(), c.instance_id.desc()))


def cases(session: Session, period: Period, figure: str, filters: Filters | None = None, *,
          now: dt.datetime | None = None, dimension: str | None = None, value: str | None = None,
          limit: int | None = 500) -> list[dict[str, Any]]:
    """The cases behind one figure as plain rows (see cases_query); `limit` None: all of them."""
    query = cases_query(period, figure, filters, now=now, dimension=dimension, value=value)
    if limit is not None:
        query = query.limit(limit)
    return [dict(row._mapping) for row in session.execute(query)]


def count_cases(session: Session, period: Period, figure: str, filters: Filters | None = None, *,
                now: dt.datetime | None = None, dimension: str | None = None, value: str | None = None) -> int:
    query = cases_query(period, figure, filters, now=now, dimension=dimension, value=value).order_by(None)
    return int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())

