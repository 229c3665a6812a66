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

Queries are SQLAlchemy Core and run on SQLite and PostgreSQL. A year of a busy desk is hundreds of thousands
of cases, too many to sum on every page: closed cases (which never change again) are summed once per local
day and attribute value into `case_rollup` by `roll_up`, a job every minute (ROLLUP_JOB), and an
unfiltered period of whole days reads those sums plus the cases not rolled up yet (index ix_case_rollup).
With filters, figures are summed from service_case (index ix_case_opened); the backlog reads open cases
(ix_case_open); drill-down always lists service_case rows under the same conditions.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, Select, Table, and_, false, func, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine import clock
from engine.desk import case
from engine.errors import InvalidInput
from engine.process import hooks
from engine.store.kpi_models import ROLLUP_MEASURES, CaseRollup
from engine.store.models import ProcessInstance, ServiceCase

_cases = cast(Table, ServiceCase.__table__)
_instances = cast(Table, ProcessInstance.__table__)
_rollup = cast(Table, CaseRollup.__table__)
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
# Local days as the web layer counts them (config.py reads the same variable); case_rollup's days are in it.
DEFAULT_TIMEZONE = ROLLUP_TIMEZONE = os.environ.get("OPSFLOW_TIMEZONE", "Asia/Shanghai")


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
    """Exact values of case columns; a filter not given (or empty) matches any value."""

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
    """Missed: done late, or never done and the deadline passed while the case was open (a paused open case
    may be shown late early). A closed case's outcome never changes, which lets case_rollup keep it."""
    done = c[f"{target}_met"]
    return or_(done.is_(false()), and_(done.is_(None), c[f"{target}_due_at"] < func.coalesce(c.closed_at, now)))


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


# Only customers' requests count: not the follow-up work the engine starts itself (case.NOT_REQUESTS).
_REQUESTS = or_(c.process_id.is_(None), c.process_id.not_in(sorted(case.NOT_REQUESTS)))


def _in_period(period: Period, filters: Filters) -> list[ColumnElement[bool]]:
    return [c.opened_at >= period.start, c.opened_at < period.end, _REQUESTS, *filters.conditions()]


# The figures every grouped query gives (headline, breakdowns, SLA rows), all additive: counts of FIGURES,
# and sums with their counts for the averages. case_rollup has one column for each (kpi_models).
_MAIN = ("opened", "resolved", "first_contact", "respond_met", "respond_missed", "resolve_met", "resolve_missed",
         "rated", "chased", "complaints", "reopened", "backlog")
_COUNTED = (*_MAIN, *(f"satisfaction_{score}" for score in SCORES))
_SUMMED = {"chases": c.chase_count, "resolve_seconds_sum": c.resolve_seconds,
           "respond_seconds_sum": c.respond_seconds, "satisfaction_sum": c.satisfaction}
_NON_NULL = {"resolve_seconds_n": c.resolve_seconds, "respond_seconds_n": c.respond_seconds}
MEASURES = (*_COUNTED, *_SUMMED, *_NON_NULL)
assert set(MEASURES) == set(ROLLUP_MEASURES), "case_rollup keeps exactly kpi's measures"


def _additive(now: dt.datetime) -> list[Any]:
    return [*(func.count().filter(FIGURES[name](now)).label(name) for name in _COUNTED),
            *(func.coalesce(func.sum(column), 0).label(name) for name, column in _SUMMED.items()),
            *(func.count(column).label(name) for name, column in _NON_NULL.items())]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


def _figures(totals: dict[str, int]) -> dict[str, Any]:
    """Additive totals as the figures people read: counts, rates and averages."""
    out: dict[str, Any] = {name: int(totals.get(name, 0)) for name in _MAIN}
    out["mttr_seconds"] = _mean(totals.get("resolve_seconds_sum", 0), totals.get("resolve_seconds_n", 0))
    out["mean_respond_seconds"] = _mean(totals.get("respond_seconds_sum", 0), totals.get("respond_seconds_n", 0))
    out["satisfaction_average"] = _mean(totals.get("satisfaction_sum", 0), out["rated"])
    out["chases"] = int(totals.get("chases", 0))
    out["resolution_rate"] = _rate(out["resolved"], out["opened"])
    out["first_contact_rate"] = _rate(out["first_contact"], out["resolved"])
    for target in TARGETS:
        met, missed = out[f"{target}_met"], out[f"{target}_missed"]
        out[f"{target}_rate"] = _rate(met, met + missed)
    return out


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or clock.now()


# --- grouped totals: rolled-up closed cases plus the rest, read from service_case ------------------

TOTAL = "*"  # the dimension of case_rollup rows that count every case of the day
_DAY = "day"  # grouping by the local day opened (the trend)


