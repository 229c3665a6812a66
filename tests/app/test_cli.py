"""The `flask opsflow` CLI: one service-desk request end to end, --json output, clean errors."""
from __future__ import annotations

import getpass
import json
import time
from pathlib import Path

import pytest
from flask import Flask

import config
from app import database
from engine import users
from engine.desk import user_admin
from tests.support.cli import cli_app, run, run_json
from tests.support.flows import REQUEST, allow_closing
from tests.support.locks import write_locked


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return cli_app(tmp_path)


def only_task(app: Flask, instance_id: int, element_id: str) -> int:
    view = run_json(app, "show", str(instance_id))
    assert [t["element_id"] for t in view["open_tasks"]] == [element_id]
    return view["open_tasks"][0]["id"]


def test_setup_creates_the_database_directory_as_on_a_fresh_checkout(tmp_path: Path) -> None:
    """The README's first command: instance/ is not in the repository, setup must make it."""
    fresh = cli_app(tmp_path / "instance" / "not-yet")
    setup = run(fresh, "setup")
    assert setup.exit_code == 0, setup.stderr
    assert (tmp_path / "instance" / "not-yet" / "cli.db").is_file()


def test_service_desk_request_through_the_cli(app: Flask) -> None:
    setup = run(app, "setup")
    assert setup.exit_code == 0, setup.stderr
    assert "service_desk v1 deployed" in setup.stdout and "opsflow-demo" in setup.stdout
    assert "service_desk v1 unchanged" in run(app, "setup").stdout

    started = run_json(app, "start", "service_desk", "--data", json.dumps(REQUEST), "--user", "requester")
    instance_id = started["id"]
    assert started["status"] == "running" and started["title"] == REQUEST["title"]

    inbox = run_json(app, "tasks", "--group", "service_desk")
    assert [(t["instance_id"], t["element_id"]) for t in inbox] == [(instance_id, "accept")]
    task_id = inbox[0]["id"]
    claimed = run_json(app, "claim", str(task_id), "--user", "service_desk")
    assert claimed["assignee"] == "service_desk"
    assert [t["id"] for t in run_json(app, "tasks", "--user", "service_desk")] == [task_id]

    steps = [
        ("accept", {"request_confirmed": True}, "service_desk"),
        ("classify", {"category": "fault", "fault_level": "II", "impact": "门诊"}, "service_desk"),
        ("remote_fix", {"resolved": True, "method": "remote", "actions": "重置账号"}, "engineer"),
        ("satisfaction", {"score": 5, "remaining_problem": False}, "requester"),
    ]
    allow_closing(database(app), instance_id)
    for element_id, data, user in steps:
        task_id = only_task(app, instance_id, element_id)
        done = run_json(app, "complete", str(task_id), "--data", json.dumps(data), "--user", user)
        assert done["id"] == instance_id

    view = run_json(app, "show", str(instance_id))
    assert view["status"] == "completed" and view["fault_level"] == "II" and view["open_tasks"] == []
    kinds = [e["kind"] for e in view["history"]]
    assert kinds[0] == "instance_started" and kinds[-1] == "instance_ended"
    assert [e["element_id"] for e in view["history"] if e["kind"] == "task_completed"] == [s[0] for s in steps]
    text = run(app, "show", str(instance_id))
    assert text.exit_code == 0 and "instance_ended" in text.stdout and "满意度回访" in text.stdout


@pytest.mark.parametrize("args, message", [
    (["start", "service_desk", "--data", "{not json"], "not valid JSON"),
    (["start", "service_desk", "--data", "[1]"], "must be a JSON object"),
    (["start", "no_such_process", "--data", "{}"], "'no_such_process' is not deployed"),
    (["start", "service_desk", "--data", '{"channel": "pigeon"}'], "channel"),
    (["complete", "999", "--data", "{}", "--user", "engineer"], "task 999 does not exist"),
    (["claim", "1", "--user", "nobody"], "no active user 'nobody'"),
    (["show", "42"], "instance 42 does not exist"),
])
def test_errors_are_one_clear_line_and_a_nonzero_exit(app: Flask, args: list[str], message: str) -> None:
    assert run(app, "setup").exit_code == 0
    result = run(app, *args)
    assert result.exit_code != 0
    assert message in (result.stderr + result.stdout)
    assert "Traceback" not in result.stderr + result.stdout


