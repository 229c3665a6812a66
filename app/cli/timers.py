"""`flask opsflow scheduler`, `sla …`, `set-level`: timers and SLA from the shell."""
from __future__ import annotations

import gc
import signal
import threading
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from app import database
from app.cli.common import CommandLineError, _actor, _emit, _fail_cleanly
from engine.desk import sla
from engine.desk.levels import FaultLevel
from engine.process.scheduler import TimerScheduler


@click.command("scheduler")
@click.option("--name", help="Recorded on every timer this process fires (default host:pid).")
@click.option("--poll", default=1.0, show_default=True, help="Seconds between looks for timers made elsewhere.")
@with_appcontext
def scheduler_command(name: str | None, poll: float) -> None:
    """Run the timer scheduler in the foreground (production: one or more beside the app)."""
    # Freeze what start-up allocated, so full garbage collections (measured: 100-150 ms pauses,
    # the bench's p99 lateness) stop walking it.
    gc.collect()
    gc.freeze()
    scheduler = TimerScheduler(database(current_app), name=name, poll_seconds=poll)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    scheduler.start()
    click.echo(f"scheduler {scheduler.name} running; Ctrl-C to stop", err=True)
    stop.wait()
    scheduler.shutdown()


@click.group("sla")
def sla_group() -> None:
    """SLA policies and targets at risk."""


@sla_group.command("at-risk")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def at_risk_command(as_json: bool) -> None:
    """Targets about to be missed (past the warning point) and already missed, most urgent first."""
    with database(current_app).transaction() as session:
        rows = sla.at_risk(session)
    _emit(rows, as_json, _at_risk_text)


_PROCESS = "The process whose policy this is (default: service_desk, the defaults of a process without its own)."


@sla_group.command("policy")
@click.option("--process", "process_id", default=sla.DEFAULT_PROCESS, show_default=True, help=_PROCESS)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def policy_command(process_id: str, as_json: bool) -> None:
    """The SLA table: targets per fault level, in minutes."""
    with database(current_app).transaction() as session:
        rows = sla.list_policies(session, process_id)
    _emit(rows, as_json, _policy_text)


_DURATION = "Minutes, or seconds such as 90s for drills and tests."


@sla_group.command("set")
@click.argument("level", type=click.Choice([level.value for level in FaultLevel]))
@click.option("--respond-minutes", metavar="DURATION", help=_DURATION)
@click.option("--plan-minutes", metavar="DURATION", help=_DURATION)
@click.option("--resolve-minutes", metavar="DURATION", help=_DURATION)
@click.option("--warn-ratio", type=float, help="Warn at this share of the target (0–1, default 0.8).")
@click.option("--fault-report-minutes", metavar="DURATION", help=_DURATION)
@click.option("--emergency-plan-after-minutes", metavar="DURATION",
              help="Level I: the emergency plan (应急方案) starts this long after the request. " + _DURATION)
@click.option("--emergency-plan-due-minutes", metavar="DURATION",
              help="Level I: the emergency plan is due this long after the request. " + _DURATION)
@click.option("--no-emergency-plan", is_flag=True, help="Drop the level's emergency-plan rule.")
@click.option("--calendar", type=click.Choice(["7x24", "workdays"]),
              help="7x24, or Chinese working days (holidays and make-up days from chinesecalendar).")
