"""Request numbers, the agents' search, the all-requests list and saved filters (engine.desk.numbers,
request_search, request_list)."""
from __future__ import annotations

import datetime as dt
import re
import threading
import time
from typing import Any

import pytest
from sqlalchemy import select, update

from engine import access, clock, users
from engine.desk import numbers, request_list, request_search
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.process import runtime
from engine.store.db import Database
from engine.store.models import ProcessInstance
from engine.store.search_models import RequestCounter
from tests.support.flows import REQUEST, Flow

pytestmark = pytest.mark.usefixtures("bundled")


def _start(db: Database, process_id: str = "service_desk", user: str = "requester", **data: Any) -> int:
    return Flow(db, process_id, {**REQUEST, **data}, user=user).id


def _number(db: Database, instance_id: int) -> str:
    with db.transaction() as session:
        number = session.scalar(select(ProcessInstance.number).where(ProcessInstance.id == instance_id))
    assert number is not None
    return number


def _actor(db: Database, username: str) -> users.Actor:
    with db.transaction() as session:
        return users.actor(session, username)


def _search(db: Database, username: str, text: str, **options: Any) -> request_search.SearchResult:
    with db.transaction() as session:
        return request_search.search(session, actor=users.actor(session, username), text=text, **options)


def _found(db: Database, username: str, text: str) -> list[int]:
    return [row.id for row in _search(db, username, text).rows]


# --- numbers ------------------------------------------------------------------------------------------

def test_numbers_have_the_process_prefix_the_year_in_china_and_a_sequence(bundled: Database) -> None:
    first, second = _start(bundled), _start(bundled)
    year = dt.datetime.now(numbers.CHINA).year
    assert _number(bundled, first) == f"INC-{year}-000001"
    assert _number(bundled, second) == f"INC-{year}-000002"
    assert re.fullmatch(r"INC-\d{4}-\d{6}", _number(bundled, first))


@pytest.mark.parametrize(("process_id", "prefix"), [("service_desk", "INC"), ("emergency", "EMG"),
                                                    ("knowledge_review", "REQ"), ("unheard_of", "REQ")])
def test_prefix_per_process(process_id: str, prefix: str) -> None:
    assert numbers.prefix_of(process_id) == prefix


def test_the_sequence_starts_again_each_year_in_china_and_per_prefix(bundled: Database) -> None:
    # 2026-12-31 16:30 UTC is already 2027-01-01 00:30 in Shanghai.
    with clock.frozen(dt.datetime(2026, 12, 31, 15, 30, tzinfo=dt.UTC)) as advance:
        last_of_2026 = _start(bundled)
        advance(dt.timedelta(hours=1))
        first_of_2027 = _start(bundled)
        emergency = _start(bundled, "emergency", user="service_desk")
        second_of_2027 = _start(bundled)
    assert _number(bundled, last_of_2026) == "INC-2026-000001"
    assert _number(bundled, first_of_2027) == "INC-2027-000001"
    assert _number(bundled, emergency) == "EMG-2027-000001"
    assert _number(bundled, second_of_2027) == "INC-2027-000002"


def test_a_failed_start_gives_its_number_back(bundled: Database) -> None:
    with pytest.raises(InvalidInput), bundled.transaction() as session:
        runtime.start_instance(session, process_id="service_desk", data={"title": "no channel"},
                               actor=users.actor(session, "requester"))
    first = _start(bundled)
    assert _number(bundled, first).endswith("-000001")


def test_the_counter_row_is_taken_with_one_update(bundled: Database) -> None:
    _start(bundled)
    with bundled.transaction() as session:
        counters = session.scalars(select(RequestCounter)).all()
    assert [(c.prefix, c.last) for c in counters] == [("INC", 1)]


# --- search -------------------------------------------------------------------------------------------

@pytest.fixture
def requests(bundled: Database, make_user: Any) -> dict[str, int]:
    make_user("li.lei", "requester")
    with bundled.transaction() as session:
        session.execute(update(users.User).where(users.User.username == "li.lei").values(display_name="李雷"))
    return {
        "his": _start(bundled, title="HIS 无法登录", description="门诊 HIS 登录超时，提示数据库连接失败"),
        "printer": _start(bundled, title="打印机卡纸", description="三楼护士站打印机频繁卡纸",
                          organisation="市第一人民医院", requester_name="王五"),
        "network": _start(bundled, user="li.lei", title="交换机端口故障", description="核心交换机端口 Gi0/1 掉线",
                          organisation="区教育局"),
    }


