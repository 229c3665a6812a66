"""SLA deadlines and timers with a controllable clock: arming, firing once, lateness, re-arming."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock, users
from engine.desk import sla
from engine.process import definitions, runtime, timers
from engine.store.db import Database
from engine.store.models import ServiceCase, TaskRecord, Timer
from tests.support.flows import Flow

SLA = (Path(__file__).parent / "diagrams" / "sla.bpmn").read_bytes()
T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
FIXED = {"resolved": True, "method": "onsite", "actions": "更换电源"}


@pytest.fixture
def sla_db(db: Database, make_user) -> Database:
    for name, group in [("requester", "requester"), ("desk", "service_desk"), ("eng", "engineer"),
                        ("svcmgr", "service_manager")]:
        make_user(name, group)
    with db.transaction() as session:
        definitions.deploy(session, [definitions.SourceFile("sla.bpmn", SLA)])
    return db


def fire_due(db: Database, by: str = "test") -> list[int]:
    """What a scheduler does at `clock.now()`: fire every pending timer that is due."""
    with db.transaction() as session:
        due = timers.due_soon(session, clock.now())
    fired = []
    for timer_id, _due in due:
        with db.transaction() as session:
            if runtime.fire_timer(session, timer_id=timer_id, fired_by=by) is not None:
                fired.append(timer_id)
    return fired


def timer_rows(db: Database, flow: Flow) -> list[tuple[str, str, dt.datetime]]:
    with db.transaction() as session:
        return [(t.element_id, t.status, t.due_at) for t in session.scalars(
            select(Timer).where(Timer.instance_id == flow.id).order_by(Timer.element_id))]


def test_level_sets_deadlines_and_timers_fire_once_with_lateness(sla_db: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = Flow(sla_db, "sla_test")
        flow.complete("classify", {"category": "fault", "fault_level": "I"}, "desk")
        # Level I: resolve within 24 h, warned at 80 % (19.2 h), escalated at 24 h.
        assert timer_rows(sla_db, flow) == [
            ("work_sla_escalate_1", "pending", T0 + 24 * HOUR),
            ("work_sla_warn", "pending", T0 + dt.timedelta(hours=19, minutes=12)),
        ]
        with sla_db.transaction() as session:
            instance = session.get(ServiceCase, flow.id)
            assert instance.resolve_due_at == T0 + 24 * HOUR
            assert instance.respond_due_at == T0 + dt.timedelta(minutes=30)
            work = session.scalars(select(TaskRecord).where(TaskRecord.element_id == "work")).one()
            assert work.due_at == T0 + 24 * HOUR
        advance(19 * HOUR)
        assert fire_due(sla_db) == []  # not due yet
        advance(dt.timedelta(minutes=12, seconds=3))
        assert len(fire_due(sla_db)) == 1
        assert fire_due(sla_db, by="other") == []  # a second scheduler finds nothing left
        assert flow.open_elements() == ["work", "work_sla_warning"]
        fired = flow.events("timer_fired")
        assert [(e["element_id"], e["payload"]["late_ms"]) for e in fired] == [("work_sla_warn", 3000)]
        warning = next(t for t in flow.open_tasks() if t["element_id"] == "work_sla_warning")
        assert warning["due_at"] == (T0 + 24 * HOUR).isoformat()  # the warning shows what is due when
        flow.complete("work_sla_warning", {"acknowledged": True, "comment": "已加派人手"}, "eng")
        advance(5 * HOUR)
        fire_due(sla_db)
        escalation = next(t for t in flow.open_tasks() if t["element_id"] == "work_escalation_1")
        assert escalation["group"] == "service_manager"
        flow.complete("work", FIXED, "eng")
        flow.complete("work_escalation_1", {"action_taken": "协调厂商"}, "svcmgr")
        assert flow.status() == "completed"
        assert [s for _, s, _ in timer_rows(sla_db, flow)] == ["fired", "fired"]


def test_finishing_the_task_cancels_its_timers(sla_db: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = Flow(sla_db, "sla_test")
        flow.complete("classify", {"category": "fault", "fault_level": "IV"}, "desk")
        advance(HOUR)
        flow.complete("work", FIXED, "eng")
        assert flow.status() == "completed"
        assert [s for _, s, _ in timer_rows(sla_db, flow)] == ["cancelled", "cancelled"]
        advance(200 * HOUR)
        assert fire_due(sla_db) == []


def test_changing_the_level_rearms_the_timers(sla_db: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = Flow(sla_db, "sla_test")
        flow.complete("classify", {"category": "fault", "fault_level": "IV"}, "desk")
        assert dict((e, d) for e, _, d in timer_rows(sla_db, flow))["work_sla_escalate_1"] == T0 + 5 * 24 * HOUR
        advance(HOUR)
        with sla_db.transaction() as session:
            sla.change_fault_level(session, instance_id=flow.id, level="I", actor=users.actor(session, "desk"),
                                   reason="全院业务中断")
        rows = {e: (s, d) for e, s, d in timer_rows(sla_db, flow)}
        assert rows["work_sla_escalate_1"] == ("pending", T0 + 24 * HOUR)
        assert rows["work_sla_warn"] == ("pending", T0 + dt.timedelta(hours=19, minutes=12))
        assert flow.open_tasks()[0]["due_at"] == (T0 + 24 * HOUR).isoformat()
        assert flow.view()["fault_level"] == "I"
        assert flow.events("fault_level_changed")[0]["payload"]["to"] == "I"
        advance(23 * HOUR + dt.timedelta(seconds=1))  # past T0 + 24 h: both are due under the new level
        fire_due(sla_db)
        assert flow.open_elements() == ["work", "work_escalation_1", "work_sla_warning"]
        assert len(flow.events("timer_fired")) == 2


def test_overdue_timers_fire_late_and_say_how_late(sla_db: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = Flow(sla_db, "sla_test")
        flow.complete("classify", {"category": "fault", "fault_level": "I"}, "desk")
        advance(30 * HOUR)  # nothing ran for a day: both timers are overdue at start-up
        fire_due(sla_db)
        late = {e["element_id"]: e["payload"]["late_ms"] for e in flow.events("timer_fired")}
        assert late == {"work_sla_warn": int(10.8 * 3600 * 1000), "work_sla_escalate_1": 6 * 3600 * 1000}


def test_at_risk_lists_targets_past_the_warning_point_and_missed(sla_db: Database) -> None:
    from engine.desk import sla
    with clock.frozen(T0) as advance:
        flow = Flow(sla_db, "sla_test")
        flow.complete("classify", {"category": "fault", "fault_level": "I"}, "desk")
        with sla_db.transaction() as session:
            assert sla.at_risk(session) == []
        advance(20 * HOUR)
        with sla_db.transaction() as session:
            [row] = sla.at_risk(session)
        assert (row["element_id"], row["state"], row["minutes_left"]) == ("work", "at_risk", 240)
        advance(5 * HOUR)
        with sla_db.transaction() as session:
            [row] = sla.at_risk(session)
        assert (row["state"], row["late_minutes"]) == ("missed", 60)


QUICK = (Path(__file__).parent / "diagrams" / "quick_timer.bpmn").read_bytes()


@pytest.mark.slow
def test_apscheduler_fires_real_timers_on_time_and_catches_up_after_a_restart(sqlite_db: Database) -> None:
    import time

    from engine.process.scheduler import TimerScheduler

    db = sqlite_db
    with db.transaction() as session:
        for name, group in [("requester", "requester"), ("desk", "service_desk"), ("eng", "engineer")]:
            users.create_user(session, username=name, password="pw", groups=[group])
        definitions.deploy(session, [definitions.SourceFile("quick_timer.bpmn", QUICK)])
    scheduler = TimerScheduler(db, name="s1", poll_seconds=0.2)
    scheduler.start()
    try:
        flow = Flow(db, "quick_timer")
        flow.complete("classify", {"category": "fault", "fault_level": "III"}, "desk")
        deadline = time.monotonic() + 10
        while len(flow.events("timer_fired")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.shutdown()
    fired = flow.events("timer_fired")
    assert [e["element_id"] for e in fired] == ["work_sla_warn", "work_sla_escalate_1"]
    assert all(e["payload"]["late_ms"] < 1000 and e["payload"]["fired_by"] == "s1" for e in fired)
    assert flow.open_elements() == ["work", "work_escalation_1", "work_sla_warning"]

    # Nothing runs while a second instance's timers fall due; a scheduler starting later fires them at once.
    second = Flow(db, "quick_timer")
    second.complete("classify", {"category": "fault", "fault_level": "III"}, "desk")
    time.sleep(3.5)
    late_scheduler = TimerScheduler(db, name="s2", poll_seconds=0.2)
    late_scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while len(second.events("timer_fired")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        late_scheduler.shutdown()
    late = {e["element_id"]: e["payload"]["late_ms"] for e in second.events("timer_fired")}
    assert late["work_sla_warn"] >= 2000 and late["work_sla_escalate_1"] >= 400


def test_regrading_replaces_every_deadline(sla_db: Database) -> None:
    with clock.frozen(T0):
        flow = Flow(sla_db, "sla_test")
        flow.complete("classify", {"category": "fault", "fault_level": "I"}, "desk")
        with sla_db.transaction() as session:
            assert session.get(ServiceCase, flow.id).emergency_plan_due_at == T0 + 16 * HOUR
            sla.change_fault_level(session, instance_id=flow.id, level="II", actor=users.actor(session, "desk"))
        with sla_db.transaction() as session:
            instance = session.get(ServiceCase, flow.id)
            # Level II has no 12 h / 16 h emergency-plan rule: the old deadline must not linger.
            assert instance.emergency_plan_due_at is None
            assert instance.resolve_due_at == T0 + 3 * 24 * HOUR
            assert instance.respond_due_at == T0 + dt.timedelta(minutes=30)


# --- ISO 8601 written without quotes, cycles ---------------------------------------------------------

CHASER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://opsflow.dev/test">
  <bpmn:process id="chaser" name="催办测试" isExecutable="true">
    <bpmn:startEvent id="start" name="提出" camunda:formKey="request"/>
    <bpmn:userTask id="work" name="处理" camunda:formKey="resolution" camunda:candidateGroups="engineer"/>
    <bpmn:boundaryEvent id="chase_timer" name="催办" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:{kind}>{expression}</bpmn:{kind}></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="chase" name="催办" camunda:formKey="sla_warning" camunda:candidateGroups="engineer"/>
    <bpmn:endEvent id="end_chased" name="已催办"/>
    <bpmn:endEvent id="end" name="结束"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="chase_timer" targetRef="chase"/>
    <bpmn:sequenceFlow id="f4" sourceRef="chase" targetRef="end_chased"/>
  </bpmn:process>
</bpmn:definitions>
"""


