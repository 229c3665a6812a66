"""engine.access: who may see and work which task, the requester's own tasks, and the SQL form of the rules.

Requesters are customers of different organisations. Their tasks (满意度回访, 允许?, 验证; assignee
${initiator}) belong to whoever raised the request: never to the requester group, whatever a release
or claim once wrote into the assignee column.
"""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from engine import access, users
from engine.desk import case, inbox, sla, tasks
from engine.errors import Forbidden, InvalidInput, TaskTaken
from engine.process import definitions, runtime
from engine.store.db import Database
from engine.store.models import HistoryEvent, ProcessInstance, TaskRecord
from tests.support.flows import Flow

DIAGRAMS = Path(__file__).parent / "diagrams"
FIXED = {"resolved": True, "method": "remote", "actions": "远程重启服务"}
ANSWER = {"score": 5, "remaining_problem": False}

ENGINEER = users.Actor("eng", frozenset({"engineer"}))
AUDITOR = users.Actor("audit", frozenset({"auditor"}))
REQUESTER = users.Actor("req", frozenset({"requester"}))


def test_the_policy_stands_apart_from_the_desk_and_the_web() -> None:
    """engine.access is the core's and the desk's alike (and the coming API's): it imports neither."""
    source = Path(access.__file__).read_text(encoding="utf-8")
    imported = set(re.findall(r"^(?:from|import) ([\w.]+)", source, re.M))
    assert not {name for name in imported if name.startswith(("engine.desk", "engine.process", "flask", "app"))}


@pytest.mark.parametrize("group, assignee, started_by, actor, visible", [
    ("engineer", None, "req", ENGINEER, True),          # open to my group
    ("engineer", "eng", "req", ENGINEER, True),         # mine
    ("engineer", "eng2", "req", ENGINEER, True),        # a colleague's claim: readable, not workable
    ("service_desk", None, "req", ENGINEER, False),     # another group's
    ("service_desk", "eng", "req", ENGINEER, True),     # assigned to me across groups
    ("requester", "req", "req", REQUESTER, True),       # my own satisfaction call
    ("requester", "someone", "someone", REQUESTER, False),  # another requester's: private
    ("service_desk", "x", "req", AUDITOR, True),        # auditors read everything
    ("requester", None, "someone", REQUESTER, False),   # another's call a release emptied: still private
    ("requester", "req", "someone", REQUESTER, False),  # … and claimed by me then: still not mine
    ("requester", None, "req", REQUESTER, True),        # my own call a release emptied: still mine
    ("requester", "someone", "req", REQUESTER, True),   # … even if another customer claimed it
    (None, None, "eng", ENGINEER, True),                # no group nor assignee: whoever raised the request
    (None, None, "req", ENGINEER, False),               # … and nobody else
    (None, "eng", "req", ENGINEER, True),               # no group, assigned to me
])
def test_who_may_see_a_task(group: str | None, assignee: str | None, started_by: str, actor: users.Actor,
                            visible: bool) -> None:
    task = SimpleNamespace(candidate_group=group, assignee=assignee, started_by=started_by)
    assert access.may_see_task(task, actor) is visible


@pytest.mark.parametrize("group, assignee, started_by, actor, workable", [
    ("engineer", None, "req", ENGINEER, True),
    ("engineer", "eng", "req", ENGINEER, True),
    ("engineer", "eng2", "req", ENGINEER, False),       # a colleague holds it
    ("service_desk", None, "req", ENGINEER, False),
    ("requester", "req", "req", REQUESTER, True),
    ("requester", None, "someone", REQUESTER, False),   # the released call of another customer
    ("requester", "req", "someone", REQUESTER, False),
    ("requester", "someone", "req", REQUESTER, True),   # mine, whoever claimed it
    ("requester", None, None, REQUESTER, False),        # nobody raised it: nobody's
    ("engineer", None, "req", users.Actor("a", frozenset({"auditor", "engineer"})), False),  # auditors never act
    (None, None, "eng", ENGINEER, True),
    (None, None, "req", ENGINEER, False),
])
def test_who_may_work_a_task(group: str | None, assignee: str | None, started_by: str | None, actor: users.Actor,
                             workable: bool) -> None:
    task = SimpleNamespace(candidate_group=group, assignee=assignee, started_by=started_by)
    assert access.may_work_task(task, actor) is workable


