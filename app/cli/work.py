"""`flask opsflow start | tasks | claim | release | assign | complete | show`: instances and their tasks.

Each command is one unit of work.
"""
from __future__ import annotations

from typing import Any

import click
from flask.cli import with_appcontext

from app.cli.common import CommandLineError, _actor, _db, _emit, _fail_cleanly, _json_argument
from engine import users
from engine.desk import tasks
from engine.process import runtime
from engine.status import TaskState


@click.command("start")
@click.argument("process_id")
@click.option("--data", help="Start-form data: a JSON object or @file.json.")
@click.option("--user", envvar="OPSFLOW_USER", default="requester", show_default=True,
              help="Who starts it (env OPSFLOW_USER).")
@click.option("--version", type=int, help="Start this version instead of the newest.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def start_command(process_id: str, data: str | None, user: str, version: int | None, as_json: bool) -> None:
    """Start an instance of a process."""
    payload = _json_argument(data)
    with _db().transaction() as session:
        instance = runtime.start_instance(session, process_id=process_id, data=payload,
                                          actor=_actor(session, user), version=version)
        view = tasks.instance_view(session, instance.id)
    _emit(view, as_json, _instance_text)


@click.command("tasks")
@click.option("--group", help="Tasks open to this group.")
@click.option("--user", help="Tasks assigned to this user (with --mine: also those open to the user's groups).")
@click.option("--mine", is_flag=True, help="With --user: the user's whole inbox.")
@click.option("--state", default="ready", show_default=True, type=click.Choice([state.value for state in TaskState]))
@click.option("--process", "process_id", help="Only this process.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def tasks_command(group: str | None, user: str | None, mine: bool, state: str, process_id: str | None,
                  limit: int, as_json: bool) -> None:
    """List tasks."""
    if group is not None and group not in users.GROUPS:
        raise CommandLineError(f"--group: no group {group!r} (groups: {', '.join(sorted(users.GROUPS))})")
    with _db().transaction() as session:
        who = _actor(session, user) if user else None  # NotFound names a user who does not exist
        groups = who.groups if (mine and who) else None
        rows = tasks.list_tasks(session, group=group, user=user, groups=groups, state=state,
                                process_id=process_id, limit=limit)
    _emit(rows, as_json, _tasks_text)


@click.command("claim")
@click.argument("task_id", type=int)
@click.option("--user", required=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def claim_command(task_id: int, user: str, as_json: bool) -> None:
    """Claim a group task."""
    with _db().transaction() as session:
        record = runtime.claim_task(session, task_id=task_id, actor=_actor(session, user))
        row = tasks.task_to_dict(record)
    _emit(row, as_json, lambda r: f"task {r['id']} ({r['name']}) claimed by {r['assignee']}")


@click.command("release")
@click.argument("task_id", type=int)
@click.option("--user", required=True)
@with_appcontext
@_fail_cleanly
def release_command(task_id: int, user: str) -> None:
    """Give a claimed task back to its group."""
    with _db().transaction() as session:
        record = runtime.release_task(session, task_id=task_id, actor=_actor(session, user))
    click.echo(f"task {record.id} ({record.name}) released to {record.candidate_group}")


@click.command("assign")
@click.argument("task_id", type=int)
@click.option("--to", "assignee", required=True)
@click.option("--user", required=True, help="The manager assigning it.")
@with_appcontext
@_fail_cleanly
def assign_command(task_id: int, assignee: str, user: str) -> None:
    """(Managers) assign a task to a member of its group."""
    with _db().transaction() as session:
        record = runtime.assign_task(session, task_id=task_id, assignee=_actor(session, assignee),
                                     actor=_actor(session, user))
    click.echo(f"task {record.id} ({record.name}) assigned to {record.assignee}")


@click.command("complete")
@click.argument("task_id", type=int)
@click.option("--data", help="Form data: a JSON object or @file.json.")
@click.option("--user", required=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def complete_command(task_id: int, data: str | None, user: str, as_json: bool) -> None:
    """Complete a task with form data; the process runs on until it waits."""
    payload = _json_argument(data)
    with _db().transaction() as session:
        instance = runtime.complete_task(session, task_id=task_id, data=payload, actor=_actor(session, user))
        view = tasks.instance_view(session, instance.id)
    _emit(view, as_json, _instance_text)


@click.command("show")
@click.argument("instance_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def show_command(instance_id: int, as_json: bool) -> None:
    """An instance: state, open tasks and full history."""
    with _db().transaction() as session:
        view = tasks.instance_view(session, instance_id)
    _emit(view, as_json, lambda v: _instance_text(v, full=True))


def _tasks_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no tasks"
    lines = [f"{'ID':>6}  {'INSTANCE':>8}  {'PROCESS':<20} {'TASK':<24} {'GROUP':<16} ASSIGNEE"]
    for r in rows:
        lines.append(f"{r['id']:>6}  {r['instance_id']:>8}  {r['process_id'] or '':<20} {r['name']:<24} "
                     f"{r['group'] or '-':<16} {r['assignee'] or '-'}")
    return "\n".join(lines)


def _instance_text(view: dict[str, Any], full: bool = False) -> str:
    lines = [f"instance {view['id']}  {view['process_id']} v{view['version']}  {view['status']}"
             + (f"  level {view['fault_level']}" if view['fault_level'] else "")
             + (f"  «{view['title']}»" if view['title'] else "")]
    if view["open_tasks"]:
        lines.append("open tasks:")
        lines += [f"  {t['id']:>6}  {t['name']}  [{t['group'] or '-'}]  {t['assignee'] or ''}".rstrip()
                  for t in view["open_tasks"]]
    if full:
        lines.append("history:")
        for e in view["history"]:
            what = e["payload"].get("name") or e["element_id"] or ""
            extra = f" -> {', '.join(e['payload']['taken'])}" if e["kind"] == "gateway_taken" else ""
            lines.append(f"  {e['seq']:>4}  {e['at'][:19]}  {e['kind']:<16} {what}{extra}  ({e['actor'] or '-'})")
    return "\n".join(lines)
