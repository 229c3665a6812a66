"""The knowledge base (seed 003 第2篇) on SQLite and PostgreSQL: review through the knowledge_review process,
one solution for many incidents, the closure gate, Chinese search, and who sees what."""
from __future__ import annotations

from typing import Any

import pytest

from engine import users
from engine.desk import knowledge
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.process import history
from engine.store.db import Database
from tests.bpmn import helpers
from tests.support.flows import Flow

pytestmark = pytest.mark.usefixtures("bundled")

HIS_TIMEOUT = {"title": "门诊 HIS 数据库连接超时", "kind": "solution", "system": "门诊 HIS 系统",
               "device_type": "software", "category": "数据库",
               "symptom": "挂号窗口登录 HIS 时提示数据库连接超时，其他科室正常",
               "cause": "数据库连接池耗尽", "fix": "调大连接池上限至 200 并重启应用服务"}
PRINTER_JAM = {"title": "网络打印机卡纸的处理方法", "kind": "solution", "system": "网络打印机",
               "device_type": "other", "category": "外设", "symptom": "打印机频繁卡纸，面板提示夹纸",
               "cause": "搓纸轮磨损", "fix": "更换搓纸轮并使用干燥纸张"}
SWITCH_PORT = {"title": "核心交换机端口 down", "kind": "solution", "system": "核心交换机", "device_type": "network",
               "category": "网络", "symptom": "交换机端口 down，楼层网络中断", "cause": "光模块老化",
               "fix": "更换光模块"}


def actor(db: Database, name: str) -> users.Actor:
    with db.transaction() as session:
        return users.actor(session, name)


def write(db: Database, data: dict[str, Any], *, user: str = "engineer", incident: int | None = None) -> int:
    with db.transaction() as session:
        return knowledge.create_solution(session, data=dict(data), actor=actor(db, user), incident_id=incident).id


def submit(db: Database, solution_id: int, user: str = "engineer") -> int:
    with db.transaction() as session:
        return knowledge.submit_for_review(session, solution_id=solution_id, actor=actor(db, user)).id


def review(db: Database, review_id: int, decision: str, comment: str | None = None, user: str = "tech_lead") -> None:
    flow = Flow.__new__(Flow)
    flow.db, flow.id = db, review_id
    data = {"decision": decision, **({"comment": comment} if comment else {})}
    flow.complete("review", data, user)


def approved(db: Database, data: dict[str, Any]) -> int:
    solution_id = write(db, data)
    review(db, submit(db, solution_id), "approve")
    return solution_id


def status(db: Database, solution_id: int) -> dict[str, Any]:
    with db.transaction() as session:
        page = knowledge.solution_page(session, solution_id=solution_id, actor=actor(db, "tech_lead"))
        s = page["solution"]
        return {"status": s.status, "version": s.version, "outcome": s.review_outcome, "comment": s.review_comment,
                "reviewer": s.reviewer, "versions": [v.version for v in page["versions"]],
                "incidents": [i["id"] for i in page["incidents"]], "reviews": page["reviews"]}


def resolved_case(db: Database, process: str = "service_desk") -> Flow:
    """A request whose engineer resolved it; the satisfaction call (the closing step) is next."""
    flow = Flow(db, process, helpers.request())
    flow.complete("accept", helpers.accept(), "service_desk")
    if process == "third_party":
        flow.complete("classify", helpers.classify(needs_third_party=False), "service_desk")
        flow.complete("engineer_onsite", {**helpers.resolution(resolved=True, method="onsite"),
                                          "work_done": "更换网卡", "customer_confirmed": True}, "engineer")
    else:
        flow.complete("classify", helpers.classify(), "service_desk")
        flow.complete("remote_fix", helpers.resolution(resolved=True), "engineer")
    return flow


# --------------------------------------------------------------------------------- review branches

def test_approval_publishes_and_every_step_is_in_the_review_history(db: Database) -> None:
    solution_id = write(db, HIS_TIMEOUT)
    assert status(db, solution_id)["status"] == "draft"
    review_id = submit(db, solution_id)
    assert status(db, solution_id)["status"] == "in_review"
    with db.transaction() as session:
        queue = knowledge.review_queue(session, actor=actor(db, "tech_lead"))
    assert [row["id"] for row in queue] == [solution_id]
    review(db, review_id, "approve", "内容与形式均符合")
    after = status(db, solution_id)
    assert after | {"reviews": None} == {"status": "approved", "version": 1, "outcome": "approve",
                                         "comment": "内容与形式均符合", "reviewer": "tech_lead", "versions": [],
                                         "incidents": [], "reviews": None}
    flow = Flow.__new__(Flow)
    flow.db, flow.id = db, review_id
    assert flow.status() == "completed"
    assert flow.completed_path() == ["review"]
    assert [e["payload"]["data"]["decision"] for e in after["reviews"]] == ["approve"]


