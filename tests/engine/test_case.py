"""The case record (engine.desk.case): one service_case row per request, written with each change."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine import clock, users
from engine.desk import sla
from engine.process import runtime
from engine.store.db import Database
from engine.store.models import ServiceCase
from tests.support.flows import REQUEST, Flow

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
# The request form's report attributes, on top of the usual request.
ATTRIBUTES = {"customer_type": "medical", "business_line": "software_platform", "zone": "东区",
              "device_type": "host", "system": "HIS 服务器"}
RESOLVED = {"resolved": True, "method": "remote", "actions": "远程重启服务"}


def case_of(db: Database, flow: Flow) -> ServiceCase:
    with db.transaction() as session:
        row = session.get(ServiceCase, flow.id)
        assert row is not None, f"instance {flow.id} has no case record"
        session.expunge(row)
        return row


def test_a_request_keeps_its_case_from_start_to_close(bundled: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = Flow(bundled, "service_desk", {**REQUEST, **ATTRIBUTES})
        opened = case_of(bundled, flow)
        assert (opened.opened_at, opened.fault_level, opened.closed_at) == (T0, None, None)
        assert {name: getattr(opened, name) for name in ATTRIBUTES} == ATTRIBUTES
        assert opened.category is None and opened.responded_at is None
        # Until 事件分类 sets a level, the most lenient targets apply (level IV: resolve within 5 days).
        assert opened.resolve_due_at == T0 + dt.timedelta(days=5)
        assert (opened.chase_count, opened.is_complaint, opened.satisfaction) == (0, False, None)
        advance(10 * MINUTE)
        flow.complete("accept", {"request_confirmed": True}, "service_desk")
        advance(5 * MINUTE)
        flow.complete("classify", {"category": "fault", "fault_level": "II"}, "service_desk")
        classified = case_of(bundled, flow)
        assert classified.responded_at == T0 + 10 * MINUTE  # accept carries the response target
        assert (classified.category, classified.fault_level) == ("fault", "II")
        assert classified.resolve_due_at == T0 + dt.timedelta(days=3)  # level II, counted from the start
        assert classified.fault_report_due_at is None
        advance(60 * MINUTE)
        flow.complete("remote_fix", RESOLVED, "engineer")
        resolved = case_of(bundled, flow)
        assert resolved.resolved_at == T0 + 75 * MINUTE
        assert resolved.fault_report_due_at == T0 + 75 * MINUTE + dt.timedelta(hours=24)
        assert resolved.closed_at is None
        advance(MINUTE)
        flow.allow_closing()  # the closure rule of the knowledge base (tests/engine/test_knowledge.py)
        flow.complete("satisfaction", {"score": 4, "remaining_problem": False}, "requester")
    closed = case_of(bundled, flow)
    assert flow.status() == "completed"
    assert (closed.satisfaction, closed.closed_at) == (4, T0 + 76 * MINUTE)
    assert closed.responded_at == T0 + 10 * MINUTE and closed.resolved_at == T0 + 75 * MINUTE


def test_the_first_response_and_resolution_stay_when_the_case_loops(bundled: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = Flow(bundled, "service_desk")
        flow.complete("accept", {"request_confirmed": True}, "service_desk")
        flow.complete("classify", {"category": "fault", "fault_level": "III"}, "service_desk")
        advance(MINUTE)
        flow.complete("remote_fix", RESOLVED, "engineer")
        advance(MINUTE)
        flow.complete("satisfaction", {"score": 2, "remaining_problem": True}, "requester")
        advance(MINUTE)
        flow.complete("root_cause", {"cause": "磁盘老化", "corrective_action": "更换磁盘"}, "service_manager")
        advance(MINUTE)
        flow.complete("expert_support_followup", {**RESOLVED, "method": "onsite"}, "engineer")
        advance(MINUTE)
        flow.allow_closing()
        flow.complete("satisfaction", {"score": 5, "remaining_problem": False}, "requester")
    closed = case_of(bundled, flow)
    assert (closed.resolved_at, closed.responded_at) == (T0 + MINUTE, T0)
    assert (closed.satisfaction, closed.closed_at) == (5, T0 + 5 * MINUTE)  # the latest score counts


def test_a_regrade_changes_the_case_with_the_instance(bundled: Database) -> None:
    with clock.frozen(T0):
        flow = Flow(bundled, "service_desk")
        flow.complete("accept", {"request_confirmed": True}, "service_desk")
        flow.complete("classify", {"category": "fault", "fault_level": "III"}, "service_desk")
        with bundled.transaction() as session:
            sla.change_fault_level(session, instance_id=flow.id, level="I", actor=users.actor(session, "service_desk"))
    regraded = case_of(bundled, flow)
    assert (regraded.fault_level, flow.view()["fault_level"]) == ("I", "I")
    assert regraded.resolve_due_at == T0 + dt.timedelta(hours=24)
    assert regraded.emergency_plan_due_at == T0 + dt.timedelta(hours=16)  # level I's emergency-plan rule


def test_case_writes_roll_back_with_their_change(bundled: Database) -> None:
    flow = Flow(bundled, "service_desk")
    flow.complete("accept", {"request_confirmed": True}, "service_desk")
    classify = flow.task_id("classify")
    with pytest.raises(RuntimeError), bundled.transaction() as session:
        runtime.complete_task(session, task_id=classify, data={"category": "fault", "fault_level": "I"},
                              actor=users.actor(session, "service_desk"))
        assert session.get(ServiceCase, flow.id).fault_level == "I"  # written in the change's transaction
        raise RuntimeError("the caller fails after the change")
    assert case_of(bundled, flow).fault_level is None


def test_every_instance_gets_one_case(bundled: Database) -> None:
    flows = [Flow(bundled, "service_desk"), Flow(bundled, "health_check",
                                                 {"organisation": "市教育局", "contract": "HT-2026-020"},
                                                 user="engineer")]
    with bundled.transaction() as session:
        rows = session.execute(select(ServiceCase.instance_id, ServiceCase.fault_level, ServiceCase.resolve_due_at)
                               .order_by(ServiceCase.instance_id)).all()
    assert [row.instance_id for row in rows] == [flow.id for flow in flows]
    # 健康检查 reads no SLA variables: its case has no deadlines.
    assert rows[1].resolve_due_at is None
