"""`flask opsflow report-schedule`, `report-new`: plan service reports from the shell (seed 002)."""
from __future__ import annotations

import datetime as dt
from typing import Any

import click
from flask.cli import with_appcontext

from app.cli.common import _actor, _db, _emit, _fail_cleanly
from engine.desk import service_reports
from engine.desk.service_reports import ZONE

_DATE = click.DateTime(formats=["%Y-%m-%d"])  # a local calendar day (OPSFLOW_TIMEZONE)


def _schedule_row(schedule: Any) -> dict[str, Any]:
    return {"id": schedule.id, "report_class": schedule.report_class, "cycle": schedule.cycle,
            "contract": schedule.contract or None, "customer": schedule.customer, "due_days": schedule.due_days,
            "next_period_start": schedule.next_period_start.isoformat(), "active": schedule.is_active}


@click.command("report-schedule")
@click.argument("report_class", required=False, type=click.Choice(service_reports.SCHEDULED_CLASSES))
@click.option("--cycle", type=click.Choice(list(service_reports.CYCLES)), default="monthly", show_default=True)
@click.option("--contract", help="One contract's reports (default: one report for all).")
@click.option("--customer", help="The customer named in the report.")
@click.option("--first", "first", type=_DATE, help="A day in the first period to report (default: the current one).")
@click.option("--due-days", type=int, default=service_reports.DEFAULT_DUE_DAYS, show_default=True,
              help="Days after its period the report is due.")
@click.option("--inactive", is_flag=True, help="Pause the schedule.")
@click.option("--user", default="project_manager", show_default=True, help="Who plans it.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def report_schedule_command(report_class: str | None, cycle: str, contract: str | None, customer: str | None,
                            first: dt.datetime | None, due_days: int, inactive: bool, user: str,
                            as_json: bool) -> None:
    """List the periodic service reports, or set one: the scheduler makes each period's report once it ends."""
    with _db().transaction() as session:
        if report_class:
            service_reports.set_schedule(session, report_class=report_class, cycle=cycle, contract=contract,
                                         customer=customer, due_days=due_days, active=not inactive,
                                         first_period_start=first.replace(tzinfo=ZONE) if first else None,
                                         actor=_actor(session, user))
        rows = [_schedule_row(s) for s in service_reports.list_schedules(session)]
    _emit(rows, as_json, lambda rs: "\n".join(
        f"{r['id']:>3} {r['report_class']:<11} {r['cycle']:<9} {r['contract'] or '(all)':<20} "
        f"next {dt.datetime.fromisoformat(r['next_period_start']).astimezone(ZONE):%Y-%m-%d} "
        f"{'active' if r['active'] else 'paused'}" for r in rs)
        or "no report schedules")


@click.command("report-new")
@click.argument("report_class", type=click.Choice(service_reports.CLASSES))
@click.option("--from", "start", type=_DATE, required=True, help="First day of the period.")
@click.option("--to", "end", type=_DATE, required=True, help="Day after the period (exclusive).")
@click.option("--contract")
@click.option("--customer")
@click.option("--user", default="project_manager", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def report_new_command(report_class: str, start: dt.datetime, end: dt.datetime, contract: str | None,
                       customer: str | None, user: str, as_json: bool) -> None:
    """Make a report by hand (e.g. 重大事件保障报告): figures now, the project manager's commentary next."""
    with _db().transaction() as session:
        report = service_reports.create_report(session, report_class=report_class, contract=contract,
                                               customer=customer, period_start=start.replace(tzinfo=ZONE),
                                               period_end=end.replace(tzinfo=ZONE), actor=_actor(session, user))
        made = {"report_id": report.id, "instance_id": report.instance_id, "title": report.title}
    _emit(made, as_json, lambda m: f"report {m['report_id']} ({m['title']}), instance {m['instance_id']}")
