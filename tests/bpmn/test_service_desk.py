"""服务台及现场服务 (service_desk.bpmn): every branch of the spec, driven through the engine by element id."""
from __future__ import annotations

import json

import pytest

from engine.audit import verification as audit
from engine.errors import Forbidden
from engine.process import persistence
from engine.store.db import Database
from engine.store.models import ProcessInstance
from tests.bpmn import helpers as h
from tests.bpmn.helpers import Step
from tests.support.flows import Flow

INTAKE = [
    Step("accept", h.accept(), "service_desk"),
    Step("classify", h.classify(), "service_desk"),
]
DISPATCH = Step("dispatch_onsite", h.dispatch_onsite(), "service_desk")
# 满意度回访 is the service desk's call (the requester may answer it in the portal: tests/bpmn/test_callback.py).
SATISFIED = Step("satisfaction", h.satisfaction(remaining_problem=False), "service_desk")
STILL_A_PROBLEM = Step("satisfaction", h.satisfaction(remaining_problem=True), "service_desk")
TO_ENGINEERS = ("gw_triage", ["remote_fix"])
FOLLOW_UP = [
    Step("root_cause", h.root_cause(), "service_manager"),
    Step("expert_support_followup", h.resolution(resolved=True), "engineer"),
]
NO_REMAINING = ("gw_remaining_problem", ["end_done"])
REMAINING = ("gw_remaining_problem", ["root_cause"])
FOLLOW_UP_RESOLVED = ("gw_followup_resolved", ["satisfaction"])
# 派发 names the engineer: the on-site task is assigned to them.
ONSITE_FAILED = [Step("remote_fix", h.resolution(resolved=False), "engineer"), DISPATCH,
                 Step("onsite_fix", h.onsite_resolution(resolved=False), "engineer", "engineer")]
ESCALATE = Step("escalate", h.escalate(), "service_manager")