def test_search_finds_by_title_description_requester_and_organisation(bundled: Database,
                                                                     requests: dict[str, int]) -> None:
    assert _found(bundled, "service_desk", "打印机") == [requests["printer"]]
    assert _found(bundled, "service_desk", "数据库连接") == [requests["his"]]  # the description
    assert _found(bundled, "service_desk", "李雷") == [requests["network"]]  # the requester's display name
    assert _found(bundled, "service_desk", "li.lei") == [requests["network"]]  # … and username
    assert _found(bundled, "service_desk", "王五") == [requests["printer"]]  # the contact named in the form
    assert _found(bundled, "service_desk", "教育局") == [requests["network"]]  # the organisation
    assert _found(bundled, "service_desk", "交换机 掉线") == [requests["network"]]  # every word
    assert _found(bundled, "service_desk", "交换机 卡纸") == []
    assert _found(bundled, "service_desk", "蓝屏") == []


def test_results_show_where_the_words_were_found(bundled: Database, requests: dict[str, int]) -> None:
    row, = _search(bundled, "service_desk", "数据库连接").rows
    assert [piece for piece, matched in row.snippet if matched] == ["数据库", "连接"]  # the words searched for
    assert "".join(piece for piece, _ in row.snippet).startswith("HIS 无法登录 · 门诊 HIS 登录超时，提示数据库连接失败")
    by_number, = _search(bundled, "service_desk", _number(bundled, requests["his"])).rows
    assert by_number.snippet == []


def test_search_ranks_and_pages(bundled: Database, requests: dict[str, int]) -> None:
    extra = [_start(bundled, title=f"打印机故障 {n}", description="打印机 打印机 打印机") for n in range(3)]
    first = _search(bundled, "service_desk", "打印机", page_size=2)
    assert first.has_more and len(first.rows) == 2
    second = _search(bundled, "service_desk", "打印机", page=2, page_size=2)
    assert not second.has_more
    found = [r.id for r in first.rows + second.rows]
    assert sorted(found) == sorted([*extra, requests["printer"]])
    assert found[-1] == requests["printer"]  # the word said once ranks below the ones saying it thrice


def test_search_by_number_whole_or_its_start(bundled: Database, requests: dict[str, int]) -> None:
    number = _number(bundled, requests["printer"])
    result = _search(bundled, "service_desk", number.lower())
    assert [r.id for r in result.rows] == [requests["printer"]] and result.exact is not None
    by_prefix = _search(bundled, "service_desk", number[:9])  # INC-2026-
    assert [r.id for r in by_prefix.rows] == sorted(requests.values(), reverse=True)
    assert by_prefix.exact is None


def test_a_changed_title_is_found_by_its_new_words(bundled: Database, requests: dict[str, int]) -> None:
    with bundled.transaction() as session:
        request_search.reindex(session, requests["his"], title="电子病历 系统 宕机")
    assert _found(bundled, "service_desk", "宕机") == [requests["his"]]
    assert _found(bundled, "service_desk", "超时") == [requests["his"]]  # the other fields stay


def test_a_step_recording_a_searched_field_makes_it_searchable(bundled: Database) -> None:
    """应急's 分析故障 records the symptom: found by its words from then on, with the request's own words."""
    flow = Flow(bundled, "emergency", {**REQUEST, "title": "全院网络中断"}, user="service_desk")
    assert _found(bundled, "service_desk", "宕机") == []
    flow.complete("accept", {"request_confirmed": True, "notes": "电话受理"}, "service_desk")
    flow.complete("analyse_fault", {"symptom": "核心交换机宕机，全院断网", "suspected_cause": "电源模块故障",
                                    "fault_level": "I"}, "engineer")
    assert _found(bundled, "service_desk", "宕机") == [flow.id]
    assert _found(bundled, "service_desk", "网络 中断") == [flow.id]
    assert _number(bundled, flow.id).startswith("EMG-")