def _offset_hours(moment: dt.datetime, timezone: str) -> int:
    """The time zone's offset in whole hours (SQLite's date arithmetic; Asia/Shanghai: 8, no summer time)."""
    offset = moment.astimezone(ZoneInfo(timezone)).utcoffset() or dt.timedelta()
    return int(offset.total_seconds() // 3600)


def _local_day(dialect: str, timezone: str, moment: dt.datetime) -> ColumnElement[dt.date]:
    """The local day a case was opened on (SQLite: at the zone's offset at `moment`)."""
    if dialect == "postgresql":
        return func.date(func.timezone(timezone, c.opened_at), type_=Date)
    return func.date(c.opened_at, f"{_offset_hours(moment, timezone):+d} hours", type_=Date)


def _rolled_up(period: Period, filters: Filters, timezone: str) -> tuple[dt.date, dt.date] | None:
    """The period's local days when case_rollup can answer for it: no filters, whole days of the roll-up's zone."""
    if filters.values or timezone != ROLLUP_TIMEZONE:
        return None
    first, last = period.days(timezone)
    whole = Period.parse(f"{first.isoformat()}..{last.isoformat()}", timezone)
    return (first, last) if (whole.start, whole.end) == (period.start, period.end) else None


def _grouped(session: Session, period: Period, filters: Filters, dimension: str, now: dt.datetime,
             timezone: str = DEFAULT_TIMEZONE) -> dict[Any, dict[str, int]]:
    """Additive totals per value of `dimension` (a DIMENSIONS name, TOTAL or _DAY)."""
    days = _rolled_up(period, filters, timezone)
    totals: dict[Any, dict[str, int]] = {}

    def add(key: Any, row: Any) -> None:
        into = totals.setdefault(key, dict.fromkeys(MEASURES, 0))
        for name in MEASURES:
            into[name] += int(getattr(row, name) or 0)

    if dimension == _DAY:
        key: Any = _local_day(session.get_bind().dialect.name, timezone, period.start)
    else:
        key = literal(TOTAL) if dimension == TOTAL else c[dimension]
    live = select(key.label("key"), *_additive(now)).where(*_in_period(period, filters))
    if days is not None:
        live = live.where(c.rollup_batch.is_(None))
    for row in session.execute(live if dimension == TOTAL else live.group_by(key)):
        add(row.key, row)
    if days is not None:
        rolled = (select((_rollup.c.day if dimension == _DAY else _rollup.c.value).label("key"),
                         *(func.sum(_rollup.c[name]).label(name) for name in MEASURES))
                  .where(_rollup.c.dimension == (TOTAL if dimension == _DAY else dimension),
                         _rollup.c.day >= days[0], _rollup.c.day <= days[1]).group_by("key"))
        for row in session.execute(rolled):
            add(TOTAL if dimension == TOTAL else row.key if dimension == _DAY else row.key or None, row)
    if dimension == TOTAL and TOTAL not in totals:
        totals[TOTAL] = dict.fromkeys(MEASURES, 0)
    return totals


def headline(session: Session, period: Period, filters: Filters | None = None, *,
             now: dt.datetime | None = None, timezone: str = DEFAULT_TIMEZONE) -> dict[str, Any]:
    """The period's main figures (see the module docstring)."""
    return _figures(_grouped(session, period, filters or Filters(), TOTAL, _now(now), timezone)[TOTAL])


def breakdown(session: Session, period: Period, dimension: str, filters: Filters | None = None, *,
              now: dt.datetime | None = None, timezone: str = DEFAULT_TIMEZONE) -> list[dict[str, Any]]:
    """The main figures per value of one attribute (DIMENSIONS), most cases first; None: not recorded."""
    if dimension not in DIMENSIONS:
        raise InvalidInput(f"cannot break down by {dimension!r}; one of {', '.join(DIMENSIONS)}")
    grouped = _grouped(session, period, filters or Filters(), dimension, _now(now), timezone)
    rows = [{"value": value, **_figures(totals)} for value, totals in grouped.items()]
    return sorted(rows, key=lambda row: (-row["opened"], row["value"] is None, str(row["value"])))


def _sla_rows(levels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"fault_level": row["value"], "target": target, "met": row[f"{target}_met"],
             "missed": row[f"{target}_missed"], "rate": row[f"{target}_rate"]}
            for row in sorted(levels, key=lambda row: str(row["value"])) for target in TARGETS]


def sla(session: Session, period: Period, filters: Filters | None = None, *,
        now: dt.datetime | None = None, timezone: str = DEFAULT_TIMEZONE) -> list[dict[str, Any]]:
    """SLA attainment per fault level and target: met, missed (late, or open past its deadline), rate."""
    return _sla_rows(breakdown(session, period, "fault_level", filters, now=now, timezone=timezone))


def _scores(totals: dict[str, int]) -> dict[int, int]:
    return {score: int(totals[f"satisfaction_{score}"]) for score in SCORES}


def satisfaction(session: Session, period: Period, filters: Filters | None = None, *,
                 now: dt.datetime | None = None, timezone: str = DEFAULT_TIMEZONE) -> dict[int, int]:
    """How many cases got each score (1-5)."""
    return _scores(_grouped(session, period, filters or Filters(), TOTAL, _now(now), timezone)[TOTAL])