def test_deploy_refusal_names_the_element(app: Flask, tmp_path: Path) -> None:
    assert run(app, "setup").exit_code == 0
    source = (Path(config.ROOT) / "bpmn" / "service_desk.bpmn").read_text(encoding="utf-8")
    bad = tmp_path / "bad.bpmn"
    bad.write_text(source.replace('camunda:formKey="resolution"', 'camunda:formKey="nope"', 1), encoding="utf-8")
    result = run(app, "deploy", str(bad))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: diagram refused: bad.bpmn:") and "'nope'" in result.stderr
    ok = run_json(app, "deploy", str(Path(config.ROOT) / "bpmn" / "service_desk.bpmn"), "--comment", "again")
    assert ok["version"] == 2


def test_every_command_defined_in_app_cli_is_in_the_opsflow_group() -> None:
    """Commands are listed explicitly in app/cli/__init__.py: one defined but not listed would be silently missing."""
    import importlib
    import pkgutil

    import click

    import app.cli as package

    defined = {obj for info in pkgutil.iter_modules(package.__path__)
               for obj in vars(importlib.import_module(f"app.cli.{info.name}")).values()
               if isinstance(obj, click.Command)}
    nested = {sub for group in defined if isinstance(group, click.Group) for sub in group.commands.values()}
    assert defined - nested == set(package.opsflow.commands.values())


def test_a_locked_database_is_one_error_line_not_a_traceback(tmp_path: Path) -> None:
    app = cli_app(tmp_path, DATABASE_BUSY_TIMEOUT_MS=200)
    assert run(app, "setup").exit_code == 0
    with write_locked(tmp_path / "cli.db"):
        began = time.monotonic()
        result = run(app, "tasks", "--group", "service_desk")
        waited = time.monotonic() - began
    assert result.exit_code == 1
    assert result.stderr == "error: the database is busy (locked by another process); try again\n"
    assert result.stdout == "" and waited < 5
    assert run(app, "tasks", "--group", "service_desk").exit_code == 0  # free again: works


@pytest.mark.parametrize("data, message", [
    ("{not json", "error: --data: not valid JSON: Expecting property name enclosed in double quotes at position 1"),
    ("@/no/such/file.json", "error: --data: cannot read /no/such/file.json: No such file or directory"),
    ("[1]", "error: --data: must be a JSON object ({...})"),
])
def test_bad_data_is_one_error_line(app: Flask, data: str, message: str) -> None:
    assert run(app, "setup").exit_code == 0
    result = run(app, "start", "service_desk", "--data", data)
    assert (result.exit_code, result.stderr, result.stdout) == (2, message + "\n", "")


def test_sla_set_by_someone_else_is_one_error_line(app: Flask) -> None:
    assert run(app, "setup").exit_code == 0
    result = run(app, "sla", "set", "II", "--resolve-minutes", "60", "--user", "engineer")
    assert (result.exit_code, result.stderr) == (
        1, "error: engineer may not change the SLA policy (process owners do)\n")
    nothing = run(app, "sla", "set", "II", "--user", "process_owner")
    assert (nothing.exit_code, nothing.stderr) == (2, "error: give at least one setting to change\n")


def test_sla_set_changes_the_level_i_emergency_plan(app: Flask) -> None:
    assert run(app, "setup").exit_code == 0
    owner = ("--user", "process_owner")
    assert run(app, "sla", "set", "I", "--emergency-plan-after-minutes", "600",
               "--emergency-plan-due-minutes", "900", *owner).exit_code == 0
    level_i = run_json(app, "sla", "policy")[0]
    assert (level_i["emergency_plan_after_minutes"], level_i["emergency_plan_due_minutes"]) == (600, 900)
    assert "600-900" in run(app, "sla", "policy").stdout
    backwards = run(app, "sla", "set", "I", "--emergency-plan-due-minutes", "500", *owner)
    assert backwards.exit_code == 1 and backwards.stderr == (
        "error: the emergency plan must be due after it starts: "
        "emergency_plan_due_minutes: after emergency_plan_after_minutes\n")
    assert run(app, "sla", "set", "I", "--no-emergency-plan", *owner).exit_code == 0
    assert run_json(app, "sla", "policy")[0]["emergency_plan_after_minutes"] is None