def test_more_text_sources_are_searched(bundled: Database, requests: dict[str, int],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook a comments table will use."""
    monkeypatch.setattr(request_search, "TEXT_SOURCES",
                        [lambda session, instance_id: "客户回电确认" if instance_id == requests["his"] else ""])
    with bundled.transaction() as session:
        request_search.reindex(session, requests["his"])
    assert _found(bundled, "service_desk", "回电") == [requests["his"]]


def test_agents_of_another_group_find_only_what_they_worked_on(bundled: Database, requests: dict[str, int],
                                                               make_user: Any) -> None:
    make_user("vendor.x", "vendor")
    assert _found(bundled, "vendor.x", "打印机") == []
    assert _found(bundled, "vendor.x", _number(bundled, requests["printer"])) == []
    with bundled.transaction() as session:
        with pytest.raises(NotFound):
            request_list.by_number(session, number=_number(bundled, requests["printer"]),
                                   actor=users.actor(session, "vendor.x"))
    # The service desk's group took the request: its members find it; an auditor finds everything.
    assert _found(bundled, "auditor", "打印机") == [requests["printer"]]
    make_user("desk.two", "service_desk")
    assert _found(bundled, "desk.two", "打印机") == [requests["printer"]]


def test_an_engineer_finds_the_requests_their_group_worked(bundled: Database, requests: dict[str, int]) -> None:
    assert _found(bundled, "engineer", "打印机") == []
    flow = Flow.__new__(Flow)
    flow.db, flow.id = bundled, requests["printer"]
    flow.complete("accept", {"request_confirmed": True}, "service_desk")
    flow.complete("classify", {"category": "fault", "fault_level": "III"}, "service_desk")
    assert flow.open_elements() == ["remote_fix"]  # the engineers' task now
    assert _found(bundled, "engineer", "打印机") == [requests["printer"]]
    assert _found(bundled, "vendor", "打印机") == []


def test_requesters_do_not_search(bundled: Database, requests: dict[str, int]) -> None:
    with pytest.raises(Forbidden):
        _search(bundled, "requester", "打印机")
    with bundled.transaction() as session, pytest.raises(Forbidden):
        request_list.list_requests(session, actor=users.actor(session, "requester"), filters={})


# --- the list -----------------------------------------------------------------------------------------

def _listed(db: Database, username: str, **filters: Any) -> list[int]:
    with db.transaction() as session:
        return [r.id for r in request_list.list_requests(session, actor=users.actor(session, username),
                                                         filters=filters).rows]


def test_list_filters(bundled: Database, requests: dict[str, int]) -> None:
    everything = sorted(requests.values(), reverse=True)
    assert _listed(bundled, "service_desk") == everything
    assert _listed(bundled, "service_desk", customer="教育局") == [requests["network"]]
    assert _listed(bundled, "service_desk", state="closed") == []
    assert _listed(bundled, "service_desk", state="open") == everything
    assert _listed(bundled, "service_desk", process="emergency") == []
    assert _listed(bundled, "service_desk", group="service_desk") == everything  # its open tasks
    assert _listed(bundled, "service_desk", assignee="engineer") == []
    assert _listed(bundled, "service_desk", sort="oldest") == sorted(requests.values())
    today = dt.datetime.now(numbers.CHINA).date()
    assert _listed(bundled, "service_desk", opened_from=today, opened_to=today) == everything
    assert _listed(bundled, "service_desk", opened_to=today - dt.timedelta(days=1)) == []
    assert _listed(bundled, "service_desk", overdue=True) == []
    with clock.frozen(clock.now() + dt.timedelta(days=30)):
        assert _listed(bundled, "service_desk", overdue=True) == everything
    assert _listed(bundled, "vendor") == []


def test_list_pages(bundled: Database, requests: dict[str, int]) -> None:
    with bundled.transaction() as session:
        first = request_list.list_requests(session, actor=users.actor(session, "service_desk"), filters={},
                                           page_size=2)
        second = request_list.list_requests(session, actor=users.actor(session, "service_desk"), filters={},
                                            page=2, page_size=2)
    assert first.total == 3 and first.has_more and not second.has_more
    assert [r.id for r in first.rows + second.rows] == sorted(requests.values(), reverse=True)


def test_landing_by_number(bundled: Database, requests: dict[str, int]) -> None:
    number = _number(bundled, requests["his"])
    with bundled.transaction() as session:
        for username, page in (("service_desk", "request"), ("process_owner", "audit")):
            assert request_list.landing(session, number=number, actor=users.actor(session, username)).page == page
        with pytest.raises(NotFound):
            request_list.landing(session, number="INC-1999-000001", actor=users.actor(session, "service_desk"))


# --- saved filters ------------------------------------------------------------------------------------

def test_saved_filters_are_their_owners(bundled: Database, make_user: Any) -> None:
    make_user("desk.two", "service_desk")
    with bundled.transaction() as session:
        desk = users.actor(session, "service_desk")
        mine = request_list.save_filter(session, actor=desk, name="我的逾期", query="state=open&overdue=1&junk=x")
        shared = request_list.save_filter(session, actor=desk, name="一级", query="?fault_level=I",
                                          group_id="service_desk")
        mine_id, shared_id = mine.id, shared.id
    assert mine.query == "overdue=1&state=open"  # only the list's keys
    with bundled.transaction() as session:
        two = users.actor(session, "desk.two")
        seen = request_list.saved_filters(session, actor=two)
        assert [(f.name, f.is_mine) for f in seen] == [("一级", False)]
        for change in (lambda: request_list.rename_filter(session, actor=two, filter_id=shared_id, name="x"),
                       lambda: request_list.delete_filter(session, actor=two, filter_id=mine_id)):
            with pytest.raises(NotFound):
                change()
        assert request_list.saved_filters(session, actor=users.actor(session, "engineer")) == []
    with bundled.transaction() as session:
        desk = users.actor(session, "service_desk")
        request_list.rename_filter(session, actor=desk, filter_id=mine_id, name="逾期")
        with pytest.raises(InvalidInput):
            request_list.save_filter(session, actor=desk, name="x", query="", group_id="auditor")
    with bundled.transaction() as session:
        desk = users.actor(session, "service_desk")
        request_list.delete_filter(session, actor=desk, filter_id=shared_id)
        assert [f.name for f in request_list.saved_filters(session, actor=desk)] == ["逾期"]


# --- concurrency on PostgreSQL ------------------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_concurrent_starts_never_share_a_number(bundled: Database) -> None:
    threads, each = 6, 4
    barrier = threading.Barrier(threads)
    numbers_given: list[str] = []
    errors: list[BaseException] = []

    def starts() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(each):
                numbers_given.append(_number(bundled, _start(bundled)))
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=starts) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    assert len(numbers_given) == threads * each
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers_given) == list(range(1, threads * each + 1))


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_second_start_waits_for_the_first_to_commit(bundled: Database) -> None:
    """The counter row stays locked by the first transaction: the second gets the next number only after it."""
    started = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    with bundled.transaction() as session:
        numbers.next_number(session, process_id="service_desk", started_at=started)  # the row exists
    second: list[str] = []
    with bundled.transaction() as first:
        mine = numbers.next_number(first, process_id="service_desk", started_at=started)

        def other() -> None:
            with bundled.transaction() as session:
                second.append(numbers.next_number(session, process_id="service_desk", started_at=started))

        waiting = threading.Thread(target=other)
        waiting.start()
        time.sleep(0.5)
        assert second == []  # blocked on the row
    waiting.join(timeout=30)
    assert (mine, second) == ("INC-2026-000002", ["INC-2026-000003"])


def test_the_finding_rule_in_python_and_in_sql_agree(bundled: Database, requests: dict[str, int],
                                                     make_user: Any) -> None:
    flow = Flow.__new__(Flow)
    flow.db, flow.id = bundled, requests["printer"]
    flow.complete("accept", {"request_confirmed": True}, "service_desk")
    flow.complete("classify", {"category": "fault", "fault_level": "III"}, "service_desk")
    make_user("desk.engineer", "service_desk", "engineer")
    make_user("both", "requester", "engineer")
    names = ("service_desk", "engineer", "vendor", "auditor", "process_owner", "service_manager", "li.lei",
             "requester", "desk.engineer", "both")
    found = {}
    with bundled.transaction() as session:
        for username in names:
            actor = users.actor(session, username)
            in_sql = set(session.scalars(select(ProcessInstance.id).where(access.found_requests(actor))))
            in_python = {i for i in requests.values() if access.may_find_request(request_list.found_facts(
                session, i, session.scalar(select(ProcessInstance.started_by).where(ProcessInstance.id == i))), actor)}
            assert in_sql == in_python, username
            found[username] = in_sql
    everything = set(requests.values())
    assert found["service_desk"] == found["auditor"] == found["process_owner"] == found["desk.engineer"] == everything
    assert found["engineer"] == found["both"] == {requests["printer"]}
    assert found["vendor"] == found["li.lei"] == found["requester"] == set()  # requesters search nothing
