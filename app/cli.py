"""`flask opsflow …`: drive opsflow from the shell. Each command is one unit of work.

Errors print one line on stderr and exit 1 (2 for bad command-line input). `--json` output is
documented in docs/cli-json.md and kept stable: other tools parse it.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from app import database
from engine import bootstrap, users
from engine.desk import tasks
from engine.errors import OpsflowError
from engine.process import definitions, runtime
from engine.store import schema


def _fail_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except OpsflowError as error:
            click.echo(f"error: {error}", err=True)
            problems = error.details.get("problems") or []
            for problem in problems[1:]:
                click.echo(f"error: {problem['filename'] or '-'}:{problem['element_id'] or '-'}: "
                           f"{problem['message']}", err=True)
            sys.exit(1)
    return wrapper


def _json_argument(value: str | None) -> dict[str, Any]:
    """--data: a JSON object, or @path to a file holding one."""
    if value is None:
        return {}
    if value.startswith("@"):
        try:
            value = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {value[1:]}: {exc.strerror}") from None
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict):
        raise click.BadParameter("must be a JSON object ({...})")
    return data


def _emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) if as_json else text(data))


def _db():  # type: ignore[no-untyped-def]
    return database(current_app)


@click.group("opsflow")
def opsflow() -> None:
    """opsflow: IT-operations processes on BPMN."""


@opsflow.command("migrate")
@with_appcontext
@_fail_cleanly
def migrate_command() -> None:
    """Create or upgrade the database schema."""
    schema.upgrade(current_app.config["DATABASE_URL"])
    click.echo("database is at the newest schema")


@opsflow.command("setup")
@click.option("--demo/--no-demo", default=True, help="Create one demo user per group.")
@with_appcontext
@_fail_cleanly
def setup_command(demo: bool) -> None:
    """Migrate, create the groups, deploy the bundled diagrams and (by default) the demo users."""
    schema.upgrade(current_app.config["DATABASE_URL"])
    with _db().transaction() as session:
        users.ensure_groups(session)
        results = bootstrap.deploy_directory(session, current_app.config["BPMN_DIR"], user="setup")
        created = bootstrap.create_demo_users(session) if demo else []
    for result in results:
        state = "deployed" if result.created else "unchanged"
        click.echo(f"{result.process_id} v{result.version} {state}")
    if created:
        click.echo(f"demo users (password {bootstrap.DEMO_PASSWORD}): {', '.join(created)}")


@opsflow.command("deploy")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--process", "process_id", help="Executable process to deploy when the first file has several.")
@click.option("--comment", help="Why this version exists.")
@click.option("--user", default="cli", show_default=True, help="Recorded as the deployer.")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def deploy_command(paths: tuple[Path, ...], process_id: str | None, comment: str | None, user: str,
                   as_json: bool) -> None:
    """Deploy a BPMN file (plus files of called processes) as the next version."""
    sources = [definitions.SourceFile(p.name, p.read_bytes()) for p in paths]
    with _db().transaction() as session:
        result = definitions.deploy(session, sources, user=user, comment=comment, process_id=process_id)
    _emit({"definition_id": result.definition_id, "process_id": result.process_id, "version": result.version},
          as_json, lambda d: f"deployed {d['process_id']} version {d['version']}")


def _actor(session: Any, username: str) -> users.Actor:
    return users.actor(session, username)


@opsflow.command("start")
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


@opsflow.command("tasks")
@click.option("--group", help="Tasks open to this group.")
@click.option("--user", help="Tasks assigned to this user (with --mine: also those open to the user's groups).")
@click.option("--mine", is_flag=True, help="With --user: the user's whole inbox.")
@click.option("--state", default="ready", show_default=True, type=click.Choice(["ready", "completed", "cancelled"]))
@click.option("--process", "process_id", help="Only this process.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def tasks_command(group: str | None, user: str | None, mine: bool, state: str, process_id: str | None,
                  limit: int, as_json: bool) -> None:
    """List tasks."""
    with _db().transaction() as session:
        groups = _actor(session, user).groups if (mine and user) else None
        rows = tasks.list_tasks(session, group=group, user=user, groups=groups, state=state,
                                process_id=process_id, limit=limit)
    _emit(rows, as_json, _tasks_text)


@opsflow.command("claim")
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


@opsflow.command("release")
@click.argument("task_id", type=int)
@click.option("--user", required=True)
@with_appcontext
@_fail_cleanly
def release_command(task_id: int, user: str) -> None:
    """Give a claimed task back to its group."""
    with _db().transaction() as session:
        record = runtime.release_task(session, task_id=task_id, actor=_actor(session, user))
    click.echo(f"task {record.id} ({record.name}) released to {record.candidate_group}")


@opsflow.command("assign")
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


@opsflow.command("complete")
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


@opsflow.command("show")
@click.argument("instance_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def show_command(instance_id: int, as_json: bool) -> None:
    """An instance: state, open tasks and full history."""
    with _db().transaction() as session:
        view = tasks.instance_view(session, instance_id)
    _emit(view, as_json, lambda v: _instance_text(v, full=True))


@opsflow.command("create-user")
@click.argument("username")
@click.option("--group", "groups", multiple=True, required=True, type=click.Choice(sorted(users.GROUPS)))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name")
@with_appcontext
@_fail_cleanly
def create_user_command(username: str, groups: tuple[str, ...], password: str, display_name: str | None) -> None:
    """Create a user in one or more groups."""
    with _db().transaction() as session:
        users.ensure_groups(session)
        users.create_user(session, username=username, password=password, groups=list(groups),
                          display_name=display_name)
    click.echo(f"user {username} created in {', '.join(groups)}")


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