MANAGERS = {"service_manager", "resident_manager", "project_manager", "general_manager"}
# Each rule of the whole, by group: who may (everyone else may not).
WHO_MAY = {
    "start": set(users.GROUPS) - {"auditor"},
    "use_inbox": set(users.GROUPS) - {"requester"},
    "read_sla": MANAGERS | {"service_desk", "process_owner", "auditor"},
    "change_fault_level": {"service_desk", "service_manager", "project_manager", "resident_manager"},
    "edit_sla_policy": {"process_owner"},
    "read_diagrams": {"process_owner", "auditor"},
    "change_diagrams": {"process_owner"},
    "audit": MANAGERS | {"process_owner", "auditor"},
    "list_users": MANAGERS | {"process_owner", "auditor", "user_admin"},
    "administer_users": {"user_admin"},
    "read_user_admin_log": {"user_admin", "auditor"},
}


@pytest.mark.parametrize("action", sorted(WHO_MAY))
def test_who_may_do_what_by_group(action: str) -> None:
    rule = getattr(access, f"may_{action}")
    allowed = {group for group in users.GROUPS if rule(users.Actor(group, frozenset({group})))}
    assert allowed == WHO_MAY[action]
    # An auditor reads, and never changes anything, whatever other groups it is also in.
    if action in ("start", "change_fault_level", "edit_sla_policy", "change_diagrams", "administer_users"):
        assert not rule(users.Actor("a", frozenset({"auditor", *WHO_MAY[action]})))


@pytest.mark.parametrize("started_by, actor, may_view, may_chase", [
    ("req", REQUESTER, True, True),
    ("someone", REQUESTER, False, False),               # another customer's request
    ("someone", users.Actor("d", frozenset({"service_desk"})), True, True),  # the desk takes every request
    ("someone", AUDITOR, True, False),                  # auditors read, never chase
    ("someone", ENGINEER, False, False),
])
def test_who_may_view_and_chase_a_request(started_by: str, actor: users.Actor, may_view: bool,
                                          may_chase: bool) -> None:
    request = SimpleNamespace(id=1, started_by=started_by)
    assert (access.may_view_request(request, actor), access.may_chase(request, actor)) == (may_view, may_chase)


def test_the_sla_policy_is_changed_only_by_process_owners_whoever_calls_the_engine(sqlite_db: Database) -> None:
    """Checked in the engine, not only at the web boundary: the CLI and the coming API call it directly."""

    with sqlite_db.transaction() as session:
        before = sla.list_policies(session)
        for outsider in (users.Actor("eng", frozenset({"engineer"})), users.Actor("boss", frozenset(MANAGERS)),
                         users.Actor("audit", frozenset({"auditor", "process_owner"}))):
            with pytest.raises(Forbidden, match="may not change the SLA policy"):
                sla.set_policy(session, "II", actor=outsider, respond_minutes=1)
        assert sla.list_policies(session) == before
        sla.set_policy(session, "II", actor=users.Actor("owner", frozenset({"process_owner"})), respond_minutes=45)
        changed = {p["fault_level"]: p for p in sla.list_policies(session)}["II"]
    assert (changed["respond_minutes"], changed["updated_by"]) == (45, "owner")


@pytest.fixture
def mini(db: Database, make_user) -> Database:  # type: ignore[no-untyped-def]
    for name, *groups in (("req", "requester"), ("req2", "requester"), ("eng", "engineer"), ("eng2", "engineer"),
                          ("desk", "service_desk"), ("boss", "engineer", "service_manager"), ("audit", "auditor"),
                          ("customer_boss", "requester", "service_manager")):
        make_user(name, *groups)
    with db.transaction() as session:
        definitions.deploy(session, [definitions.SourceFile("mini.bpmn", (DIAGRAMS / "mini.bpmn").read_bytes())])
        definitions.deploy(session, [definitions.SourceFile("initiator_tasks.bpmn",
                                                            (DIAGRAMS / "initiator_tasks.bpmn").read_bytes())])
        definitions.deploy(session, [definitions.SourceFile("desk_callback.bpmn",
                                                            (DIAGRAMS / "desk_callback.bpmn").read_bytes())])
    return db