@click.option("--work-start", metavar="HH:MM", help="Working hours start (workdays calendar).")
@click.option("--work-end", metavar="HH:MM", help="Working hours end (workdays calendar).")
@click.option("--process", "process_id", default=sla.DEFAULT_PROCESS, show_default=True, help=_PROCESS)
@click.option("--user", required=True, help="A process owner.")
@with_appcontext
@_fail_cleanly
def set_policy_command(level: str, user: str, no_emergency_plan: bool, process_id: str, **changes: Any) -> None:
    """Change a level's targets (new requests and re-graded ones use them)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if no_emergency_plan:
        if {"emergency_plan_after_minutes", "emergency_plan_due_minutes"} & set(changes):
            raise CommandLineError("--no-emergency-plan cannot be given with emergency-plan times")
        changes.update(emergency_plan_after_minutes=None, emergency_plan_due_minutes=None)
    if not changes:
        raise CommandLineError("give at least one setting to change")
    with database(current_app).transaction() as session:
        sla.set_policy(session, level, actor=_actor(session, user), process_id=process_id, **changes)
    click.echo(f"{process_id} level {level} updated: " + ", ".join(f"{k}={v}" for k, v in sorted(changes.items())))


@click.command("set-level")
@click.argument("instance_id", type=int)
@click.argument("level", type=click.Choice([level.value for level in FaultLevel]))
@click.option("--user", required=True)
@click.option("--reason")
@with_appcontext
@_fail_cleanly
def set_level_command(instance_id: int, level: str, user: str, reason: str | None) -> None:
    """Re-grade a running request: new deadlines, timers re-armed."""
    with database(current_app).transaction() as session:
        sla.change_fault_level(session, instance_id=instance_id, level=level, actor=_actor(session, user),
                               reason=reason)
    click.echo(f"instance {instance_id} is now level {level}; deadlines and timers updated")


def _at_risk_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no SLA target at risk"
    lines = [f"{'STATE':<8} {'DUE (UTC)':<20} {'TASK':>6} {'INSTANCE':>8} {'LEVEL':<5} {'GROUP':<16} NAME"]
    for r in rows:
        when = f"late {r['late_minutes']} min" if r["state"] == "missed" else f"{r['minutes_left']} min left"
        lines.append(f"{r['state']:<8} {r['due_at'][:19]:<20} {r['task_id']:>6} {r['instance_id']:>8} "
                     f"{r['fault_level'] or '-':<5} {r['group'] or '-':<16} {r['name']} ({when})")
    return "\n".join(lines)


def _policy_text(rows: list[dict[str, Any]]) -> str:
    def duration(seconds: int | None) -> str:
        return "-" if seconds is None else sla.duration_text(seconds)

    lines = ["LEVEL  RESPOND  PLAN     RESOLVE  WARN  FAULT-REPORT  EMERGENCY-PLAN  (minutes; 90s = seconds)"]
    for r in rows:
        emergency = (f"{duration(r['emergency_plan_after_seconds'])}-{duration(r['emergency_plan_due_seconds'])}"
                     if r["emergency_plan_after_seconds"] is not None else "-")
        lines.append(f"{r['fault_level']:<6} {duration(r['respond_seconds']):<8} {duration(r['plan_seconds']):<8} "
                     f"{duration(r['resolve_seconds']):<8} {r['warn_ratio']:<5} "
                     f"{duration(r['fault_report_seconds']):<13} {emergency}")
    return "\n".join(lines)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--scheduler/--no-scheduler", default=True, show_default=True,
              help="Run the timer scheduler inside this process (the embedded set-up).")
@with_appcontext
def serve_command(host: str, port: int, scheduler: bool) -> None:
    """Serve the web app (threaded development server) with the embedded timer scheduler."""
    from werkzeug.serving import run_simple

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    embedded = TimerScheduler(database(app), name=f"embedded:{port}") if scheduler else None
    if embedded:
        embedded.start()
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if embedded:
            embedded.shutdown(wait=False)


@click.command("health-check-schedule")
@click.argument("contract", required=False)
@click.option("--organisation", help="Customer organisation (required when creating).")
@click.option("--cycle", default="P1M", show_default=True, help="ISO 8601 duration between checks (P3M quarterly).")
@click.option("--first", "first_at", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
              help="When the first check starts (UTC); default one cycle from now.")
@click.option("--inactive", is_flag=True, help="Pause the schedule.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def health_check_schedule_command(contract: str | None, organisation: str | None, cycle: str,
                                  first_at: Any, inactive: bool, as_json: bool) -> None:
    """List contracts' health-check cycles, or set one: the scheduler starts 健康检查 when due."""
    import datetime as dt

    from engine.desk import schedules
    with database(current_app).transaction() as session:
        if contract:
            if not organisation:
                raise CommandLineError("--organisation is required to set a schedule")
            first = first_at.replace(tzinfo=dt.UTC) if first_at else None
            schedules.set_schedule(session, contract=contract, organisation=organisation, cycle=cycle,
                                   first_at=first, active=not inactive)
        rows = schedules.list_schedules(session)
    _emit(rows, as_json, lambda rs: "\n".join(f"{r['contract']:<24} {r['organisation']:<24} {r['cycle']:<6} "
                                               f"next {r['next_due_at'][:16]} {'active' if r['active'] else 'paused'}"
                                               for r in rs) or "no health-check schedules")