def test_send_back_returns_the_draft_to_its_author_with_the_comments(db: Database) -> None:
    solution_id = write(db, HIS_TIMEOUT)
    review_id = submit(db, solution_id)
    with pytest.raises(InvalidInput) as refused:
        review(db, review_id, "send_back")
    assert refused.value.field_errors == {"comment": ["required when sending back or rejecting"]}
    review(db, review_id, "send_back", "请补充连接池参数的具体位置")
    assert status(db, solution_id) | {"reviews": None} == {
        "status": "draft", "version": 1, "outcome": "send_back", "comment": "请补充连接池参数的具体位置",
        "reviewer": "tech_lead", "versions": [], "incidents": [], "reviews": None}
    flow = Flow.__new__(Flow)
    flow.db, flow.id = db, review_id
    # The author gets the revision step (assigned to them, not to their whole group).
    assert [(t["element_id"], t["assignee"]) for t in flow.open_tasks()] == [("revise", "engineer")]
    with db.transaction() as session:
        knowledge.update_solution(session, solution_id=solution_id, actor=actor(db, "engineer"),
                                  data={**HIS_TIMEOUT, "fix": "在 server.xml 中把 maxActive 调到 200 并重启"})
    with pytest.raises(Conflict, match="sent back"):
        submit(db, solution_id)
    flow.complete("revise", {"changes": "补充了参数位置"}, "engineer")
    assert status(db, solution_id)["status"] == "in_review"
    review(db, review_id, "approve")
    assert status(db, solution_id)["status"] == "approved"
    assert flow.completed_path() == ["review", "revise", "review"]


def test_reject_keeps_a_new_solution_unpublished_and_restores_an_approved_one(db: Database) -> None:
    fresh = write(db, PRINTER_JAM)
    review(db, submit(db, fresh), "reject", "与已有方案重复")
    assert status(db, fresh)["status"] == "draft" and status(db, fresh)["outcome"] == "reject"

    published = approved(db, HIS_TIMEOUT)
    with db.transaction() as session:
        knowledge.update_solution(session, solution_id=published, actor=actor(db, "engineer"),
                                  data={**HIS_TIMEOUT, "fix": "重启服务器"})
    assert status(db, published) | {"reviews": None} == {
        "status": "draft", "version": 2, "outcome": None, "comment": None, "reviewer": None, "versions": [1],
        "incidents": [], "reviews": None}
    review(db, submit(db, published), "reject", "重启不是根本解决办法")
    after = status(db, published)
    assert (after["status"], after["version"], after["versions"], after["outcome"]) == ("approved", 3, [2, 1], "reject")
    with db.transaction() as session:
        assert knowledge.solution_page(session, solution_id=published,
                                       actor=actor(db, "engineer"))["solution"].fix == HIS_TIMEOUT["fix"]


def test_authors_do_not_review_their_own_solutions_and_only_tech_leads_review(db: Database) -> None:
    solution_id = write(db, HIS_TIMEOUT, user="tech_lead")
    review_id = submit(db, solution_id, user="tech_lead")
    with pytest.raises(Forbidden, match="may not review it"):
        review(db, review_id, "approve")
    with pytest.raises(Forbidden):
        review(db, review_id, "approve", user="engineer")


# ---------------------------------------------------------------- links, closure gate, many incidents

def test_closing_is_refused_without_an_approved_solution_and_allowed_after_approval(db: Database) -> None:
    flow = resolved_case(db)
    with pytest.raises(InvalidInput, match="links no knowledge-base solution"):
        flow.complete("satisfaction", helpers.satisfaction(remaining_problem=False), "requester")
    solution_id = write(db, HIS_TIMEOUT, incident=flow.id)
    review_id = submit(db, solution_id)
    with pytest.raises(InvalidInput, match=f"solution no. {solution_id} .* is in_review, not approved"):
        flow.complete("satisfaction", helpers.satisfaction(remaining_problem=False), "requester")
    # A remaining problem does not close the case, so it is not gated.
    assert flow.status() == "running"
    review(db, review_id, "approve")
    flow.complete("satisfaction", helpers.satisfaction(remaining_problem=False), "requester")
    assert flow.status() == "completed"
    linked = flow.events(history.SOLUTION_LINKED)
    assert [(e["actor"], e["payload"]["solution_id"]) for e in linked] == [("engineer", solution_id)]


def test_a_remaining_problem_is_not_a_closing_step(db: Database) -> None:
    flow = resolved_case(db)
    flow.complete("satisfaction", helpers.satisfaction(remaining_problem=True), "requester")
    assert flow.open_elements() == ["root_cause"]