def chaser(db: Database, kind: str, expression: str) -> Flow:
    """A `work` task chased by a boundary timer written as given; started at the current clock."""
    with db.transaction() as session:
        definitions.deploy(session, [definitions.SourceFile(
            "chaser.bpmn", CHASER.replace("{kind}", kind).replace("{expression}", expression).encode())])
    return Flow(db, "chaser")


@pytest.mark.parametrize("kind, expression, due", [
    ("timeDuration", "PT2H", T0 + 2 * HOUR),
    ("timeDuration", "P1D", T0 + 24 * HOUR),
    ("timeDate", "2026-12-01T10:00:00Z", dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)),
    ("timeCycle", "R3/PT10M", T0 + dt.timedelta(minutes=10)),
])
def test_unquoted_iso_timers_deploy_and_fall_due_as_written(db: Database, make_user, kind: str, expression: str,
                                                            due: dt.datetime) -> None:
    make_user("requester", "requester")
    with clock.frozen(T0) as advance:
        flow = chaser(db, kind, expression)
        assert timer_rows(db, flow) == [("chase_timer", "pending", due)]
        advance(due - T0 - dt.timedelta(seconds=1))
        assert fire_due(db) == [] and flow.open_elements() == ["work"]
        advance(dt.timedelta(seconds=2))
        assert len(fire_due(db)) == 1
        assert flow.open_elements() == ["chase", "work"]
        assert [e["payload"]["due_at"] for e in flow.events("timer_fired")] == [due.isoformat()]