def bucket_of(day: dt.date, unit: str) -> str:
    """A local day's trend bucket as ISO text: the day, its week's Monday, or its month (2026-11)."""
    if unit not in UNITS:
        raise InvalidInput(f"trend unit {unit!r} is not one of {', '.join(UNITS)}")
    if unit == "month":
        return day.strftime("%Y-%m")
    return (day - dt.timedelta(days=day.weekday() if unit == "week" else 0)).isoformat()


_TREND = ("opened", "resolved", "resolve_met", "resolve_missed")


def trend(session: Session, period: Period, filters: Filters | None = None, *, unit: str | None = None,
          timezone: str = DEFAULT_TIMEZONE, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Per local day, week or month of the period: cases opened, resolved, SLA resolve met and missed."""
    unit = unit or period.unit
    buckets: dict[str, dict[str, int]] = {}
    for day, totals in _grouped(session, period, filters or Filters(), _DAY, _now(now), timezone).items():
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        into = buckets.setdefault(bucket_of(day, unit), dict.fromkeys(_TREND, 0))
        for name in _TREND:
            into[name] += totals[name]
    return [{"bucket": name, **figures} for name, figures in sorted(buckets.items())]


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
    """Cases of the period still open at `now`, by age (open cases are never rolled up: read here)."""
    moment = _now(now)
    query = select(*(func.count().filter(_age(name, moment)).label(name) for name, _, _ in AGES)).where(
        c.closed_at.is_(None), *_in_period(period, filters or Filters()))
    row = session.execute(query).one()
    return {name: int(getattr(row, name)) for name, _, _ in AGES}


def summary(session: Session, period: Period, filters: Filters | None = None, *,
            now: dt.datetime | None = None, timezone: str = DEFAULT_TIMEZONE,
            dimensions: Iterable[str] = DIMENSIONS) -> dict[str, Any]:
    """One period's figures as plain data (see the module docstring): what the dashboard and the PDF show."""
    filters = filters or Filters()
    moment = _now(now)
    total = _grouped(session, period, filters, TOTAL, moment, timezone)[TOTAL]
    breakdowns = {name: breakdown(session, period, name, filters, now=moment, timezone=timezone)
                  for name in dict.fromkeys(("fault_level", *dimensions))}
    return {
        "period": {"label": period.label, "start": period.start.isoformat(), "end": period.end.isoformat(),
                   "unit": period.unit},
        "filters": dict(filters.values),
        "now": moment.isoformat(),
        "headline": _figures(total),
        "sla": _sla_rows(breakdowns["fault_level"]),
        "satisfaction": _scores(total),
        "trend": trend(session, period, filters, timezone=timezone, now=moment),
        "breakdowns": {name: breakdowns[name] for name in dimensions},
        "backlog": backlog(session, period, filters, now=moment),
    }


# --- the roll-up ----------------------------------------------------------------------------------

# Cases one run of the job adds at most: the first run after an upgrade does not hold the database for long.
ROLLUP_BATCH = 20_000


def roll_up(session: Session, *, now: dt.datetime | None = None, limit: int | None = ROLLUP_BATCH) -> int:
    """Add cases closed since the last run to case_rollup (at most `limit`, oldest first); returns how many.
    A closed case never changes again; it is marked first (its row locked by this transaction) and summed
    from the mark, so a case that closes meanwhile waits for the next run instead of being counted twice or lost."""
    batch = secrets.randbits(31) or 1
    waiting = and_(c.closed_at.is_not(None), c.rollup_batch.is_(None), _REQUESTS)
    if limit is not None:
        oldest = select(c.instance_id).where(waiting).order_by(c.instance_id).limit(limit)
        waiting = c.instance_id.in_(oldest.scalar_subquery())
    marked = session.connection().execute(update(_cases).where(waiting).values(rollup_batch=batch)).rowcount
    if not marked:
        return 0
    dialect = session.get_bind().dialect.name
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    day = _local_day(dialect, ROLLUP_TIMEZONE, _now(now))
    for dimension in (TOTAL, *DIMENSIONS):
        value = literal(TOTAL) if dimension == TOTAL else func.coalesce(c[dimension], "")
        rows = (select(literal(dimension), day, value, *_additive(_now(now)))
                .where(c.rollup_batch == batch).group_by(day, value))
        statement = upsert(_rollup).from_select(["dimension", "day", "value", *MEASURES], rows)
        session.execute(statement.on_conflict_do_update(
            index_elements=["dimension", "day", "value"],
            set_={name: _rollup.c[name] + statement.excluded[name] for name in MEASURES}))
    return int(marked)


# Every minute, in a transaction of its own (engine.process.scheduler runs the registered jobs).
ROLLUP_JOB = hooks.Job("kpi_rollup", 60, roll_up)


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
    return (select(*(c[name] for name in CASE_COLUMNS), _instances.c.title, _instances.c.number)
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

