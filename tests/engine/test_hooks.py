"""The core's hooks (engine.process.hooks): what receivers add is recorded and replayed, they share the
change's transaction, and the core runs without the desk's rules."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock, desk, users
from engine.audit import verification as audit
from engine.errors import Conflict
from engine.process import definitions, hooks, runtime
from engine.process.scheduler import TimerScheduler
from engine.store.db import Database
from engine.store.models import ServiceCase, TaskRecord
from tests.support.flows import Flow

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
MINI = (Path(__file__).parent / "diagrams" / "mini.bpmn").read_bytes()
# The gateway reads `bonus`, which only hook receivers set.
HOOKED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="hooked_defs" targetNamespace="http://opsflow.dev/test">
  <bpmn:process id="hooked" name="Hooked" isExecutable="true">
    <bpmn:startEvent id="start" camunda:formKey="request"/>
    <bpmn:userTask id="work" name="Work" camunda:formKey="resolution" camunda:candidateGroups="engineer"/>
    <bpmn:exclusiveGateway id="gw_bonus" default="flow_plain"/>
    <bpmn:userTask id="review" name="Review" camunda:formKey="accept" camunda:candidateGroups="engineer"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="flow_work" sourceRef="work" targetRef="gw_bonus"/>
    <bpmn:sequenceFlow id="flow_plain" sourceRef="gw_bonus" targetRef="end"/>
    <bpmn:sequenceFlow id="flow_bonus" sourceRef="gw_bonus" targetRef="review">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">bonus == 'yes'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_review" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
FIXED = {"resolved": True, "method": "remote", "actions": "重启"}


@pytest.fixture
def own_hooks() -> Iterator[None]:
    """Receivers a test connects are gone afterwards; the desk's stay as they were."""
    saved = {hook: list(hook.receivers) for hook in vars(hooks).values() if isinstance(hook, hooks.Hook)}
    jobs = list(hooks.jobs)
    yield
    for hook, receivers in saved.items():
        hook.receivers[:] = receivers
    hooks.jobs[:] = jobs


@pytest.fixture
def hooked(db: Database, make_user: Any, own_hooks: None) -> Database:
    make_user("requester", "requester")
    make_user("eng", "engineer")
    make_user("desk", "service_desk")
    with db.transaction() as session:
        definitions.deploy(session, [definitions.SourceFile("hooked.bpmn", HOOKED)])
        definitions.deploy(session, [definitions.SourceFile("mini.bpmn", MINI)])
    return db


def _bonus_at_start(start: hooks.Start) -> dict[str, Any]:
    return {"bonus": "no"} if start.definition.process_id == "hooked" else {}


def _bonus_on_work(completion: hooks.Completion) -> dict[str, Any]:
    return {"bonus": "yes"} if completion.task.task_spec.bpmn_id == "work" else {}


def test_what_receivers_add_is_recorded_and_replayed_without_them(hooked: Database) -> None:
    hooks.instance_starting.connect(_bonus_at_start)
    hooks.task_completing.connect(_bonus_on_work)
    flow = Flow(hooked, "hooked")
    flow.complete("work", FIXED, "eng")
    assert flow.open_elements() == ["review"]  # the gateway saw the variable a receiver set
    assert flow.events("instance_started")[0]["payload"]["engine_data"] == {"bonus": "no"}
    assert flow.events("task_completed")[0]["payload"]["engine_data"] == {"bonus": "yes"}
    hooks.task_completing.disconnect(_bonus_on_work)
    hooks.instance_starting.disconnect(_bonus_at_start)
    with hooked.transaction() as session:
        verdict = audit.verify_instance(session, flow.id)
    assert verdict.ok, verdict.first_divergence  # re-executed from the recorded engine data alone


def test_a_receiver_that_raises_undoes_the_whole_change(hooked: Database) -> None:
    flow = Flow(hooked, "hooked")
    events_before = len(flow.events())

    def refuse(completion: hooks.Completion) -> None:
        raise RuntimeError("rule broken")

    hooks.task_completed.connect(refuse)
    with pytest.raises(RuntimeError, match="rule broken"):
        flow.complete("work", FIXED, "eng")
    hooks.task_completed.disconnect(refuse)
    assert flow.open_elements() == ["work"] and len(flow.events()) == events_before
    flow.complete("work", FIXED, "eng")  # and the instance goes on as if nothing had happened
    assert flow.status() == "completed"


