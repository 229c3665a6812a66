"""The service-report procedure (seed 002 服务报告管理程序), around the `service_report` process.

A report is a `service_report` row with its generated figures, worked on by one `service_report` instance:
the project manager writes the commentary, 研发中心和工程部 review it (approve, send back with a reason,
or pass a special case to their manager), the 服务台 archives it under its class and attributes, and its
PDF goes into the immutable archive (engine.desk.report_archive). Periodic reports start from
`report_schedule` rows, like health checks (engine.desk.schedules): the job advances a row in the same
transaction as the start, and a unique key (schedule, period) backs it, so a period's report is made once
however many schedulers run. Each quarter, archived reports are drawn at random for customer callbacks.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine import access, clock
from engine.desk import report_archive, report_figures, report_pdf
from engine.desk.report_figures import ZONE
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.process import hooks, runtime
from engine.store.report_models import ReportCallback, ReportCallbackRound, ReportSchedule, ServiceReport
from engine.users import Actor
from forms.catalogue.service_report import REPORT_CLASS_CHOICES

PROCESS_ID = "service_report"
CALLBACK_PROCESS_ID = "report_callback"
SCHEDULER = Actor("scheduler", frozenset({"system"}))
# Seed 002 6.1: the report classes (names in the report_start form), and which of them run on a schedule
# (the others, 重大事件保障 and 运维到期总结, are made by hand).
CLASSES = tuple(choice.value for choice in REPORT_CLASS_CHOICES)
SCHEDULED_CLASSES = ("regular", "inspection", "resident")
CYCLES = {"monthly": 1, "quarterly": 3, "annual": 12}  # months
STATUSES = ("drafting", "in_review", "special_review", "approved", "archived")
ATTRIBUTES = ("device_type", "customer_type", "business_line")
DEFAULT_DUE_DAYS = 10
# Periods a schedule catches up in one run (after downtime); the next run goes on from there.
CATCH_UP = 12
# Seed 002 7.2.6: the share of a quarter's archived reports called back (at least one, at most CALLBACK_MAX).
CALLBACK_SHARE = 0.2
CALLBACK_MAX = 20


# --- periods ---------------------------------------------------------------------------------------

def _month_start(at: dt.datetime, month: int) -> dt.datetime:
    """Local midnight of the first of a month counted from January of `at`'s local year (0 = that January)."""
    local = at.astimezone(ZONE)
    return local.replace(year=local.year + month // 12, month=month % 12 + 1, day=1, hour=0, minute=0, second=0,
                         microsecond=0).astimezone(dt.UTC)


def add_months(at: dt.datetime, months: int) -> dt.datetime:
    """The start of the local calendar month `months` after the one `at` lies in."""
    return _month_start(at, at.astimezone(ZONE).month - 1 + months)


