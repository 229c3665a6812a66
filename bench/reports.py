"""Reports benchmark: the /reports dashboard's KPI queries (engine.desk.kpi.dashboard) over 1 000 000 historical
cases on PostgreSQL and 100 000 on SQLite, for one month and one year, and one month's service report as PDF
(its figures from the case records and the rendering, as archiving it does).

Cases are written as rows (process_instance + service_case, as the engine leaves them when a case is done:
times, deadlines, SLA outcomes, attempts, reopenings, chases, satisfaction), spread evenly over --years years up
to the end of 2026-11 (local time); PostgreSQL gets them by COPY, SQLite by multi-row inserts. Then the
roll-up job runs once (kpi.roll_up: closed cases summed per day and attribute into case_rollup), as it has in
a running system; the dashboard reads those sums plus the cases still open. The month is
2026-11 and the year 2026 (eleven months of data). Each measurement is the median of --repeats runs after one
warm-up run, each in its own transaction as a page request is.

The baseline, measured in the same run on the same data, is one `SELECT count(*)` of the period's cases (the
least any figure over those rows costs); ratios say how many such scans the whole dashboard costs.

Run: .venv/bin/python -m bench.reports [--cases N] [--sqlite-cases N] [--years N] [--url postgresql+psycopg://…]
     [--no-postgres] [--quick]   (without --url it starts its own PostgreSQL, as the tests do)
Last line: RESULT cases=… month_ms=… year_ms=… pdf_ms=… (PostgreSQL's cases and times; SQLite's with --no-postgres)
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text

from bench import postgres_database
from engine.desk import kpi, report_figures, report_pdf
from engine.store import schema
from engine.store.db import Database
from engine.store.models import ProcessDefinition, ProcessInstance, ServiceCase

_cases = cast(Table, ServiceCase.__table__)
_instances = cast(Table, ProcessInstance.__table__)
_definitions = cast(Table, ProcessDefinition.__table__)

MONTH = "2026-11"
YEAR = "2026"
END = dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)  # the end of 2026-11 in Asia/Shanghai
NOW = END  # the dashboard is looked at when the month has just ended
H = 3600
# (process, weight); health checks have no fault level and no SLA.
PROCESSES = [("service_desk", 60), ("third_party", 10), ("other_service", 10), ("health_check", 10),
             ("emergency", 5), ("problem_management", 5)]
LEVELS = [("I", 3), ("II", 12), ("III", 35), ("IV", 50)]
# Respond and resolve targets per level, in seconds (the shape of the default SLA policy).
TARGETS = {"I": (15 * 60, 24 * H), "II": (30 * 60, 72 * H), "III": (30 * 60, 72 * H), "IV": (60 * 60, 120 * H)}
CATEGORIES = ["fault", "request", "consultation", "change", "security"]
DEVICE_TYPES = ["host", "storage", "network", "terminal", "printer", "database", "middleware", "ups"]
CUSTOMER_TYPES = ["medical", "education", "government", "finance", "enterprise"]
BUSINESS_LINES = ["software_platform", "system_integration", "operations", "security_services", "consulting"]
ZONES = [f"区域{n:02d}" for n in range(1, 13)]
SYSTEMS = [f"业务系统{n:02d}" for n in range(1, 41)]
CUSTOMERS = [f"客户单位{n:03d}" for n in range(1, 301)]
ENGINEERS = [f"engineer{n:02d}" for n in range(1, 61)]
GROUPS = ["engineer", "service_desk", "service_manager", "vendor", "resident_manager"]
CASE_COLUMNS = ("instance_id", "process_id", "fault_level", "category", "system", "device_type", "customer_type",
                "business_line", "zone", "customer", "engineer", "assigned_group", "opened_at", "responded_at",
                "resolved_at", "closed_at", "respond_due_at", "resolve_due_at", "paused_seconds", "respond_met",
                "resolve_met", "respond_seconds", "resolve_seconds", "satisfaction", "chase_count", "is_complaint",
                "resolve_attempts", "reopen_count")
INSTANCE_COLUMNS = ("id", "definition_id", "process_id", "status", "title", "fault_level", "started_by",
                    "started_at", "ended_at", "workflow_state", "lock_version", "last_event_seq", "last_event_hash")


def _weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    return rng.choices([name for name, _ in choices], weights=[weight for _, weight in choices])[0]


def generate(count: int, years: int, seed: int = 13) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """(instance row, case row) per case, in INSTANCE_COLUMNS and CASE_COLUMNS order, oldest first."""
    rng = random.Random(seed)
    span = years * 365 * 24 * H
    begin = END - dt.timedelta(seconds=span)
    for number in range(1, count + 1):
        opened = begin + dt.timedelta(seconds=int(span * (number - 0.5) / count))
        process = _weighted(rng, PROCESSES)
        level = None if process == "health_check" else _weighted(rng, LEVELS)
        respond_target, resolve_target = TARGETS[level] if level else (None, None)
        respond_after = int(rng.expovariate(1 / (12 * 60)))
        resolve_after = int(rng.lognormvariate(10.2, 1.0))  # median ~7.5 h, a long tail of days
        paused = int(rng.expovariate(1 / (6 * H))) if rng.random() < 0.05 else 0
        resolved = (opened + dt.timedelta(seconds=resolve_after)
                    if rng.random() < 0.97 and opened + dt.timedelta(seconds=resolve_after) < NOW else None)
        closed = resolved + dt.timedelta(seconds=rng.randint(H, 48 * H)) if resolved else None
        if closed is not None and closed >= NOW:
            closed = None
        responded = opened + dt.timedelta(seconds=respond_after)
        respond_due = opened + dt.timedelta(seconds=respond_target) if respond_target else None
        resolve_due = opened + dt.timedelta(seconds=resolve_target) if resolve_target else None
        pause = dt.timedelta(seconds=paused)
        chases = rng.choice((1, 1, 2, 3)) if rng.random() < 0.1 else 0
        attempts = rng.choice((1, 1, 1, 1, 2, 2, 3)) if resolved else rng.choice((0, 1))
        reopened = 1 if resolved and rng.random() < 0.05 else 0
        rated = closed is not None and rng.random() < 0.7
        case = (number, process, level, rng.choice(CATEGORIES), rng.choice(SYSTEMS), rng.choice(DEVICE_TYPES),
                rng.choice(CUSTOMER_TYPES), rng.choice(BUSINESS_LINES), rng.choice(ZONES), rng.choice(CUSTOMERS),
                rng.choice(ENGINEERS) if attempts else None, rng.choice(GROUPS), opened, responded, resolved, closed,
                respond_due, resolve_due, paused, responded <= respond_due + pause if respond_due else None,
                resolved <= resolve_due + pause if resolved and resolve_due else None, respond_after,
                resolve_after if resolved else None,
                rng.choices((1, 2, 3, 4, 5), weights=(2, 3, 10, 35, 50))[0] if rated else None,
                chases, chases >= 3, attempts, reopened)
        instance = (number, 1, process, "completed" if closed else "running", f"案例 {number}", level,
                    "requester", opened, closed, "{}", 0, 0, "")
        yield instance, case


def fill(database: Database, count: int, years: int) -> None:
    """`count` cases as rows; then the planner's statistics (and PostgreSQL's visibility map) are brought up to date."""
    with database.transaction() as session:
        session.execute(insert(_definitions).values(id=1, process_id="service_desk", version=1, name="服务台",
                                                    sources=[], sha256="bench", deployed_at=END))
    if database.engine.dialect.name == "postgresql":
        _copy(database, count, years)
    else:
        batch: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
        for pair in generate(count, years):
            batch.append(pair)
            if len(batch) == 10_000:
                _insert(database, batch)
                batch = []
        if batch:
            _insert(database, batch)
    began = time.perf_counter()
    with database.transaction() as session:  # what the roll-up job (kpi.ROLLUP_JOB) has done by now
        rolled = kpi.roll_up(session, now=NOW, limit=None)
    print(f"{database.engine.dialect.name}: {rolled} closed cases rolled up in {time.perf_counter() - began:.0f} s",
          file=sys.stderr)
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("process_instance", "service_case", "case_rollup"):
                connection.execute(text(f"VACUUM ANALYZE {table}"))
    else:
        with database.transaction() as session:
            session.execute(text("ANALYZE"))


def _insert(database: Database, batch: list[tuple[tuple[Any, ...], tuple[Any, ...]]]) -> None:
    with database.transaction() as session:
        session.execute(insert(_instances), [dict(zip(INSTANCE_COLUMNS, instance, strict=True))
                                             for instance, _ in batch])
        session.execute(insert(_cases), [dict(zip(CASE_COLUMNS, case, strict=True)) for _, case in batch])


def _copy(database: Database, count: int, years: int) -> None:
    """COPY the instances, then the cases: the same seed generates the same rows twice, which costs less than
    keeping a million cases in memory until their instances are in."""
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table, columns, part in (("process_instance", INSTANCE_COLUMNS, 0), ("service_case", CASE_COLUMNS, 1)):
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for pair in generate(count, years):
                    copy.write_row(pair[part])
        raw.commit()
    finally:
        raw.close()


def _median_ms(database: Database, run: Callable[[Any], object], repeats: int) -> float:
    def once() -> float:
        began = time.perf_counter()
        with database.transaction() as session:
            run(session)
        return (time.perf_counter() - began) * 1000

    once()  # warm-up: connection, statement caches, the database's pages
    return statistics.median(once() for _ in range(repeats))


def dashboard(session: Any, period: kpi.Period) -> dict[str, Any]:
    """Exactly what one /reports page asks the database (app.reports.routes.index)."""
    summary = kpi.dashboard(session, period, now=NOW)
    session.scalars(select(_definitions.c.process_id)).all()  # the process filter's choices
    return summary


def baseline(session: Any, period: kpi.Period) -> int:
    return int(session.execute(select(func.count()).select_from(_cases).where(
        _cases.c.opened_at >= period.start, _cases.c.opened_at < period.end)).scalar_one())


def report_pdf_of(session: Any, period: kpi.Period) -> bytes:
    """What archiving one month's service report costs: its figures from the case records
    (engine.desk.report_figures) and the PDF (engine.desk.report_pdf, WeasyPrint with SVG charts)."""
    figures = report_figures.figures(session, period.start, period.end, {})
    return report_pdf.render_pdf(figures, "本月运行平稳。", {"title": f"定期运维报告 {period.label}"})


def measure(database: Database, repeats: int) -> dict[str, float]:
    times: dict[str, float] = {}
    for name, label in (("month", MONTH), ("year", YEAR)):
        period = kpi.Period.parse(label)
        times[f"{name}_ms"] = _median_ms(database, lambda session, p=period: dashboard(session, p), repeats)
        times[f"{name}_baseline_ms"] = _median_ms(database, lambda session, p=period: baseline(session, p), repeats)
    with database.transaction() as session:
        summary = kpi.dashboard(session, kpi.Period.parse(MONTH), now=NOW)
        times["month_cases"] = summary["headline"]["opened"]
        times["year_cases"] = baseline(session, kpi.Period.parse(YEAR))
    with database.transaction() as session:
        report_pdf_of(session, kpi.Period.parse(MONTH))  # warm-up: WeasyPrint's import and fonts
    pdf = []
    for _ in range(max(1, min(repeats, 3))):
        with database.transaction() as session:
            began = time.perf_counter()
            document = report_pdf_of(session, kpi.Period.parse(MONTH))
            pdf.append((time.perf_counter() - began) * 1000)
    assert document.startswith(b"%PDF"), "WeasyPrint gave no PDF"
    times["pdf_ms"] = statistics.median(pdf)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases on PostgreSQL")
    parser.add_argument("--sqlite-cases", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=4, help="the history the cases spread over")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--url", help="an empty PostgreSQL database; default: a private server")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.sqlite_cases, args.repeats = 20_000, 5_000, 2
    results: dict[str, tuple[int, dict[str, float]]] = {}
    postgres = postgres_database(args.url, args.no_postgres, "opsflow_bench_reports")
    with tempfile.TemporaryDirectory() as tmp, postgres as pg_url:
        for name, url, count in (("sqlite", f"sqlite:///{Path(tmp) / 'reports.db'}", args.sqlite_cases),
                                 ("postgresql", pg_url, args.cases)):
            if url is None:
                continue
            schema.upgrade(url)
            database = Database(url)
            began = time.perf_counter()
            fill(database, count, args.years)
            print(f"{name}: {count} cases written in {time.perf_counter() - began:.0f} s", file=sys.stderr)
            times = measure(database, args.repeats)
            results[name] = (count, times)
            database.dispose()
            print(f"{name}: cases={count} month_cases={times['month_cases']:.0f} year_cases={times['year_cases']:.0f} "
                  f"month_ms={times['month_ms']:.1f} (baseline {times['month_baseline_ms']:.1f} ms, "
                  f"ratio {times['month_ms'] / times['month_baseline_ms']:.1f}) "
                  f"year_ms={times['year_ms']:.1f} (baseline {times['year_baseline_ms']:.1f} ms, "
                  f"ratio {times['year_ms'] / times['year_baseline_ms']:.1f}) pdf_ms={times['pdf_ms']:.0f}")
    count, times = results.get("postgresql") or results["sqlite"]
    print(f"RESULT cases={count} month_ms={times['month_ms']:.0f} year_ms={times['year_ms']:.0f} "
          f"pdf_ms={times['pdf_ms']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