def test_third_party_close_is_gated_and_a_managers_waiver_is_recorded(db: Database) -> None:
    flow = resolved_case(db, "third_party")
    with pytest.raises(InvalidInput, match="cannot be closed yet"):
        flow.complete("satisfaction", helpers.satisfaction(remaining_problem=False), "requester")
    with db.transaction() as session, pytest.raises(Forbidden, match="only managers"):
        knowledge.mark_no_reusable_solution(session, instance_id=flow.id, reason="一次性故障",
                                            actor=actor(db, "engineer"))
    with db.transaction() as session, pytest.raises(InvalidInput):
        knowledge.mark_no_reusable_solution(session, instance_id=flow.id, reason=" ",
                                            actor=actor(db, "service_manager"))
    with db.transaction() as session:
        knowledge.mark_no_reusable_solution(session, instance_id=flow.id, reason="厂商一次性召回，无复用价值",
                                            actor=actor(db, "service_manager"))
    flow.complete("satisfaction", helpers.satisfaction(remaining_problem=False), "requester")
    assert flow.status() == "completed"
    assert [(e["actor"], e["payload"]) for e in flow.events(history.NO_REUSABLE_SOLUTION)] == [
        ("service_manager", {"reason": "厂商一次性召回，无复用价值"})]


def test_one_solution_serves_many_incidents_and_each_incident_has_one(db: Database) -> None:
    first, second = approved(db, HIS_TIMEOUT), approved(db, PRINTER_JAM)
    cases = [resolved_case(db) for _ in range(3)]
    for case in cases:
        with db.transaction() as session:
            knowledge.link_solution(session, instance_id=case.id, solution_id=first, actor=actor(db, "engineer"))
    assert sorted(status(db, first)["incidents"]) == sorted(c.id for c in cases)
    with db.transaction() as session:  # re-linking replaces: one solution per incident
        knowledge.link_solution(session, instance_id=cases[0].id, solution_id=second, actor=actor(db, "engineer"))
    assert sorted(status(db, first)["incidents"]) == sorted(c.id for c in cases[1:])
    assert status(db, second)["incidents"] == [cases[0].id]
    assert [e["payload"]["previous_solution_id"] for e in cases[0].events(history.SOLUTION_LINKED)] == [None, first]
    for case in cases:
        case.complete("satisfaction", helpers.satisfaction(remaining_problem=False), "requester")
        assert case.status() == "completed"


def test_requesters_and_auditors_cannot_link_or_write(db: Database) -> None:
    solution_id = approved(db, HIS_TIMEOUT)
    flow = resolved_case(db)
    for name in ("requester", "auditor"):
        with db.transaction() as session, pytest.raises(Forbidden):
            knowledge.link_solution(session, instance_id=flow.id, solution_id=solution_id, actor=actor(db, name))
        with db.transaction() as session, pytest.raises(Forbidden):
            knowledge.create_solution(session, data=dict(PRINTER_JAM), actor=actor(db, name))


# --------------------------------------------------------------------------------- search, visibility

def test_chinese_search_ranks_the_matching_solution_first(db: Database) -> None:
    ids = {name: approved(db, data) for name, data in
           (("his", HIS_TIMEOUT), ("printer", PRINTER_JAM), ("switch", SWITCH_PORT))}
    engineer = actor(db, "engineer")
    for text, expected in (("数据库连接超时", "his"), ("打印机卡纸怎么办", "printer"), ("交换机端口down", "switch"),
                           ("HIS 登录 超时", "his"), ("卡纸", "printer"), ("光模块", "switch")):
        with db.transaction() as session:
            found = knowledge.search(session, actor=engineer, text=text)
        assert found.hits and found.hits[0].id == ids[expected], (text, [h.title for h in found.hits])
    with db.transaction() as session:
        assert knowledge.search(session, actor=engineer, text="蓝屏").hits == []
        found = knowledge.search(session, actor=engineer, text="打印机卡纸")
    assert ("卡纸", True) in found.hits[0].title_marked
    assert any(matched for _, matched in found.hits[0].snippet)


def test_attribute_filters_combine_with_text(db: Database) -> None:
    approved(db, HIS_TIMEOUT)
    switch = approved(db, SWITCH_PORT)
    engineer = actor(db, "engineer")
    with db.transaction() as session:
        assert [h.id for h in knowledge.search(session, actor=engineer, device_type="network").hits] == [switch]
        assert [h.id for h in knowledge.search(session, actor=engineer, text="端口", system="交换机").hits] == [switch]
        assert knowledge.search(session, actor=engineer, text="端口", category="数据库").hits == []