def actor(db: Database, name: str) -> users.Actor:
    with db.transaction() as session:
        return users.actor(session, name)


def satisfaction_call(db: Database, raised_by: str = "req") -> tuple[Flow, int]:
    flow = Flow(db, "mini", user=raised_by)
    flow.complete("remote_fix", FIXED, "eng")
    return flow, flow.task_id("satisfaction")


def left_by_the_old_defect(db: Database, task_id: int, assignee: str | None) -> None:
    """The row as the release defect left it (the engine no longer makes such rows)."""
    with db.transaction() as session:
        session.execute(update(TaskRecord).where(TaskRecord.id == task_id).values(assignee=assignee))


def assignee_of(db: Database, task_id: int) -> str | None:
    with db.transaction() as session:
        record = session.get(TaskRecord, task_id)
        assert record is not None
        return record.assignee


def releases(db: Database, instance_id: int) -> int:
    with db.transaction() as session:
        return len(list(session.scalars(select(HistoryEvent.id).where(
            HistoryEvent.instance_id == instance_id, HistoryEvent.kind == "task_released"))))


def test_the_requester_cannot_release_their_own_call_nor_a_manager_give_it_away(mini: Database) -> None:
    flow, task_id = satisfaction_call(mini)
    with pytest.raises(Forbidden, match=r"belongs to req, who raised request \d+: it never goes to a group"), \
            mini.transaction() as session:
        runtime.release_task(session, task_id=task_id, actor=users.actor(session, "req"))
    for manager in ("boss", "customer_boss"):  # neither may even see another's call
        with pytest.raises(Forbidden), mini.transaction() as session:
            runtime.release_task(session, task_id=task_id, actor=users.actor(session, manager))
        with pytest.raises(Forbidden), mini.transaction() as session:
            runtime.assign_task(session, task_id=task_id, assignee=users.actor(session, "req2"),
                                actor=users.actor(session, manager))
    assert assignee_of(mini, task_id) == "req" and releases(mini, flow.id) == 0
    with mini.transaction() as session:
        page = inbox.task_page(session, task_id=task_id, actor=users.actor(session, "req"))
    assert page["may_complete"] and not (page["may_release"] or page["may_claim"] or page["may_assign"])


def test_a_task_the_diagram_gives_the_initiator_never_goes_to_its_group(mini: Database) -> None:
    flow = Flow(mini, "initiator_tasks", user="eng")
    confirm = flow.task_id("confirm")
    assert assignee_of(mini, confirm) == "eng"
    with pytest.raises(Forbidden, match="belongs to eng, who raised request"), mini.transaction() as session:
        runtime.release_task(session, task_id=confirm, actor=users.actor(session, "eng"))
    with pytest.raises(Forbidden, match="never goes to a group"), mini.transaction() as session:
        runtime.release_task(session, task_id=confirm, actor=users.actor(session, "boss"))  # a manager of the group
    with pytest.raises(Forbidden, match="cannot be assigned to eng2"), mini.transaction() as session:
        runtime.assign_task(session, task_id=confirm, assignee=users.actor(session, "eng2"),
                            actor=users.actor(session, "boss"))
    with mini.transaction() as session:
        for name in ("eng", "boss"):
            page = inbox.task_page(session, task_id=confirm, actor=users.actor(session, name))
            assert not page["may_release"] and page["members"] == [], name
    flow.complete("confirm", ANSWER, "eng")
    solo = flow.task_id("solo")  # no group at all: there is no group to release it to
    with pytest.raises(Forbidden, match="never goes to a group"), mini.transaction() as session:
        runtime.release_task(session, task_id=solo, actor=users.actor(session, "eng"))
    assert releases(mini, flow.id) == 0


