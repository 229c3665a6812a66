"""满意度回访 is the service desk's callback (issue 11 item 3): the requester may answer their own survey instead,
whichever comes first completes it; nobody answering within the callback period closes the case by itself,
once, recorded with its reason. New diagram versions leave running instances on theirs."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import bootstrap, clock, users
from engine.audit import verification as audit
from engine.desk import callback, case
from engine.errors import Conflict, Forbidden
from engine.process import definitions, runtime, timers
from engine.store.db import Database
from engine.store.models import Timer
from tests.bpmn import helpers as h
from tests.bpmn.helpers import Step
from tests.conftest import BPMN_DIR
from tests.support.flows import Flow

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
# Level III: a level I/II fault also gets a fault report to write (its own timers), which is not this file's topic.
RESOLVED = [Step("accept", h.accept(), "service_desk"), Step("classify", h.classify(fault_level="III"), "service_desk"),
            Step("remote_fix", h.resolution(resolved=True), "engineer")]
ANSWER = h.satisfaction(remaining_problem=False)
BEFORE_ISSUE_11 = Path(__file__).parent / "service_desk_before_issue_11.bpmn"  # as bundled until issue 11


def fire_due(db: Database) -> list[int]:
    """What a scheduler does at `clock.now()`: fire every pending timer that is due."""
    with db.transaction() as session:
        due = timers.due_soon(session, clock.now())
    fired = []
    for timer_id, _due in due:
        with db.transaction() as session:
            if runtime.fire_timer(session, timer_id=timer_id, fired_by="test") is not None:
                fired.append(timer_id)
    return fired


def _callback_timer(db: Database, flow: Flow) -> list[tuple[str, dt.datetime]]:
    with db.transaction() as session:
        return [(t.status, t.due_at) for t in session.scalars(
            select(Timer).where(Timer.instance_id == flow.id, Timer.element_id == "satisfaction_unanswered"))]


def _verified(db: Database, flow: Flow) -> None:
    with db.transaction() as session:
        verdict = audit.verify_instance(session, flow.id)
    assert verdict.ok, verdict.first_divergence


@pytest.mark.parametrize("process", ["service_desk", "third_party"])
def test_nobody_answering_closes_the_case_once_recorded_with_its_reason(bundled: Database, process: str) -> None:
    with clock.frozen(T0) as advance:
        flow = Flow(bundled, process, h.request(), user="requester")
        steps = RESOLVED if process == "service_desk" else [
            RESOLVED[0], Step("classify", h.classify(needs_third_party=False, fault_level="III"), "service_desk"),
            Step("engineer_onsite", h.onsite_resolution(resolved=True), "engineer")]
        h.drive(flow, steps)
        assert flow.open_elements() == ["satisfaction"]
        opened = T0  # the callback opened with the last step, at T0
        advance(HOUR)
        # The period is taken once, at the first step, as engine data the audit re-applies.
        first = flow.events("task_completed")[0]
        assert first["payload"]["engine_data"][callback.PERIOD_VARIABLE] == "PT259200S"
        assert _callback_timer(bundled, flow) == [("pending", opened + 72 * HOUR)]
        advance(70 * HOUR)
        assert fire_due(bundled) == []  # 71 h: still waiting for an answer
        advance(HOUR + dt.timedelta(seconds=1))
        assert len(fire_due(bundled)) == 1
        assert fire_due(bundled) == []  # fires once: a second scheduler finds nothing left
        assert flow.status() == "completed" and flow.open_tasks() == []
        events = flow.events()
        kinds = [e["kind"] for e in events]
        assert kinds[-4:] == ["timer_fired", "task_cancelled", "instance_ended", callback.CASE_AUTO_CLOSED]
        assert events[-4]["element_id"] == "satisfaction_unanswered" and events[-3]["element_id"] == "satisfaction"
        assert events[-2]["element_id"] == "end_auto_closed"
        closed = events[-1]
        assert closed["actor"] == "system" and closed["payload"]["reason"] == "callback_unanswered"
        assert "satisfaction call" in closed["payload"]["message"]
        assert kinds.count(callback.CASE_AUTO_CLOSED) == 1
        with bundled.transaction() as session:
            record = case.get(session, flow.id)
            assert record.closed_at == opened + 72 * HOUR + dt.timedelta(seconds=1) and record.satisfaction is None
        _verified(bundled, flow)


def test_the_callback_period_is_a_setting(bundled: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(callback.SETTING, "2")
    with clock.frozen(T0):
        flow = Flow(bundled, "service_desk", h.request(), user="requester")
        h.drive(flow, RESOLVED)
        assert _callback_timer(bundled, flow) == [("pending", T0 + 2 * HOUR)]
    # A running case keeps the period it took: a later change of the setting leaves it alone.
    monkeypatch.setenv(callback.SETTING, "5")
    assert flow.events("task_completed")[0]["payload"]["engine_data"][callback.PERIOD_VARIABLE] == "PT7200S"
    for wrong in ("0", "-3", "three days", "99999"):
        monkeypatch.setenv(callback.SETTING, wrong)
        with pytest.raises(ValueError, match=callback.SETTING):
            callback.close_after()
    monkeypatch.delenv(callback.SETTING)
    assert callback.close_after() == dt.timedelta(days=3)


@pytest.mark.parametrize("first, second", [("requester", "service_desk"), ("service_desk", "requester")])
def test_whichever_answer_comes_first_completes_the_call(bundled: Database, first: str, second: str) -> None:
    flow = Flow(bundled, "service_desk", h.request(), user="requester")
    flow.allow_closing()
    h.drive(flow, RESOLVED)
    task_id = flow.task_id("satisfaction")
    with bundled.transaction() as session:
        runtime.complete_task(session, task_id=task_id, data=ANSWER, actor=users.actor(session, first))
    with bundled.transaction() as session, pytest.raises(Conflict, match="already completed"):
        runtime.complete_task(session, task_id=task_id, data=ANSWER, actor=users.actor(session, second))
    assert flow.status() == "completed" and flow.events("task_completed")[-1]["actor"] == first
    assert _callback_timer(bundled, flow)[0][0] == "cancelled"  # answered: no automatic close later
    assert callback.CASE_AUTO_CLOSED not in [e["kind"] for e in flow.events()]
    _verified(bundled, flow)


def test_the_requester_answers_even_while_an_agent_holds_the_call_but_never_takes_it(bundled: Database) -> None:
    flow = Flow(bundled, "service_desk", h.request(), user="requester")
    flow.allow_closing()
    h.drive(flow, RESOLVED)
    task_id = flow.task_id("satisfaction")
    with bundled.transaction() as session, pytest.raises(Forbidden, match="may answer it, not take it"):
        runtime.claim_task(session, task_id=task_id, actor=users.actor(session, "requester"))
    with bundled.transaction() as session:
        runtime.claim_task(session, task_id=task_id, actor=users.actor(session, "service_desk"))
    flow.complete("satisfaction", ANSWER, "requester")  # the customer answered in the portal before the call
    assert flow.status() == "completed"


def test_an_instance_started_on_the_old_version_completes_on_it(db: Database) -> None:
    """Running instances keep their version: the callback stays the requester's own task there."""
    with db.transaction() as session:
        bootstrap.create_demo_users(session)
        definitions.deploy(session, [definitions.SourceFile("service_desk.bpmn", BEFORE_ISSUE_11.read_bytes())],
                           user="test")
    old = Flow(db, "service_desk", h.request(), user="requester")
    old.allow_closing()
    old.complete("accept", h.accept(), "service_desk")
    with db.transaction() as session:
        bootstrap.deploy_directory(session, BPMN_DIR, user="test")
    new = Flow(db, "service_desk", h.request(), user="requester")
    assert (old.view()["version"], new.view()["version"]) == (1, 2)
    h.drive(old, [Step("classify", h.classify(fault_level="I"), "service_desk"),  # no triage on version 1
                  Step("remote_fix", h.resolution(resolved=True), "engineer"),
                  Step("satisfaction", ANSWER, "requester")])
    assert old.gateways() == [("gw_remote_resolved", ["satisfaction"]), ("gw_remaining_problem", ["end_done"])]
    assert old.status() == "completed" and old.view()["version"] == 1
    _verified(db, old)