def test_task_due_and_opened_tasks_and_moments(hooked: Database) -> None:
    due = T0 + dt.timedelta(hours=5)
    opened: list[list[str]] = []
    moments: list[str] = []
    hooks.task_due.connect(lambda asked: due if asked.task.task_spec.bpmn_id == "review" else None)
    hooks.tasks_opened.connect(lambda event: opened.append([row["element_id"] for row in event.tasks]))
    hooks.instance_ended.connect(lambda event: moments.append(f"ended {event.instance.status}"))
    hooks.instance_saved.connect(lambda event: moments.append(f"saved v{event.instance.lock_version}"))
    hooks.task_completing.connect(_bonus_on_work)
    with clock.frozen(T0):
        flow = Flow(hooked, "hooked")
        flow.complete("work", FIXED, "eng")
        with hooked.transaction() as session:
            dues = {row.element_id: row.due_at for row in session.execute(
                select(TaskRecord.element_id, TaskRecord.due_at).where(TaskRecord.instance_id == flow.id))}
        flow.complete("review", {"request_confirmed": True}, "eng")
    assert dues == {"work": None, "review": due}  # the first receiver with an answer decides
    assert opened == [["work"], ["review"]]
    # One save per change; the end is announced once, before its change is saved.
    assert moments == ["saved v1", "saved v2", "ended completed", "saved v3"]


def test_the_core_runs_without_the_desks_rules(hooked: Database) -> None:
    for hook in vars(hooks).values():
        if isinstance(hook, hooks.Hook):
            hook.receivers.clear()
    flow = Flow(hooked, "mini")
    flow.complete("remote_fix", FIXED, "eng")
    flow.complete("satisfaction", {"score": 5, "remaining_problem": False}, "requester")
    assert flow.status() == "completed"
    assert flow.events("instance_started")[0]["payload"]["engine_data"] == {}
    with hooked.transaction() as session:
        assert session.get(ServiceCase, flow.id) is None  # the desk's record, and the desk was not there
        assert session.scalars(select(TaskRecord.due_at).where(TaskRecord.instance_id == flow.id)).all() == [
            None, None]


def test_installing_the_desk_twice_connects_each_rule_once(own_hooks: None) -> None:
    connected = {hook.name: len(hook.receivers) for hook in vars(hooks).values() if isinstance(hook, hooks.Hook)}
    desk.install()
    desk.install()
    assert {hook.name: len(hook.receivers) for hook in vars(hooks).values()
            if isinstance(hook, hooks.Hook)} == connected
    assert all(connected.values()), connected  # the desk has a rule on every moment
    assert [job.id for job in hooks.jobs] == ["health_checks", "parts_report", "service_reports", "kpi_rollup",
                                           "notifications"]


def test_the_scheduler_runs_registered_jobs_in_their_own_transaction(
        sqlite_db: Database, own_hooks: None, caplog: pytest.LogCaptureFixture) -> None:
    def create_user(session: Session) -> None:
        users.create_user(session, username="made_by_job", password="pw", groups=["engineer"])

    def fail(session: Session) -> None:
        raise RuntimeError("job broken")

    job = hooks.Job("make_user", 3600, create_user)
    hooks.add_job(job)
    hooks.add_job(hooks.Job("make_user", 3600, fail))  # a second job under the same id is ignored
    assert hooks.jobs[-1] is job
    scheduler = TimerScheduler(sqlite_db, name="test", poll_seconds=3600)
    scheduler.start()
    try:
        assert {j.id for j in scheduler._scheduler.get_jobs()} >= {"make_user", "health_checks"}
    finally:
        scheduler.shutdown()
    scheduler.run_job(job)  # what the scheduler calls at each interval
    with sqlite_db.transaction() as session:
        assert [u.username for u in users.list_users(session)] == ["made_by_job"]  # committed
    with caplog.at_level(logging.ERROR):
        scheduler.run_job(hooks.Job("fail", 3600, fail))  # logged; the scheduler carries on
    assert "scheduled job fail failed" in caplog.text


def test_receivers_see_the_changes_instant(hooked: Database) -> None:
    seen: list[dt.datetime] = []
    hooks.task_completed.connect(lambda completion: seen.append(clock.now()))
    flow = Flow(hooked, "hooked")
    flow.complete("work", FIXED, "eng")
    [completed] = flow.events("task_completed")
    assert seen == [dt.datetime.fromisoformat(completed["at"])]


def test_a_running_instance_is_required_for_variable_changes(hooked: Database) -> None:
    flow = Flow(hooked, "hooked")
    flow.complete("work", FIXED, "eng")
    with pytest.raises(Conflict, match="already completed"), hooked.transaction() as session:
        runtime.change_variables(session, instance=runtime.load_instance(session, flow.id), variables={"x": 1},
                                 actor="desk", kind="variables_set", payload={"x": 1})
