"""Chases and complaints (engine.desk.complaint, engine.desk.case.chase_request): the throttle, the three
ways a request becomes a complaint, exactly one complaint flow per request, the link in both histories,
the first-responsible person checked, the chases' list and banner."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from engine import access, clock, users
from engine.audit import verification as audit
from engine.desk import case, complaint, pickers
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.process import runtime
from engine.store.complaint_models import Complaint, ComplaintPerson
from engine.store.db import Database
from engine.store.models import ProcessInstance, ServiceCase, User
from forms.model import STAFF
from tests.bpmn import helpers as h
from tests.support.flows import REQUEST, Flow, flow_of

T0 = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
INTERVAL = dt.timedelta(minutes=complaint.DEFAULT_INTERVAL_MINUTES)


def chase(db: Database, flow: Flow, who: str = "requester", note: str | None = None) -> int:
    with db.transaction() as session:
        return case.chase_request(session, instance_id=flow.id, actor=users.actor(session, who), note=note)


def complaints_of(db: Database, request_id: int) -> list[int]:
    """The complaint flows started for a request: instances of `complaint` whose start names it."""
    with db.transaction() as session:
        rows = session.scalars(select(ProcessInstance.id).where(ProcessInstance.process_id == "complaint")
                               .order_by(ProcessInstance.id)).all()
    return [i for i in rows
            if flow_of(db, i).events("instance_started")[0]["payload"]["data"]["request_id"] == request_id]


def verified(db: Database, *instance_ids: int) -> None:
    with db.transaction() as session:
        for instance_id in instance_ids:
            verdict = audit.verify_instance(session, instance_id)
            assert verdict.ok, f"instance {instance_id}: {verdict.first_divergence}"


# --- the throttle ---------------------------------------------------------------------------------

def test_one_chase_per_interval_the_boundary_is_allowed(bundled: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = Flow(bundled, "service_desk")
        assert chase(bundled, flow, note="还没人来") == 1
        advance(INTERVAL - dt.timedelta(seconds=1))
        with pytest.raises(Conflict) as refused:
            chase(bundled, flow, who="service_desk")  # the desk chasing for the customer counts too
        assert refused.value.reason == "chase_too_soon"
        assert refused.value.params["next_at"] == T0 + INTERVAL
        assert refused.value.params["minutes"] == 30
        assert "the next is possible from 2026-12-04 09:30 UTC" in str(refused.value)
        advance(dt.timedelta(seconds=1))
        assert chase(bundled, flow, who="service_desk") == 2
    assert [e["payload"]["count"] for e in flow.events("request_chased")] == [1, 2]  # the refusal left nothing


def test_the_interval_is_a_setting(bundled: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(complaint.INTERVAL_SETTING, "5")
    with clock.frozen(T0) as advance:
        flow = Flow(bundled, "service_desk")
        chase(bundled, flow)
        advance(4 * MINUTE)
        with pytest.raises(Conflict):
            chase(bundled, flow)
        advance(MINUTE)
        assert chase(bundled, flow) == 2
    monkeypatch.setenv(complaint.INTERVAL_SETTING, "0")
    assert chase(bundled, flow) == 3  # no limit
    assert complaint.chase_interval({}) == INTERVAL
    with pytest.raises(ValueError, match="OPSFLOW_CHASE_INTERVAL_MINUTES must be a whole number"):
        complaint.chase_interval({complaint.INTERVAL_SETTING: "half an hour"})


# --- the 3rd chase --------------------------------------------------------------------------------

def test_the_third_chase_starts_one_complaint_flow_linked_both_ways(bundled: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = Flow(bundled, "service_desk")
        for expected in (1, 2):
            assert chase(bundled, flow) == expected
            advance(INTERVAL)
        assert complaints_of(bundled, flow.id) == []
        assert chase(bundled, flow, note="第三次催了") == 3
        [complaint_id] = complaints_of(bundled, flow.id)
        advance(INTERVAL)
        assert chase(bundled, flow) == 4  # later chases are recorded, and start nothing more
    assert complaints_of(bundled, flow.id) == [complaint_id]
    [raised] = flow.events("complaint_raised")
    assert raised["payload"] == {"chases": 3, "complaint_instance_id": complaint_id}
    started = flow_of(bundled, complaint_id).events("instance_started")[0]
    assert started["payload"]["data"] == {"request_id": flow.id, "reason": "chases", "title": "投诉：HIS 无法登录",
                                          "summary": "第三次催了"}
    assert started["actor"] == "requester"
    with bundled.transaction() as session:
        row = session.scalars(select(Complaint)).one()
        assert (row.instance_id, row.request_instance_id, row.reason, row.raised_by) == (
            complaint_id, flow.id, "chases", "requester")
        assert session.get(ServiceCase, flow.id).is_complaint  # type: ignore[union-attr]
    assert flow_of(bundled, complaint_id).open_elements() == ["name_responsible"]
    verified(bundled, flow.id, complaint_id)


@pytest.mark.postgres
def test_racing_third_chases_start_exactly_one_complaint_flow(bundled: Database,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Both read two chases at once; the request's version check lets one count the 3rd (PostgreSQL: the other
    conflicts; SQLite queues writers, so the other counts the 4th); one complaint flow either way."""
    monkeypatch.setenv(complaint.INTERVAL_SETTING, "0")
    queued = bundled.engine.dialect.name == "sqlite"
    for _attempt in range(3):
        flow = Flow(bundled, "service_desk")
        chase(bundled, flow)
        chase(bundled, flow)
        barrier = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def attempt(who: str, flow: Flow = flow, barrier: threading.Barrier = barrier,
                    outcomes: dict[str, object] = outcomes) -> None:
            try:
                if queued:  # SQLite: a transaction takes the write lock at BEGIN, so both start together
                    barrier.wait(10)
                with bundled.transaction() as session:
                    actor = users.actor(session, who)
                    if not queued:
                        barrier.wait(10)
                    outcomes[who] = case.chase_request(session, instance_id=flow.id, actor=actor)
            except Conflict:
                outcomes[who] = "conflict"

        threads = [threading.Thread(target=attempt, args=(who,)) for who in ("requester", "service_desk")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(map(str, outcomes.values())) in (["3", "conflict"], ["3", "4"]), outcomes
        assert len(complaints_of(bundled, flow.id)) == 1
        assert len(flow.events("complaint_raised")) == 1
        with bundled.transaction() as session:
            assert session.scalar(select(func.count(Complaint.id))
                                  .where(Complaint.request_instance_id == flow.id)) == 1
        verified(bundled, flow.id)


# --- the complaint channel and category 投诉 --------------------------------------------------------

def test_a_request_raised_through_the_complaint_channel_is_a_complaint_from_the_start(bundled: Database) -> None:
    flow = Flow(bundled, "service_desk", {**REQUEST, "channel": "complaint"})
    [complaint_id] = complaints_of(bundled, flow.id)
    started = flow.events("instance_started")[0]
    assert started["payload"]["engine_data"][complaint.LINK_VARIABLE] == complaint_id
    assert flow_of(bundled, complaint_id).events("instance_started")[0]["payload"]["data"]["reason"] == "channel"
    assert flow.open_elements() == ["accept"]  # the request runs on as well
    with bundled.transaction() as session:
        assert session.get(ServiceCase, flow.id).is_complaint  # type: ignore[union-attr]
    verified(bundled, flow.id, complaint_id)
    # A later 3rd chase names the same complaint and starts no other.
    with clock.frozen(T0) as advance:
        for _ in range(3):
            chase(bundled, flow)
            advance(INTERVAL)
    assert complaints_of(bundled, flow.id) == [complaint_id]
    assert flow.events("complaint_raised")[0]["payload"]["complaint_instance_id"] == complaint_id
    verified(bundled, flow.id)


@pytest.mark.parametrize("process_id", ["service_desk", "third_party"])
def test_category_complaint_at_classification_starts_the_complaint_flow(bundled: Database, process_id: str) -> None:
    flow = Flow(bundled, process_id)
    flow.complete("accept", h.accept(), "service_desk")
    assert complaints_of(bundled, flow.id) == []
    flow.complete("classify", {**h.classify(), "category": "complaint"}, "service_desk")
    [complaint_id] = complaints_of(bundled, flow.id)
    [classified] = flow.events("task_completed")[1:]
    assert classified["payload"]["engine_data"][complaint.LINK_VARIABLE] == complaint_id
    assert flow_of(bundled, complaint_id).events("instance_started")[0]["payload"]["data"]["reason"] == "category"
    with bundled.transaction() as session:
        row = session.scalars(select(Complaint)).one()
        assert (row.raised_by, session.get(ServiceCase, flow.id).is_complaint) == (  # type: ignore[union-attr]
            "service_desk", True)
    verified(bundled, flow.id, complaint_id)


def test_other_categories_and_channels_start_nothing(bundled: Database) -> None:
    flow = Flow(bundled, "service_desk", {**REQUEST, "channel": "web"})
    flow.complete("accept", h.accept(), "service_desk")
    flow.complete("classify", h.classify(), "service_desk")
    assert complaints_of(bundled, flow.id) == []
    with bundled.transaction() as session:
        assert not session.get(ServiceCase, flow.id).is_complaint  # type: ignore[union-attr]


def test_a_complaint_flow_is_never_started_by_hand(bundled: Database) -> None:
    with pytest.raises(InvalidInput) as refused, bundled.transaction() as session:
        runtime.start_instance(session, process_id="complaint", actor=users.actor(session, "service_desk"),
                               data={"request_id": 1, "reason": "chases", "title": "投诉"})
    assert refused.value.reason == "complaint_not_by_hand"


def test_chasing_a_complaint_flow_three_times_starts_no_complaint_of_it(bundled: Database,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(complaint.INTERVAL_SETTING, "0")
    request = Flow(bundled, "service_desk", {**REQUEST, "channel": "complaint"})
    [complaint_id] = complaints_of(bundled, request.id)
    flow = flow_of(bundled, complaint_id)
    for _ in range(3):
        chase(bundled, flow)
    assert complaints_of(bundled, complaint_id) == [] and flow.events("complaint_raised") == []


# --- the first-responsible person and the records per person ----------------------------------------

def test_the_first_responsible_person_must_be_active_staff(bundled: Database, make_user) -> None:
    make_user("retired", "engineer")
    with bundled.transaction() as session:
        session.scalars(select(User).where(User.username == "retired")).one().is_active = False
    request = Flow(bundled, "service_desk", {**REQUEST, "channel": "complaint"})
    flow = flow_of(bundled, complaints_of(bundled, request.id)[0])
    for person in ("nobody", "retired", "requester", "auditor"):
        with pytest.raises(InvalidInput) as refused:
            flow.complete("name_responsible", h.complaint_responsible(person), "service_manager")
        assert refused.value.field_errors == {"first_responsible": [
            f"{person} is not an active member of the staff."]}
    assert flow.open_elements() == ["name_responsible"]
    flow.complete("name_responsible", h.complaint_responsible("project_manager"), "service_manager")
    with bundled.transaction() as session:
        choices = [name for name, _label in pickers.members(session, STAFF)]
    assert "project_manager" in choices and "engineer" in choices
    assert "requester" not in choices and "auditor" not in choices


def test_each_complaint_counts_once_per_person_and_role(bundled: Database, make_user) -> None:
    make_user("manager2", "service_manager")
    make_user("reporter", "service_manager")
    for first_responsible in ("engineer", "engineer"):
        request = Flow(bundled, "service_desk", {**REQUEST, "channel": "complaint"})
        flow = flow_of(bundled, complaints_of(bundled, request.id)[0])
        flow.complete("name_responsible", h.complaint_responsible(first_responsible), "service_manager")
        flow.complete("handle", h.complaint_handling(), "service_manager")
        flow.complete("callback", h.complaint_callback(satisfied=False), "service_desk")
        flow.complete("handle", h.complaint_handling(), "manager2")  # a second handler
        flow.complete("callback", h.complaint_callback(satisfied=True), "service_desk")
    with bundled.transaction() as session:
        counts = {(r["username"], r["role"]): r["complaints"]
                  for r in complaint.per_person(session, actor=users.actor(session, "reporter"))}
        assert session.scalar(select(func.count(ComplaintPerson.id))) == 6
        with pytest.raises(Forbidden, match="may not read the complaint records"):
            complaint.per_person(session, actor=users.actor(session, "engineer"))
    assert counts == {("engineer", "first_responsible"): 2, ("service_manager", "handler"): 2,
                      ("manager2", "handler"): 2}


# --- what the pages show ----------------------------------------------------------------------------

def test_chases_are_listed_for_the_service_desk_and_on_the_request(bundled: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = Flow(bundled, "service_desk")
        chase(bundled, flow, note="还没人联系我")
        advance(INTERVAL)
        chase(bundled, flow, who="service_desk", note="客户来电催促")
        closed = Flow(bundled, "service_desk")
    with bundled.transaction() as session:
        banner = complaint.chases_of(session, flow.id)
        desk = complaint.recent_chases(session, actor=users.actor(session, "service_desk"))
        engineer = complaint.recent_chases(session, actor=users.actor(session, "engineer"))
    assert [(c["number"], c["chased_by"], c["chased_at"], c["note"]) for c in banner] == [
        (2, "service_desk", T0 + INTERVAL, "客户来电催促"), (1, "requester", T0, "还没人联系我")]
    assert [(c["instance_id"], c["number"], c["chased_by"], c["note"]) for c in desk] == [
        (flow.id, 2, "service_desk", "客户来电催促"), (flow.id, 1, "requester", "还没人联系我")]
    assert desk[0]["title"] == "HIS 无法登录" and closed.id not in [c["instance_id"] for c in desk]
    assert engineer == []


@pytest.mark.parametrize(("groups", "sees_chases", "may_be_named"), [
    ({"service_desk"}, True, True), ({"service_manager"}, True, True), ({"auditor"}, True, False),
    ({"engineer"}, False, True), ({"requester"}, False, False), ({"user_admin"}, False, False),
])
def test_who_sees_chases_and_who_may_be_named(groups: set[str], sees_chases: bool, may_be_named: bool) -> None:
    actor = users.Actor("someone", frozenset(groups))
    assert (access.may_see_chases(actor), access.is_staff(actor)) == (sees_chases, may_be_named)
