"""Runtime rules: who may act, what a completion records, conflicts, and all-or-nothing steps."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import clock, users
from engine.desk import case, complaint, tasks
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcessFailed, TaskTaken
from engine.process import definitions, runtime
from engine.store.db import Database
from engine.store.models import HistoryEvent, ProcessInstance, ServiceCase, TaskRecord
from tests.support.flows import Flow

MINI = (Path(__file__).parent / "diagrams" / "mini.bpmn").read_bytes()
COMPLAINT = (Path(__file__).parents[2] / "bpmn" / "complaint.bpmn").read_bytes()
FIXED = {"resolved": True, "method": "remote", "actions": "远程重启服务"}


@pytest.fixture
def mini(db: Database, make_user) -> Database:
    make_user("requester", "requester")
    make_user("other_requester", "requester")
    make_user("eng", "engineer")
    make_user("eng2", "engineer")
    make_user("boss", "service_manager", "engineer")
    make_user("audit", "auditor")
    with db.transaction() as session:
        definitions.deploy(session, [definitions.SourceFile("mini.bpmn", MINI)])
    return db


def actor(db: Database, name: str) -> users.Actor:
    with db.transaction() as session:
        return users.actor(session, name)


def test_start_validates_the_start_form(mini: Database) -> None:
    with pytest.raises(InvalidInput) as info, mini.transaction() as session:
        runtime.start_instance(session, process_id="mini", data={"channel": "pigeon"},
                               actor=users.actor(session, "requester"))
    assert "channel" in info.value.field_errors and "title" in info.value.field_errors
    with mini.transaction() as session:
        assert session.scalar(select(func.count(ProcessInstance.id))) == 0


def test_unknown_process_and_task_are_not_found(mini: Database) -> None:
    with pytest.raises(NotFound), mini.transaction() as session:
        runtime.start_instance(session, process_id="nope", data={}, actor=users.actor(session, "requester"))
    with pytest.raises(NotFound), mini.transaction() as session:
        runtime.complete_task(session, task_id=999, data={}, actor=users.actor(session, "eng"))


def test_completion_is_recorded_with_who_and_data(mini: Database) -> None:
    flow = Flow(mini, "mini")
    flow.complete("remote_fix", FIXED, "eng")
    completed = flow.events("task_completed")[0]
    assert completed["actor"] == "eng" and completed["payload"]["data"] == FIXED
    assert flow.gateways() == [("gw_resolved", ["satisfaction"])]
    # The callback goes to whoever raised the request, not to any requester.
    assert flow.open_tasks()[0]["assignee"] == "requester"


def test_only_the_tasks_group_may_complete_it(mini: Database) -> None:
    flow = Flow(mini, "mini")
    task_id = flow.task_id("remote_fix")
    for outsider in ("requester", "audit"):
        with pytest.raises(Forbidden, match="for group engineer"), mini.transaction() as session:
            runtime.complete_task(session, task_id=task_id, data=FIXED, actor=users.actor(session, outsider))
    flow.complete("remote_fix", FIXED, "eng")
    # Another customer's call: refused without a word on whose it is.
    with pytest.raises(Forbidden, match="belongs to a request someone else raised") as refused, \
            mini.transaction() as session:
        runtime.complete_task(session, task_id=flow.task_id("satisfaction"),
                              data={"score": 5, "remaining_problem": False},
                              actor=users.actor(session, "other_requester"))
    assert "assigned to" not in str(refused.value) and "满意度回访" not in str(refused.value)


def test_claim_release_and_assign(mini: Database) -> None:
    flow = Flow(mini, "mini")
    task_id = flow.task_id("remote_fix")
    with mini.transaction() as session:
        runtime.claim_task(session, task_id=task_id, actor=users.actor(session, "eng"))
    with pytest.raises(Conflict, match="already claimed by eng"), mini.transaction() as session:
        runtime.claim_task(session, task_id=task_id, actor=users.actor(session, "eng2"))
    # A colleague's claim is a conflict naming who holds the task (409), not a lack of rights.
    with pytest.raises(TaskTaken, match="assigned to eng") as taken, mini.transaction() as session:
        runtime.complete_task(session, task_id=task_id, data=FIXED, actor=users.actor(session, "eng2"))
    assert (taken.value.status, taken.value.assignee, taken.value.to_dict()["assignee"]) == (409, "eng", "eng")
    with mini.transaction() as session:
        runtime.release_task(session, task_id=task_id, actor=users.actor(session, "eng"))
    with pytest.raises(Forbidden, match="only managers"), mini.transaction() as session:
        runtime.assign_task(session, task_id=task_id, assignee=users.actor(session, "eng2"),
                            actor=users.actor(session, "eng"))
    with mini.transaction() as session:
        runtime.assign_task(session, task_id=task_id, assignee=users.actor(session, "eng2"),
                            actor=users.actor(session, "boss"))
    with mini.transaction() as session:
        mine = tasks.list_tasks(session, user="eng2")
    assert [t["id"] for t in mine] == [task_id]
    flow.complete("remote_fix", FIXED, "eng2")
    kinds = [e["kind"] for e in flow.events() if e["kind"].startswith("task_")]
    assert kinds[:5] == ["task_ready", "task_claimed", "task_released", "task_assigned", "task_completed"]


def test_bad_form_data_is_refused_and_nothing_changes(mini: Database) -> None:
    flow = Flow(mini, "mini")
    before = flow.view()
    with pytest.raises(InvalidInput) as info:
        flow.complete("remote_fix", {"resolved": "maybe", "method": "telepathy"}, "eng")
    assert {"resolved", "method", "actions"} <= set(info.value.field_errors)
    assert flow.view() == before


def test_a_completed_task_cannot_be_completed_again(mini: Database) -> None:
    flow = Flow(mini, "mini")
    task_id = flow.task_id("remote_fix")
    flow.complete("remote_fix", FIXED, "eng")
    with pytest.raises(Conflict, match="already completed by eng"), mini.transaction() as session:
        runtime.complete_task(session, task_id=task_id, data=FIXED, actor=users.actor(session, "eng2"))


def test_a_failing_step_rolls_back_completely(mini: Database) -> None:
    # Both flows conditional and neither true for resolved=False: SpiffWorkflow cannot leave the gateway.
    stuck = MINI.replace(b' default="flow_retry"', b"").replace(
        b'<bpmn:sequenceFlow id="flow_retry" sourceRef="gw_resolved" targetRef="remote_fix"/>',
        b'<bpmn:sequenceFlow id="flow_retry" sourceRef="gw_resolved" targetRef="remote_fix">'
        b'<bpmn:conditionExpression>resolved == None</bpmn:conditionExpression></bpmn:sequenceFlow>')
    with mini.transaction() as session:
        definitions.deploy(session, [definitions.SourceFile("mini.bpmn", stuck)])
    flow = Flow(mini, "mini")
    before = flow.view()
    with pytest.raises(ProcessFailed) as info:
        flow.complete("remote_fix", {**FIXED, "resolved": False}, "eng")
    assert info.value.element_id == "gw_resolved"
    assert flow.view() == before
    # The cache must not keep the half-run workflow: the same task still completes correctly.
    flow.complete("remote_fix", FIXED, "eng")
    assert flow.open_elements() == ["satisfaction"]


def test_a_stale_workflow_in_another_process_is_not_used(mini: Database) -> None:
    """Two app processes: the second saw version N; after the first moves on, it must reload."""
    from engine.process import persistence
    flow = Flow(mini, "mini")
    stale_cache = persistence.WorkflowCache()
    with mini.transaction() as session:
        instance = session.get(ProcessInstance, flow.id)
        parsed = definitions.parsed(instance.definition)
        stale_cache.checkin(flow.id, instance.lock_version, persistence.load(instance.workflow_state, parsed))
    flow.complete("remote_fix", FIXED, "eng")
    with mini.transaction() as session:
        instance = session.get(ProcessInstance, flow.id)
        assert stale_cache.checkout(flow.id, instance.lock_version) is None


def race(db: Database, task_id: int, act) -> list[str]:  # type: ignore[no-untyped-def]
    """`act(session, task_id, actor)` by two engineers at the same moment; who won (a Conflict is a loss)."""
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def attempt(name: str) -> None:
        try:
            with db.transaction() as session:
                who = users.actor(session, name)
                assert session.get(TaskRecord, task_id) is not None  # both read the task as ready
                barrier.wait()
                act(session, task_id, who)
            outcomes[name] = "won"
        except Conflict:
            outcomes[name] = "refused"

    threads = [threading.Thread(target=attempt, args=(name,)) for name in ("eng", "eng2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values()) == ["refused", "won"], outcomes
    return [name for name, outcome in outcomes.items() if outcome == "won"]


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # SQLite serializes writers: no real race
def test_two_threads_complete_the_same_task_one_wins(mini: Database) -> None:
    for _attempt in range(5):
        flow = Flow(mini, "mini")
        race(mini, flow.task_id("remote_fix"),
             lambda session, task_id, who: runtime.complete_task(session, task_id=task_id, data=FIXED, actor=who))
        with mini.transaction() as session:
            completions = session.scalar(select(func.count(HistoryEvent.id)).where(
                HistoryEvent.instance_id == flow.id, HistoryEvent.kind == "task_completed"))
        assert completions == 1
        assert flow.open_elements() == ["satisfaction"]

def test_the_third_chase_makes_a_complaint(mini: Database) -> None:
    with mini.transaction() as session:  # the 3rd chase starts it (tests/engine/test_chases_and_complaints.py)
        definitions.deploy(session, [definitions.SourceFile("complaint.bpmn", COMPLAINT)])
    flow = Flow(mini, "mini")
    counts = []
    with clock.frozen(clock.now()) as advance:
        for _ in range(3):
            with mini.transaction() as session:
                counts.append(case.chase_request(session, instance_id=flow.id,
                                                 actor=users.actor(session, "requester"), note="还没修好"))
            advance(complaint.chase_interval())  # one chase per interval
    assert counts == [1, 2, 3]
    with pytest.raises(Forbidden), mini.transaction() as session:
        case.chase_request(session, instance_id=flow.id, actor=users.actor(session, "other_requester"))
    assert [e["payload"]["count"] for e in flow.events("request_chased")] == [1, 2, 3]
    assert len(flow.events("complaint_raised")) == 1
    with mini.transaction() as session:
        instance = session.get(ServiceCase, flow.id)
        assert (instance.chase_count, instance.is_complaint) == (3, True)
    flow.complete("remote_fix", FIXED, "eng")  # the workflow is untouched by chasing
    assert flow.open_elements() == ["satisfaction"]


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_two_threads_claim_the_same_task_one_wins(mini: Database) -> None:
    for _attempt in range(10):
        flow = Flow(mini, "mini")
        winners = race(mini, flow.task_id("remote_fix"),
                       lambda session, task_id, who: runtime.claim_task(session, task_id=task_id, actor=who))
        assert [t["assignee"] for t in flow.open_tasks()] == winners
        assert len(flow.events("task_claimed")) == 1