def test_a_cycle_timer_fires_once_per_period_and_the_audit_agrees(db: Database, make_user) -> None:
    from engine.audit import verification

    make_user("requester", "requester")
    with clock.frozen(T0) as advance:
        flow = chaser(db, "timeCycle", '"R3/PT1H"')
        for turn in range(1, 4):
            advance(HOUR + dt.timedelta(seconds=1))
            assert len(fire_due(db)) == 1
            assert fire_due(db) == []  # fired, not handed back to be claimed again
            assert flow.open_elements() == ["chase"] * turn + ["work"]
            rows = timer_rows(db, flow)
            assert [s for _, s, _ in rows] == ["fired"] * turn + ["pending"]
            assert rows[-1][2] == T0 + (turn + 1) * HOUR  # the next turn
        assert [e["payload"]["due_at"] for e in flow.events("timer_fired")] == [
            (T0 + turn * HOUR).isoformat() for turn in (1, 2, 3)]
        with db.transaction() as session:
            assert verification.verify_instance(session, flow.id).ok


def test_a_zero_period_cycle_left_from_an_older_version_is_retired_not_reclaimed_forever(
        db: Database, make_user, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.process import step, validation

    make_user("requester", "requester")
    make_user("eng", "engineer")
    # As deployed and started before validation refused zero periods (and before rows skipped them).
    with monkeypatch.context() as before:
        before.setattr(validation, "_cycle_problem", lambda *args: None, raising=False)
        before.setattr(step, "never_moves_on", lambda task: False)
        with clock.frozen(T0):
            flow = chaser(db, "timeCycle", '"R/PT0S"')
    assert timer_rows(db, flow) == [("chase_timer", "pending", T0)]
    with clock.frozen(T0 + dt.timedelta(seconds=1)) as advance:
        assert fire_due(db) == []
        assert timer_rows(db, flow) == [("chase_timer", "cancelled", T0)]
        for _ in range(3):  # what the scheduler's poll does every second: nothing is left to claim
            advance(dt.timedelta(seconds=1))
            with db.transaction() as session:
                assert timers.due_soon(session, clock.now()) == []
        flow.complete("work", FIXED, "eng")  # a change of the instance does not arm it again
        assert timer_rows(db, flow) == [("chase_timer", "cancelled", T0)]
        assert flow.status() == "completed" and flow.events("timer_fired") == []