@pytest.mark.parametrize("left_with", [None, "req2"], ids=["released", "then-claimed-by-another"])
def test_rows_the_old_defect_left_stay_private(mini: Database, left_with: str | None) -> None:
    flow, task_id = satisfaction_call(mini)
    left_by_the_old_defect(mini, task_id, left_with)
    with mini.transaction() as session:
        other = users.actor(session, "req2")
        for state in inbox.STATES:
            assert task_id not in [r["id"] for r in inbox.inbox_page(session, actor=other, state=state).rows], state
        assert tasks.list_tasks(session, user="req2", groups=other.groups) == []
        assert tasks.list_tasks(session, user="req2") == []
        assert inbox.my_requests(session, actor=other).rows == []
        for read in (lambda: inbox.task_page(session, task_id=task_id, actor=other),
                     lambda: inbox.diagram(session, task_id=task_id, actor=other),
                     lambda: inbox.request_page(session, instance_id=flow.id, actor=other)):
            with pytest.raises(Forbidden) as refused:
                read()
            assert "满意度回访" not in str(refused.value) and "req " not in f"{refused.value} "
    for change in (lambda s, who: runtime.complete_task(s, task_id=task_id, data=ANSWER, actor=who),
                   lambda s, who: runtime.claim_task(s, task_id=task_id, actor=who),
                   lambda s, who: runtime.release_task(s, task_id=task_id, actor=who),
                   lambda s, who: case.chase_request(s, instance_id=flow.id, actor=who)):
        with pytest.raises(Forbidden), mini.transaction() as session:
            change(session, users.actor(session, "req2"))
    assert assignee_of(mini, task_id) == left_with

    # Its own requester still has it: listed, workable, and claimable back.
    with mini.transaction() as session:
        owner = users.actor(session, "req")
        assert [t["id"] for t in tasks.list_tasks(session, user="req")] == [task_id]
        assert [r["id"] for r in inbox.inbox_page(session, actor=owner, state="mine").rows] == [task_id]
        assert inbox.my_requests(session, actor=owner).rows[0]["my_tasks"] == [
            {"id": task_id, "name": "满意度回访", "survey": False}]
        page = inbox.task_page(session, task_id=task_id, actor=owner)
        assert page["may_complete"] and page["may_claim"] and not page["may_release"]
        runtime.claim_task(session, task_id=task_id, actor=owner)
    assert assignee_of(mini, task_id) == "req"
    flow.complete("satisfaction", ANSWER, "req")
    assert flow.status() == "completed"


def test_only_the_requester_answers_even_a_call_with_no_assignee(mini: Database) -> None:
    _, task_id = satisfaction_call(mini)
    left_by_the_old_defect(mini, task_id, None)
    for stranger in ("req2", "customer_boss", "eng"):
        with pytest.raises(Forbidden, match="belongs to a request someone else raised"), \
                mini.transaction() as session:
            runtime.complete_task(session, task_id=task_id, data=ANSWER, actor=users.actor(session, stranger))
    fix = Flow(mini, "mini", user="req").task_id("remote_fix")
    with pytest.raises(InvalidInput, match="not in group engineer"), mini.transaction() as session:
        runtime.assign_task(session, task_id=fix, assignee=users.actor(session, "req2"),
                            actor=users.actor(session, "boss"))


def test_a_task_a_colleague_took_meanwhile_is_a_conflict_naming_them(mini: Database) -> None:
    """Issue 10 item 4: not 'no permission' (403) but 'taken by …' (409) for whoever could have worked it."""
    task_id = Flow(mini, "mini", user="req").task_id("remote_fix")
    with mini.transaction() as session:  # a manager hands it to a colleague while eng fills in the form
        runtime.assign_task(session, task_id=task_id, assignee=users.actor(session, "eng2"),
                            actor=users.actor(session, "boss"))
    with pytest.raises(TaskTaken, match=r"was taken by eng2: .* only they can complete it") as taken, \
            mini.transaction() as session:
        runtime.complete_task(session, task_id=task_id, data=FIXED, actor=users.actor(session, "eng"))
    assert (taken.value.status, taken.value.code, taken.value.assignee) == (409, "task_taken", "eng2")
    with pytest.raises(TaskTaken, match="already claimed by eng2"), mini.transaction() as session:
        runtime.claim_task(session, task_id=task_id, actor=users.actor(session, "eng"))
    for outsider in ("desk", "audit"):  # no group of theirs: still a plain refusal
        with pytest.raises(Forbidden), mini.transaction() as session:
            runtime.complete_task(session, task_id=task_id, data=FIXED, actor=users.actor(session, outsider))
    assert assignee_of(mini, task_id) == "eng2"