BRANCHES = {
    "remote_fix": (
        [*INTAKE, Step("remote_fix", h.resolution(resolved=True), "engineer"), SATISFIED],
        [TO_ENGINEERS, ("gw_remote_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    "onsite_fix": (
        [*INTAKE, Step("remote_fix", h.resolution(resolved=False), "engineer"), DISPATCH,
         Step("onsite_fix", h.onsite_resolution(resolved=True), "engineer", "engineer"), SATISFIED],
        [TO_ENGINEERS,
         ("gw_remote_resolved", ["dispatch_onsite"]), ("gw_onsite_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    "escalated": (
        [*INTAKE, *ONSITE_FAILED, ESCALATE, Step("expert_support", h.resolution(resolved=True), "engineer"), SATISFIED],
        [TO_ENGINEERS, ("gw_remote_resolved", ["dispatch_onsite"]), ("gw_onsite_resolved", ["escalate"]),
         ("gw_expert_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    # 服务支持 answered 未解决 goes back to 服务升级, never on to the callback.
    "expert_support_fails_then_escalated_again": (
        [*INTAKE, *ONSITE_FAILED, ESCALATE, Step("expert_support", h.resolution(resolved=False), "engineer"),
         ESCALATE, Step("expert_support", h.resolution(resolved=True), "engineer"), SATISFIED],
        [TO_ENGINEERS, ("gw_remote_resolved", ["dispatch_onsite"]), ("gw_onsite_resolved", ["escalate"]),
         ("gw_expert_resolved", ["escalate"]), ("gw_expert_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    "remaining_problem_twice": (
        [*INTAKE, Step("remote_fix", h.resolution(resolved=True), "engineer"),
         STILL_A_PROBLEM, *FOLLOW_UP, STILL_A_PROBLEM, *FOLLOW_UP, SATISFIED],
        [TO_ENGINEERS,
         ("gw_remote_resolved", ["satisfaction"]), REMAINING, FOLLOW_UP_RESOLVED, REMAINING, FOLLOW_UP_RESOLVED,
         NO_REMAINING],
    ),
    # The follow-up 服务支持 answered 未解决 goes back to the investigation, not to the callback.
    "remaining_problem_followup_fails_once": (
        [*INTAKE, Step("remote_fix", h.resolution(resolved=True), "engineer"), STILL_A_PROBLEM,
         FOLLOW_UP[0], Step("expert_support_followup", h.resolution(resolved=False), "engineer"), *FOLLOW_UP,
         SATISFIED],
        [TO_ENGINEERS, ("gw_remote_resolved", ["satisfaction"]), REMAINING, ("gw_followup_resolved", ["root_cause"]),
         FOLLOW_UP_RESOLVED, NO_REMAINING],
    ),
}


@pytest.mark.parametrize(("steps", "gateways"), BRANCHES.values(), ids=BRANCHES.keys())
def test_branch(bundled: Database, steps: list[Step], gateways: list[tuple[str, list[str]]]) -> None:
    flow = Flow(bundled, "service_desk", h.request(), user="requester")
    flow.allow_closing()
    h.drive(flow, steps)
    assert flow.completed_path() == [s.element_id for s in steps]
    assert flow.gateways() == gateways
    assert flow.status() == "completed"
    h.assert_history(flow, steps, end_event="end_done")
    h.assert_resolved(flow)


def test_the_callback_is_the_service_desks_and_only_its_own_requester_may_answer_it(bundled: Database,
                                                                                   make_user) -> None:
    """满意度回访 is the service desk's call (seed 000: 服务台 calls the user back); whoever raised the request
    may answer it themselves; another customer may not, and learns nothing of whose it is."""
    make_user("another_requester", "requester")
    flow = Flow(bundled, "service_desk", h.request(), user="requester")
    flow.allow_closing()
    steps = [*INTAKE, Step("remote_fix", h.resolution(resolved=True), "engineer")]
    h.drive(flow, steps)
    [callback] = flow.open_tasks()
    assert (callback["element_id"], callback["group"], callback["assignee"]) == ("satisfaction", "service_desk",
                                                                                None)
    with pytest.raises(Forbidden) as refused:
        flow.complete("satisfaction", h.satisfaction(remaining_problem=False), "another_requester")
    assert "assigned to" not in str(refused.value) and "raised by" not in str(refused.value)
    with pytest.raises(Forbidden):
        flow.complete("satisfaction", h.satisfaction(remaining_problem=False), "engineer")
    assert flow.open_elements() == ["satisfaction"]
    h.assert_history(flow, steps, end_event=None)
    flow.complete("satisfaction", h.satisfaction(remaining_problem=False), "requester")
    assert flow.status() == "completed"
    assert flow.events("task_completed")[-1]["actor"] == "requester"


def test_a_long_loop_is_compacted_and_still_runs_replays_and_verifies(bundled: Database) -> None:
    """60 turns of the 遗留问题 loop: the saved tree stays bounded (engine.process.persistence.compact), the
    instance behaves exactly as without compaction, and the audit re-executes it to the same state."""
    # 64: with the callback's closing timer a turn keeps more tasks, and the count must end shortly after the
    # second compaction (60 would stop just before it); it still runs well past the first.
    turns = 64
    steps = [*INTAKE, Step("remote_fix", h.resolution(resolved=True), "engineer"),
             *([STILL_A_PROBLEM, *FOLLOW_UP] * turns), SATISFIED]
    flow = Flow(bundled, "service_desk", h.request(), user="requester")
    flow.allow_closing()
    sizes = []
    for index, step in enumerate(steps):
        flow.complete(step.element_id, step.data, step.user)
        if index % 30 == 0 or index == len(steps) - 2:
            with bundled.transaction() as session:
                state = session.get(ProcessInstance, flow.id).workflow_state
            sizes.append(len(json.loads(state)["tasks"]))
            persistence.workflow_cache.clear()  # the next step loads the compacted state from the database
    # Uncompacted, the tree would grow by every turn's tasks; compaction drops it to ~20 past 256 finished.
    assert max(sizes) < 300 and sizes[-1] < 100, sizes
    assert flow.status() == "completed"
    assert flow.completed_path() == [s.element_id for s in steps]
    assert flow.gateways()[-1] == NO_REMAINING and flow.gateways().count(REMAINING) == turns
    h.assert_history(flow, steps, end_event="end_done")
    with bundled.transaction() as session:
        verdict = audit.verify_instance(session, flow.id)
        last = audit.replay_steps(session, flow.id)[-1]
    assert verdict.ok, verdict.first_divergence
    assert last["status"] == "completed" and {"accept", "classify", "remote_fix"} <= set(last["completed"])