def period_start_of(at: dt.datetime, cycle: str) -> dt.datetime:
    """The start of the local calendar month, quarter or year `at` lies in (as a UTC instant)."""
    months = _months(cycle)
    return _month_start(at, (at.astimezone(ZONE).month - 1) // months * months)


def _months(cycle: str) -> int:
    if cycle not in CYCLES:
        raise InvalidInput(f"report cycle must be one of {', '.join(CYCLES)}, got {cycle!r}",
                           field_errors={"cycle": list(CYCLES)})
    return CYCLES[cycle]


def quarter_of(at: dt.datetime) -> str:
    local = at.astimezone(ZONE)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def title_of(report_class: str, period_start: dt.datetime, cycle: str | None, customer: str | None) -> str:
    name = report_pdf.CLASS_NAMES[report_class]
    period_start = period_start.astimezone(ZONE)
    if cycle == "annual":
        period = f"{period_start.year} 年"
    elif cycle == "quarterly":
        period = f"{period_start.year} 年第 {(period_start.month - 1) // 3 + 1} 季度"
    else:
        period = f"{period_start.year} 年 {period_start.month} 月"
    kind = f"{name}（{report_pdf.CYCLE_NAMES[cycle]}）" if cycle and report_class == "regular" else name
    return " ".join(part for part in (customer, period, kind) if part)[:200]


# --- schedules and generation ----------------------------------------------------------------------

def set_schedule(session: Session, *, report_class: str, cycle: str, actor: Actor, contract: str | None = None,
                 customer: str | None = None, first_period_start: dt.datetime | None = None,
                 due_days: int = DEFAULT_DUE_DAYS, active: bool = True, **attributes: str | None) -> ReportSchedule:
    """Create or change a periodic report (per contract when one is named); the first period defaults to the
    current one, so its report is made once it ends."""
    access.require_plan_reports(actor, "schedule service reports")
    if report_class not in SCHEDULED_CLASSES:
        raise InvalidInput(f"{report_class!r} reports are not periodic; periodic ones: {', '.join(SCHEDULED_CLASSES)}",
                           field_errors={"report_class": list(SCHEDULED_CLASSES)})
    _months(cycle)
    if not 0 <= due_days <= 90:
        raise InvalidInput("a report is due 0 to 90 days after its period", field_errors={"due_days": ["0..90"]})
    unknown = set(attributes) - set(ATTRIBUTES)
    if unknown:
        raise InvalidInput(f"unknown report attributes: {', '.join(sorted(unknown))}")
    key = (contract or "").strip()
    row = session.scalars(select(ReportSchedule).where(ReportSchedule.report_class == report_class,
                                                       ReportSchedule.cycle == cycle,
                                                       ReportSchedule.contract == key)).one_or_none()
    if row is None:
        row = ReportSchedule(report_class=report_class, cycle=cycle, contract=key, created_by=actor.username,
                             next_period_start=period_start_of(first_period_start or clock.now(), cycle))
        session.add(row)
    elif first_period_start is not None:
        row.next_period_start = period_start_of(first_period_start, cycle)
    row.customer, row.due_days, row.is_active = customer, due_days, active
    for name in ATTRIBUTES:
        setattr(row, name, attributes.get(name))
    session.flush()
    return row


def list_schedules(session: Session) -> list[ReportSchedule]:
    return list(session.scalars(select(ReportSchedule).order_by(ReportSchedule.next_period_start, ReportSchedule.id)))


def create_report(session: Session, *, report_class: str, period_start: dt.datetime, period_end: dt.datetime,
                  actor: Actor, contract: str | None = None, customer: str | None = None, cycle: str | None = None,
                  due_at: dt.datetime | None = None, schedule_id: int | None = None,
                  **attributes: str | None) -> ServiceReport:
    """A report with its figures generated now, and its `service_report` instance started."""
    if actor is not SCHEDULER:  # the schedule job's own actor: the schedule was planned by someone allowed to
        access.require_plan_reports(actor, "start a service report")
    if report_class not in CLASSES:
        raise InvalidInput(f"unknown report class {report_class!r}", field_errors={"report_class": list(CLASSES)})
    if period_end <= period_start:
        raise InvalidInput("a report's period must end after it starts", field_errors={"period_end": ["after start"]})
    values = {name: attributes.get(name) or None for name in ATTRIBUTES}
    filters = {**values, "contract": contract, "customer": customer}
    report = ServiceReport(report_class=report_class, cycle=cycle, contract=contract, customer=customer,
                           title=title_of(report_class, period_start, cycle, customer), period_start=period_start,
                           period_end=period_end, schedule_id=schedule_id, status="drafting",
                           due_at=due_at or period_end + dt.timedelta(days=DEFAULT_DUE_DAYS),
                           figures=report_figures.figures(session, period_start, period_end, filters), **values)
    session.add(report)
    session.flush()
    runtime.start_instance(session, process_id=PROCESS_ID, actor=actor,
                           data={"report_id": report.id, "title": report.title, "report_class": report_class,
                                 "due_at": report.due_at.isoformat()})
    return report


def generate_due(session: Session) -> list[int]:
    """Make the report of every scheduled period that has ended; returns the new report ids."""
    now = clock.now()
    query = (select(ReportSchedule).where(ReportSchedule.is_active.is_(True), ReportSchedule.next_period_start < now)
             .order_by(ReportSchedule.next_period_start, ReportSchedule.id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    made = []
    for schedule in session.scalars(query).all():
        for _ in range(CATCH_UP):
            start = schedule.next_period_start
            end = add_months(start, _months(schedule.cycle))
            if end > now:
                break
            # Advance first, conditionally: another scheduler that read the same row finds it moved on.
            moved = session.connection().execute(
                update(ReportSchedule).values(next_period_start=end)
                .where(ReportSchedule.id == schedule.id, ReportSchedule.next_period_start == start))
            if moved.rowcount != 1:
                break
            set_committed_value(schedule, "next_period_start", end)  # as written: no second UPDATE at flush
            report = create_report(session, report_class=schedule.report_class, period_start=start, period_end=end,
                                   actor=SCHEDULER, contract=schedule.contract or None, customer=schedule.customer,
                                   cycle=schedule.cycle, due_at=end + dt.timedelta(days=schedule.due_days),
                                   schedule_id=schedule.id,
                                   **{name: getattr(schedule, name) for name in ATTRIBUTES})
            made.append(report.id)
    return made


def get_report(session: Session, report_id: int, *, for_update: bool = False) -> ServiceReport:
    query = select(ServiceReport).where(ServiceReport.id == report_id)
    report = session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if report is None:
        raise NotFound(f"service report {report_id} does not exist")
    return report


def report_of_instance(session: Session, instance_id: int) -> ServiceReport | None:
    return session.scalars(select(ServiceReport).where(ServiceReport.instance_id == instance_id)).one_or_none()


# --- the steps of the procedure (hook receivers, connected by engine.desk.install) -------------------

def on_started(start: hooks.Start) -> None:
    """instance_started: a report instance binds to its report row (and a callback to its callback row);
    one started by hand for a report that has no row, or has an instance already, is refused."""
    process_id, data = start.instance.process_id, start.data
    if process_id == PROCESS_ID:
        report = get_report(start.session, data["report_id"], for_update=True)
        if report.instance_id is not None:
            raise Conflict(f"service report {report.id} is already worked on by instance {report.instance_id}")
        report.instance_id = start.instance.id
    elif process_id == CALLBACK_PROCESS_ID:
        callback = start.session.scalars(select(ReportCallback).where(
            ReportCallback.report_id == data["report_id"], ReportCallback.quarter == data["quarter"],
            ReportCallback.instance_id.is_(None))).one_or_none()
        if callback is None:
            raise NotFound(f"report {data['report_id']} was not drawn for a callback in {data['quarter']}")
        callback.instance_id = start.instance.id
    else:
        return
    start.session.flush()


def task_due(due: hooks.Due) -> dt.datetime | None:
    """task_due: every step of a report is due when the report is (seed 002: on time is a review criterion)."""
    if due.form_key not in STEP_FORMS or not isinstance(value := due.task.data.get("due_at"), str):
        return None
    at = dt.datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def on_task_completing(completion: hooks.Completion) -> dict[str, Any]:
    """task_completing: each step of a report changes its row in the completion's transaction."""
    instance, session, data, actor = completion.instance, completion.session, completion.data, completion.actor
    if instance.process_id == CALLBACK_PROCESS_ID:
        _record_callback(session, instance.id, data)
        return {}
    if instance.process_id != PROCESS_ID:
        return {}
    report = session.scalars(select(ServiceReport).where(ServiceReport.instance_id == instance.id)
                             .with_for_update()).one_or_none()
    if report is None:
        raise Conflict(f"instance {instance.id} belongs to no service report")
    step = STEP_FORMS.get(completion.form_key or "")
    if step is not None:
        step(session, report, data, actor)
        session.flush()
    return {}


def _write_commentary(session: Session, report: ServiceReport, data: dict[str, Any], actor: Actor) -> None:
    now = clock.now()
    late_reason = (data.get("late_reason") or "").strip()
    if now > report.due_at and not late_reason:
        raise InvalidInput(f"report {report.id} was due {report.due_at:%Y-%m-%d %H:%M} UTC: say why it is late",
                           field_errors={"late_reason": ["required: the report is past its due time"]})
    report.commentary, report.commentary_by = data["commentary"], actor.username
    report.late_reason = late_reason or report.late_reason
    report.submitted_at, report.status = now, "in_review"


def _review(session: Session, report: ServiceReport, data: dict[str, Any], actor: Actor) -> None:
    decision, comment = data["decision"], (data.get("comment") or "").strip()
    if decision != "approve" and not comment:
        raise InvalidInput("say what to change, or why it is a special case",
                           field_errors={"comment": ["required unless approving"]})
    if report.commentary_by == actor.username:
        raise Forbidden(f"{actor.username} wrote the commentary of report {report.id} and may not review it")
    report.reviewer, report.review_outcome, report.review_comment = actor.username, decision, comment or None
    report.status = {"approve": "approved", "special": "special_review"}.get(decision, "drafting")


def _archive(session: Session, report: ServiceReport, data: dict[str, Any], actor: Actor) -> None:
    for name in ATTRIBUTES:
        if data.get(name):
            setattr(report, name, data[name])
    report.archived_at, report.archived_by, report.status = clock.now(), actor.username, "archived"
    session.flush()
    report_archive.store(session, report, actor)


def _record_callback(session: Session, instance_id: int, data: dict[str, Any]) -> None:
    callback = session.scalars(select(ReportCallback).where(ReportCallback.instance_id == instance_id)).one()
    callback.reached, callback.score, callback.note = data["reached"], data.get("score"), data.get("note")
    callback.done_at = clock.now()


# What each step's form does to the report, in the completion's transaction.
STEP_FORMS = {"report_commentary": _write_commentary, "report_review": _review, "report_manager_review": _review,
              "report_archive": _archive}


# --- the 质量管理员's view: late and incomplete reports ---------------------------------------------------

def problems(report: ServiceReport, now: dt.datetime, *, has_document: bool) -> list[str]:
    """What is wrong with a report: late (open past its due time, or handed in after it), or parts missing."""
    found = []
    if report.status != "archived" and now > report.due_at:
        found.append("overdue")
    elif report.submitted_at is not None and report.submitted_at > report.due_at:
        found.append("submitted_late")
    if not report.figures:
        found.append("missing_figures")
    if report.status != "drafting" and not (report.commentary or "").strip():
        found.append("missing_commentary")
    if report.status == "archived":
        if not has_document:
            found.append("missing_pdf")
        found += [f"missing_{name}" for name in ATTRIBUTES if not getattr(report, name)]
    return found


def late_and_incomplete(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """Every report that is late or lacks a part, most overdue first (seed 002: 质量管理员 tracks them)."""
    access.require_track_reports(actor)
    now = clock.now()
    documented = set(report_archive.reports_with_documents(session))
    rows = []
    for report in session.scalars(select(ServiceReport).order_by(ServiceReport.due_at, ServiceReport.id)):
        found = problems(report, now, has_document=report.id in documented)
        if found:
            rows.append({"report": report, "problems": found,
                         "days_late": max(0, ((report.archived_at or now) - report.due_at).days)})
    return rows


# --- quarterly customer callbacks ----------------------------------------------------------------------

def draw_callbacks(session: Session, *, rng: random.Random | None = None) -> list[int]:
    """Once the quarter is over, draw its archived reports at random for customer callbacks (once per quarter,
    whatever runs it how often); returns the new callback instance ids."""
    now = clock.now()
    this_quarter = period_start_of(now, "quarterly")
    start = add_months(this_quarter, -3)
    quarter = quarter_of(start)
    if session.get(ReportCallbackRound, quarter) is not None:
        return []
    archived = list(session.scalars(select(ServiceReport.id).where(ServiceReport.archived_at >= start,
                                                                   ServiceReport.archived_at < this_quarter)
                                    .order_by(ServiceReport.id)))
    chosen = (rng or random.SystemRandom()).sample(archived, min(len(archived), CALLBACK_MAX,
                                                                 math.ceil(len(archived) * CALLBACK_SHARE)))
    try:
        with session.begin_nested():  # the round's key decides who draws: a racing scheduler finds it taken
            session.add(ReportCallbackRound(quarter=quarter, sampled=len(chosen), drawn_at=now))
    except IntegrityError:
        return []
    started = []
    for report_id in sorted(chosen):
        session.add(ReportCallback(quarter=quarter, report_id=report_id))
        session.flush()
        started.append(runtime.start_instance(session, process_id=CALLBACK_PROCESS_ID, actor=SCHEDULER,
                                              data={"report_id": report_id, "quarter": quarter}).id)
    return started


def callbacks(session: Session, *, actor: Actor, report_id: int | None = None) -> list[ReportCallback]:
    access.require_read_reports(actor)
    query = select(ReportCallback).order_by(ReportCallback.quarter.desc(), ReportCallback.id)
    if report_id is not None:
        query = query.where(ReportCallback.report_id == report_id)
    return list(session.scalars(query))


def status_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(ServiceReport.status, func.count()).group_by(ServiceReport.status))
                .tuples().all())


def _jobs(session: Session) -> None:
    generate_due(session)
    draw_callbacks(session)


# Every five minutes, in a transaction of its own (engine.process.scheduler runs the registered jobs).
JOB = hooks.Job("service_reports", 300, _jobs)