# --- the SQL form agrees with the rules ------------------------------------------------------------

USERS = ("req", "req2", "eng", "eng2", "desk", "boss", "audit", "customer_boss")


def every_kind_of_task(db: Database) -> None:
    """Open tasks of every shape the rules tell apart, made by the engine (and the old defect's rows)."""
    Flow(db, "mini", user="req")  # remote_fix, open to the engineers
    claimed = Flow(db, "mini", user="req2")
    with db.transaction() as session:
        runtime.claim_task(session, task_id=claimed.task_id("remote_fix"), actor=users.actor(session, "eng2"))
    satisfaction_call(db)  # req's own call
    satisfaction_call(db, raised_by="desk")  # raised by the service desk for a customer: the desk's call
    Flow(db, "desk_callback", user="req")  # the service desk's call to req, which req may answer too
    held_call = Flow(db, "desk_callback", user="req")  # … even while an agent holds it
    with db.transaction() as session:
        runtime.claim_task(session, task_id=held_call.task_id("satisfaction"), actor=users.actor(session, "desk"))
    left_by_the_old_defect(db, satisfaction_call(db)[1], None)
    left_by_the_old_defect(db, satisfaction_call(db)[1], "req2")
    left_by_the_old_defect(db, satisfaction_call(db, raised_by="req2")[1], "req")
    Flow(db, "initiator_tasks", user="eng")  # an engineer's own confirmation
    solo = Flow(db, "initiator_tasks", user="eng")
    solo.complete("confirm", ANSWER, "eng")
    left_by_the_old_defect(db, Flow(db, "initiator_tasks", user="eng").task_id("confirm"), "eng2")
    emptied = Flow(db, "initiator_tasks", user="boss")
    emptied.complete("confirm", ANSWER, "boss")
    left_by_the_old_defect(db, emptied.task_id("solo"), None)  # no group, no assignee: boss raised it


def test_the_sql_conditions_and_the_inbox_agree_with_the_rules(mini: Database) -> None:
    every_kind_of_task(mini)
    with mini.transaction() as session:
        rows = session.execute(select(TaskRecord.id, TaskRecord.instance_id, TaskRecord.name, TaskRecord.element_id,
                                      TaskRecord.candidate_group, TaskRecord.assignee, ProcessInstance.started_by,
                                      TaskRecord.form_key)
                               .join(ProcessInstance, ProcessInstance.id == TaskRecord.instance_id)
                               .where(TaskRecord.state == "ready")).all()
        assert len(rows) == 13
        for name in USERS:
            who = users.actor(session, name)
            conditions = access.task_conditions(who)

            def ids(condition):  # type: ignore[no-untyped-def]
                return set(session.scalars(select(TaskRecord.id).where(TaskRecord.state == "ready", condition)))

            def listed(state: str, who: users.Actor = who) -> set[int]:
                return {r["id"] for r in inbox.inbox_page(session, actor=who, state=state, limit=200).rows}

            visible = {r.id for r in rows if access.may_see_task(r, who)}
            workable = {r.id for r in rows if access.may_work_task(r, who)}
            held = {r.id for r in rows if access.holder(r) == name}
            assert ids(conditions.visible()) == visible == listed("all"), name
            if not who.is_auditor:
                assert ids(conditions.workable()) == workable == listed("open"), name
                assert ids(conditions.holding()) == held == listed("mine"), name
                assert listed("unclaimed") == workable - held and listed("claimed") == visible - workable, name
                assert {t["id"] for t in tasks.list_tasks(session, user=name, groups=who.groups)} == workable, name
                assert {t["id"] for t in tasks.list_tasks(session, user=name)} == held, name
            # And by hand, so the agreement is not of two empty sets.
            expected_visible = {"req": 5, "req2": 1, "eng": 5, "eng2": 4, "desk": 3, "boss": 5, "audit": 13,
                                "customer_boss": 0}
            assert len(visible) == expected_visible[name], (name, sorted(visible))
