"""事件分类 routes on its data (issue 11 item 1): the service desk answers 咨询 and simple service requests itself,
hands a level I fault to 应急服务, a vendor's case to 第三方服务 and out-of-scope work to 其他服务 (linked
requests, in both histories); 服务升级 picks the group of 服务支持; 派发现场服务单 names the engineer (a member
of the engineer group) who gets 现场服务."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import users
from engine.audit import verification as audit
from engine.desk import handover
from engine.errors import Forbidden, InvalidInput, TaskTaken
from engine.process import runtime
from engine.store.db import Database
from engine.store.models import ProcessInstance
from tests.bpmn import helpers as h
from tests.bpmn.helpers import Step
from tests.support.flows import Flow

ACCEPT = Step("accept", h.accept(), "service_desk")
SATISFIED = Step("satisfaction", h.satisfaction(remaining_problem=False), "service_desk")
NO_REMAINING = ("gw_remaining_problem", ["end_done"])
ANSWERED = Step("first_line_answer", h.first_line_answer(), "service_desk")
FIXED_REMOTELY = Step("remote_fix", h.resolution(resolved=True), "engineer")

FIRST_LINE = {
    # 咨询: the service desk answers it and calls back; no engineer is involved.
    "consultation": (
        [Step("classify", h.classify(category="consultation", fault_level="IV"), "service_desk"), ANSWERED],
        [("gw_triage", ["first_line_answer"]), ("gw_first_line_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    "simple_service_request": (
        [Step("classify", h.classify(category="service_request", fault_level="IV", simple_request=True),
              "service_desk"), ANSWERED],
        [("gw_triage", ["first_line_answer"]), ("gw_first_line_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    # A service request that is not simple goes to the engineers.
    "service_request_for_engineers": (
        [Step("classify", h.classify(category="service_request", fault_level="IV"), "service_desk"), FIXED_REMOTELY],
        [("gw_triage", ["remote_fix"]), ("gw_remote_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    # What the desk could not answer is never closed as answered: it goes on to the engineers.
    "first_line_not_resolved": (
        [Step("classify", h.classify(category="consultation", fault_level="IV"), "service_desk"),
         Step("first_line_answer", h.first_line_answer(resolved=False), "service_desk"), FIXED_REMOTELY],
        [("gw_triage", ["first_line_answer"]), ("gw_first_line_resolved", ["remote_fix"]),
         ("gw_remote_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    # A level II fault is the engineers' as before.
    "level_ii_fault": (
        [Step("classify", h.classify(), "service_desk"), FIXED_REMOTELY],
        [("gw_triage", ["remote_fix"]), ("gw_remote_resolved", ["satisfaction"]), NO_REMAINING],
    ),
}


@pytest.mark.parametrize(("handling", "gateways"), FIRST_LINE.values(), ids=FIRST_LINE.keys())
def test_the_service_desk_flow(bundled: Database, handling: list[Step], gateways: list[tuple[str, list[str]]]) -> None:
    steps = [ACCEPT, *handling, SATISFIED]
    flow = Flow(bundled, "service_desk", h.request(), user="requester")
    flow.allow_closing()
    h.drive(flow, steps)
    assert flow.gateways() == gateways
    h.assert_history(flow, steps, end_event="end_done")
    h.assert_resolved(flow)


def _handed_over(db: Database, flow: Flow, end_event: str, process_id: str) -> Flow:
    """The service desk's request ended at the hand-over and names the new request, which names it back."""
    events = flow.events()
    assert [e["kind"] for e in events[-2:]] == ["instance_ended", handover.HANDED_OVER]
    assert events[-2]["element_id"] == end_event and flow.status() == "completed"
    link = events[-1]["payload"]
    assert (link["process_id"], link["end_element"]) == (process_id, end_event)
    assert events[-1]["actor"] == "service_desk"
    linked = Flow.__new__(Flow)
    linked.db, linked.id = db, link["instance_id"]
    view = linked.view()
    assert (view["process_id"], view["started_by"], view["status"]) == (process_id, "requester", "running")
    [started] = linked.events("instance_started")
    assert started["payload"]["data"] == h.request()  # the request form as the customer filled it in
    assert started["payload"]["engine_data"][handover.LINK_VARIABLE] == {
        "process_id": "service_desk", "instance_id": flow.id, "by": "service_desk"}
    with db.transaction() as session:
        assert handover.linked(session, flow.id) == {"to": {"process_id": process_id, "instance_id": linked.id}}
        assert handover.linked(session, linked.id) == {"from": {"process_id": "service_desk", "instance_id": flow.id}}
        for instance_id in (flow.id, linked.id):
            verdict = audit.verify_instance(session, instance_id)
            assert verdict.ok, verdict.first_divergence
    return linked