def test_requesters_see_approved_solutions_only(db: Database) -> None:
    published = approved(db, PRINTER_JAM)
    draft = write(db, {**PRINTER_JAM, "title": "激光打印机卡纸"})
    submit(db, write(db, {**PRINTER_JAM, "title": "票据打印机卡纸"}))
    requester, engineer = actor(db, "requester"), actor(db, "engineer")
    with db.transaction() as session:
        assert [h.id for h in knowledge.search(session, actor=requester, text="卡纸").hits] == [published]
        as_draft = knowledge.search(session, actor=requester, text="卡纸", status="draft")
        assert [h.id for h in as_draft.hits] == [published]
        assert len(knowledge.search(session, actor=engineer, text="卡纸").hits) == 3
        with pytest.raises(NotFound):
            knowledge.solution_page(session, solution_id=draft, actor=requester)
        page = knowledge.solution_page(session, solution_id=published, actor=requester)
    assert page["incidents"] == [] and page["reviews"] == [] and not page["may_edit"]


def test_suggestions_come_from_the_request(db: Database) -> None:
    his = approved(db, HIS_TIMEOUT)
    approved(db, PRINTER_JAM)
    flow = resolved_case(db)  # 门诊挂号窗口无法登录 HIS / 登录 HIS 超时
    with db.transaction() as session:
        panel = knowledge.incident_panel(session, instance_id=flow.id, actor=actor(db, "engineer"))
    assert panel["suggestions"][0].id == his and panel["solution"] is None and not panel["may_close"]


EMERGENCY_RULE = {"title": "HIS 系统应急维修管理程序", "kind": "policy", "system": "门诊 HIS 系统",
                  "device_type": "software", "category": "应急",
                  "symptom": "HIS 登录超时或中断影响挂号时的应急处置",
                  "cause": "", "fix": "启用手工挂号预案，通知驻厂经理，按程序恢复数据库服务"}


def test_the_emergency_flow_shows_matching_emergency_strategies(db: Database) -> None:
    rule = approved(db, EMERGENCY_RULE)
    his = approved(db, HIS_TIMEOUT)
    write(db, {**EMERGENCY_RULE, "title": "HIS 应急预案（草稿）"})  # not approved: never a strategy
    approved(db, {**PRINTER_JAM, "kind": "policy"})  # a rule, but not about this request
    emergency = Flow(db, "emergency", helpers.request())
    desk = resolved_case(db)
    engineer = actor(db, "engineer")
    with db.transaction() as session:
        on_emergency = knowledge.incident_panel(session, instance_id=emergency.id, actor=engineer)
        on_desk = knowledge.incident_panel(session, instance_id=desk.id, actor=engineer)
    assert [hit.id for hit in on_emergency["strategies"]] == [rule]  # rules and plans only, approved, matching
    assert his in [hit.id for hit in on_emergency["suggestions"]]  # the ordinary suggestions stay
    assert on_desk["strategies"] == []  # only the emergency flow shows strategies


def test_filters_widen_the_ranked_window_until_enough_solutions_are_visible(db: Database) -> None:
    """Ranking reads the best matches from the index first and filters them afterwards: 70 drafts that
    match better must not hide the one approved solution from a requester."""
    published = approved(db, {**PRINTER_JAM, "title": "票据打印机故障", "symptom": "打印机偶尔卡纸"})
    engineer, requester = actor(db, "engineer"), actor(db, "requester")
    with db.transaction() as session:
        for n in range(70):
            knowledge.create_solution(session, actor=engineer,
                                      data={**PRINTER_JAM, "title": f"网络打印机卡纸 {n}", "symptom": "卡纸卡纸"})
    with db.transaction() as session:
        as_requester = knowledge.search(session, actor=requester, text="打印机卡纸")
        as_engineer = knowledge.search(session, actor=engineer, text="打印机卡纸", limit=80)
    assert [h.id for h in as_requester.hits] == [published] and not as_requester.has_more
    assert len(as_engineer.hits) == 71 and as_engineer.hits[-1].id == published


def test_a_change_record_of_problem_management_becomes_a_draft_change_plan(db: Database) -> None:
    from tests.bpmn.test_problem_management import BRANCHES

    kind, steps, _gateways, _end = BRANCHES["defect_technical"]
    flow = Flow(db, "problem_management", helpers.problem_submit(kind))
    for step in steps[:-1]:
        flow.complete(step.element_id, step.data, step.user)
    change = "报表合计改为按明细舍入后求和，版本 2.3.1"
    flow.complete("problem_reply", {**helpers.problem_reply(), "change_record": change}, "service_manager")
    manager = actor(db, "service_manager")
    with db.transaction() as session:
        found = knowledge.search(session, actor=manager, author="service_manager")
        [hit] = found.hits
        page = knowledge.solution_page(session, solution_id=hit.id, actor=manager)
    s = page["solution"]
    assert (s.kind, s.status, s.author, s.fix) == ("change", "draft", "service_manager", change)
    assert s.cause == helpers.problem_reply()["root_cause"] and f"问题管理第 {flow.id} 号" in s.symptom