def test_sla_durations_take_seconds_for_drills(app: Flask) -> None:
    assert run(app, "setup").exit_code == 0
    assert run(app, "sla", "set", "II", "--resolve-minutes", "90s", "--plan-minutes", "45",
               "--user", "process_owner").exit_code == 0
    level_ii = run_json(app, "sla", "policy")[1]
    assert (level_ii["resolve_seconds"], level_ii["resolve_minutes"]) == (90, 1.5)
    assert (level_ii["plan_seconds"], level_ii["plan_minutes"]) == (45 * 60, 45)
    assert "90s" in run(app, "sla", "policy").stdout
    bad = run(app, "sla", "set", "II", "--resolve-minutes", "90x", "--user", "process_owner")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: resolve_minutes: '90x' is not a duration")
    assert bad.stderr.count("\n") == 1


def test_tasks_for_a_user_or_group_that_does_not_exist_say_so(app: Flask) -> None:
    assert run(app, "setup").exit_code == 0
    ghost = run(app, "tasks", "--user", "ghost")
    assert (ghost.exit_code, ghost.stderr) == (1, "error: no active user 'ghost'\n")
    nowhere = run(app, "tasks", "--group", "ghosts")
    assert nowhere.exit_code == 2 and nowhere.stderr.startswith("error: --group: no group 'ghosts' (groups: ")
    assert run(app, "tasks", "--user", "engineer").stdout == "no tasks\n"


def test_only_process_owners_set_the_sla_policy_and_the_engine_says_so(app: Flask) -> None:
    assert run(app, "setup").exit_code == 0
    refused = run(app, "sla", "set", "II", "--respond-minutes", "5", "--user", "engineer")
    assert refused.exit_code == 1
    assert refused.stderr == "error: engineer may not change the SLA policy (process owners do)\n"
    done = run(app, "sla", "set", "II", "--respond-minutes", "45", "--user", "process_owner")
    assert done.exit_code == 0, done.stderr
    assert [p["respond_minutes"] for p in run_json(app, "sla", "policy") if p["fault_level"] == "II"] == [45]


def test_create_user_makes_the_first_user_administrator_and_logs_it(app: Flask) -> None:
    """A new install's first user administrator comes from the console; the log names the operator."""
    assert run(app, "setup", "--no-demo").exit_code == 0
    made = run(app, "create-user", "admin", "--group", "user_admin", "--password", "Admin-2026!")
    assert made.exit_code == 0, made.stderr
    with database(app).transaction() as session:
        admin = users.actor(session, "admin")
        assert admin.groups == {"user_admin"}
        [entry] = user_admin.log_entries(session, actor=admin)
        assert (entry.actor, entry.action, entry.username) == (f"console:{getpass.getuser()}", "user_created",
                                                               "admin")
        assert entry.detail == {"after": {"display_name": "admin", "email": None, "groups": ["user_admin"]}}


def test_sla_set_takes_a_process_and_a_working_calendar(app: Flask) -> None:
    assert run(app, "setup").exit_code == 0
    result = run(app, "sla", "set", "II", "--process", "problem_management", "--calendar", "workdays",
                 "--work-start", "08:30", "--user", "process_owner")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("problem_management level II updated: calendar=workdays")
    [level_ii] = [p for p in run_json(app, "sla", "policy", "--process", "problem_management")
                  if p["fault_level"] == "II"]
    assert (level_ii["calendar"], level_ii["work_start"], level_ii["work_end"]) == ("workdays", "08:30", "18:00")
    assert [p["calendar"] for p in run_json(app, "sla", "policy") if p["fault_level"] == "II"] == ["7x24"]
    wrong = run(app, "sla", "set", "II", "--work-end", "25:00", "--user", "process_owner")
    assert wrong.exit_code == 1 and "time of day" in wrong.stderr