def test_a_level_i_fault_goes_on_as_an_emergency(bundled: Database) -> None:
    flow = Flow(bundled, "service_desk", h.request(), user="requester")
    h.drive(flow, [ACCEPT, Step("classify", h.classify(fault_level="I"), "service_desk")])
    assert flow.gateways() == [("gw_triage", ["end_to_emergency"])]
    emergency = _handed_over(bundled, flow, "end_to_emergency", "emergency")
    assert emergency.open_elements() == ["accept"]


def test_a_case_for_a_vendor_goes_straight_to_the_vendor_in_third_party_service(bundled: Database) -> None:
    flow = Flow(bundled, "service_desk", h.request(), user="requester")
    h.drive(flow, [ACCEPT, Step("classify", h.classify(needs_third_party=True, fault_level="I"), "service_desk")])
    assert flow.gateways() == [("gw_triage", ["end_to_third_party"])]
    vendor = _handed_over(bundled, flow, "end_to_third_party", "third_party")
    vendor.allow_closing()
    # Accepted and classified already: no second 受理 or 事件分类.
    steps = [Step("contact_vendor", h.contact_vendor(), "service_desk"),
             Step("vendor_onsite", h.resolution(resolved=True, method="vendor"), "vendor"), SATISFIED]
    h.drive(vendor, steps)
    assert vendor.gateways() == [("gw_handed_over", ["contact_vendor"]), ("gw_vendor_resolved", ["satisfaction"]),
                                 NO_REMAINING]
    assert vendor.status() == "completed"


@pytest.mark.parametrize("flags", [{"out_of_scope": True},
                                   # Scope comes first, whatever else the desk answered: permission before work.
                                   {"out_of_scope": True, "needs_third_party": True}])
def test_out_of_scope_work_goes_to_other_services_which_asks_permission_first(bundled: Database,
                                                                              flags: dict[str, bool]) -> None:
    flow = Flow(bundled, "service_desk", h.request(), user="requester")
    h.drive(flow, [ACCEPT, Step("classify", h.classify(fault_level="I", **flags), "service_desk")])
    assert flow.gateways() == [("gw_triage", ["end_to_other_service"])]
    other = _handed_over(bundled, flow, "end_to_other_service", "other_service")
    h.drive(other, [Step("record_analyse", h.record_analyse(), "service_desk"),
                    Step("onsite_check", h.onsite_check(), "engineer"),
                    Step("feasible_plan", h.feasible_plan(), "engineer"),
                    Step("ask_permission", h.ask_permission(), "project_manager")])
    # The customer who raised the request at the service desk is the one asked.
    [permission] = other.open_tasks()
    assert (permission["element_id"], permission["assignee"]) == ("customer_permission", "requester")


@pytest.mark.parametrize("group", ["service_manager", "vendor", "engineer"])
def test_expert_support_goes_to_the_group_chosen_at_escalation(bundled: Database, group: str) -> None:
    flow = Flow(bundled, "service_desk", h.request(), user="requester")
    flow.allow_closing()
    steps = [ACCEPT, Step("classify", h.classify(), "service_desk"),
             Step("remote_fix", h.resolution(resolved=False), "engineer"),
             Step("dispatch_onsite", h.dispatch_onsite(), "service_desk"),
             Step("onsite_fix", h.onsite_resolution(resolved=False), "engineer", "engineer"),
             Step("escalate", h.escalate(group), "service_manager"),
             Step("expert_support", h.resolution(resolved=True), group), SATISFIED]
    h.drive(flow, steps)
    assert flow.status() == "completed"
    ready = [e for e in flow.events("task_ready") if e["element_id"] == "expert_support"]
    assert [e["payload"]["group"] for e in ready] == [group]
    with bundled.transaction() as session:
        verdict = audit.verify_instance(session, flow.id)
    assert verdict.ok, verdict.first_divergence


