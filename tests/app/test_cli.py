"""The `flask opsflow` CLI: one service-desk request end to end, --json output, clean errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

import config
from app import database
from tests.support.cli import cli_app, run, run_json
from tests.support.flows import REQUEST, allow_closing


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