def _at_dispatch(db: Database) -> Flow:
    flow = Flow(db, "service_desk", h.request(), user="requester")
    h.drive(flow, [ACCEPT, Step("classify", h.classify(), "service_desk"),
                   Step("remote_fix", h.resolution(resolved=False), "engineer")])
    return flow


@pytest.mark.parametrize("named", ["service_manager",  # a user, not of the engineer group
                                   "nobody",  # no such user
                                   "retired_engineer"])  # an engineer no longer active
def test_dispatch_refuses_anyone_but_an_active_engineer(bundled: Database, named: str) -> None:
    with bundled.transaction() as session:
        users.create_user(session, username="retired_engineer", password="pw", groups=["engineer"])
        users.get_user(session, "retired_engineer").is_active = False
    flow = _at_dispatch(bundled)
    with pytest.raises(InvalidInput) as refused:
        flow.complete("dispatch_onsite", h.dispatch_onsite(named), "service_desk")
    assert list(refused.value.field_errors) == ["engineer"]
    assert named in refused.value.field_errors["engineer"][0]
    assert flow.open_elements() == ["dispatch_onsite"]  # nothing saved


def test_dispatch_assigns_the_on_site_task_to_the_engineer_named(bundled: Database, make_user) -> None:
    make_user("wang_engineer", "engineer")
    flow = _at_dispatch(bundled)
    flow.complete("dispatch_onsite", h.dispatch_onsite("wang_engineer"), "service_desk")
    [onsite] = flow.open_tasks()
    assert (onsite["element_id"], onsite["group"], onsite["assignee"]) == ("onsite_fix", "engineer", "wang_engineer")
    # Their colleague sees it taken, the named engineer works it.
    with pytest.raises(TaskTaken):
        flow.complete("onsite_fix", h.onsite_resolution(resolved=True), "engineer")
    flow.complete("onsite_fix", h.onsite_resolution(resolved=True), "wang_engineer")
    assert flow.open_elements() == ["satisfaction"]


def test_the_service_desk_assigns_its_own_groups_tasks_but_not_the_engineers(bundled: Database, make_user) -> None:
    make_user("desk_colleague", "service_desk")
    flow = Flow(bundled, "service_desk", h.request(), user="requester")
    with bundled.transaction() as session, pytest.raises(InvalidInput, match="not in group service_desk"):
        runtime.assign_task(session, task_id=flow.task_id("accept"), assignee=users.actor(session, "engineer"),
                            actor=users.actor(session, "service_desk"))
    with bundled.transaction() as session:
        runtime.assign_task(session, task_id=flow.task_id("accept"), assignee=users.actor(session, "desk_colleague"),
                            actor=users.actor(session, "service_desk"))
    assert flow.open_tasks()[0]["assignee"] == "desk_colleague"
    assert flow.events()[-1]["kind"] == "task_assigned" and flow.events()[-1]["actor"] == "service_desk"
    flow.complete("accept", h.accept(), "desk_colleague")
    flow.complete("classify", h.classify(), "service_desk")
    # The engineers' work is handed out by 派发 (the engineer it names), not by assigning it over their heads.
    with bundled.transaction() as session, pytest.raises(Forbidden):
        runtime.assign_task(session, task_id=flow.task_id("remote_fix"), assignee=users.actor(session, "engineer"),
                            actor=users.actor(session, "service_desk"))
    # Nor does anyone else in the group but the desk (or a manager) assign.
    with bundled.transaction() as session, pytest.raises(Forbidden):
        runtime.assign_task(session, task_id=flow.task_id("remote_fix"), assignee=users.actor(session, "engineer"),
                            actor=users.actor(session, "engineer"))


def test_a_hand_over_names_no_request_it_did_not_start(bundled: Database) -> None:
    """Only the service desk's own routing starts linked requests: a plain 第三方服务 request has no link."""
    flow = Flow(bundled, "third_party", h.request(), user="requester")
    assert flow.open_elements() == ["accept"]
    with bundled.transaction() as session:
        assert handover.linked(session, flow.id) == {}
        assert session.scalars(select(ProcessInstance.id)).all() == [flow.id]
