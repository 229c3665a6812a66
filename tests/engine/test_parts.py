"""Spare parts (seed 000 备件库) on SQLite and PostgreSQL: the ledger, use on a case in the completion's
transaction, refusals that change nothing, approvals, replenishment, stock checks, the monthly report,
and the last unit issued by racing threads exactly once."""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from engine import clock, users
from engine.desk import parts
from engine.errors import DatabaseBusy, Forbidden, InvalidInput
from engine.store import schema
from engine.store.db import Database
from engine.store.models import ProcessInstance, TaskRecord
from engine.store.parts_models import PartMovement, PartReplenishment, PartsReportRun, PartStock
from tests.bpmn import helpers as h
from tests.support.flows import Flow

INTAKE = [("accept", h.accept(), "service_desk"), ("classify", h.classify(), "service_desk"),
          ("remote_fix", h.resolution(resolved=False), "engineer"),
          ("dispatch_onsite", h.dispatch_onsite(), "service_desk")]


def _store(db: Database, *, psu: int = 3, minimum: int = 0, price: float = 350) -> None:
    """Centre SZ (深圳服务中心) holding `psu` power supplies (PSU-650) and 10 cables (CAT6)."""
    with db.transaction() as session:
        keeper = users.actor(session, "service_manager")
        parts.add_centre(session, code="SZ", name="深圳服务中心", actor=keeper)
        parts.add_centre(session, code="GZ", name="广州服务中心", actor=keeper)
        parts.add_supplier(session, name="华为代理商", contact="陈经理", actor=keeper)
        parts.add_part(session, code="PSU-650", label="交换机电源", model="S5720 650W", supplier="华为代理商",
                       unit_price_yuan=price, actor=keeper)
        parts.add_part(session, code="CAT6", label="网线", model="六类 3m", unit_price_yuan=12, actor=keeper)
        if psu:
            parts.receive(session, part="PSU-650", centre="SZ", quantity=psu, actor=keeper)
        parts.receive(session, part="CAT6", centre="SZ", quantity=10, actor=keeper)
        if minimum:
            parts.set_minimum(session, part="PSU-650", centre="SZ", minimum=minimum, actor=keeper)


def _quantity(db: Database, code: str = "PSU-650", centre: str = "SZ") -> int:
    with db.transaction() as session:
        row = [r for r in parts.stock(session) if r["part"] == code and r["centre_code"] == centre]
        return row[0]["quantity"] if row else 0


def _at_onsite_fix(db: Database) -> Flow:
    flow = Flow(db, "service_desk", h.request())
    for element, data, user in INTAKE:
        flow.complete(element, data, user)
    return flow


def _fix(flow: Flow, rows: list[dict[str, Any]], *, locale: str = "en", user: str = "engineer") -> None:
    task_id = flow.task_id("onsite_fix")
    with flow.db.transaction() as session:
        from engine.process import runtime
        runtime.complete_task(session, task_id=task_id, data={**h.onsite_resolution(resolved=True), "parts_used": rows},
                              actor=users.actor(session, user), locale=locale)


def _movements(db: Database) -> list[tuple[str, str, int, int, int | None]]:
    with db.transaction() as session:
        return [(m["kind"], m["part"], m["quantity"], m["balance_after"], m["instance_id"])
                for m in reversed(parts.ledger(session))]


def test_ledger_records_every_movement_with_who_and_is_append_only(db: Database, make_user: Any) -> None:
    make_user("service_manager", "service_manager")
    _store(db)
    with db.transaction() as session:
        keeper = users.actor(session, "service_manager")
        parts.write_off(session, part="CAT6", centre="SZ", quantity=2, note="水晶头损坏", actor=keeper)
        parts.return_to_stock(session, part="CAT6", centre="SZ", quantity=1, note="未用完", actor=keeper)
    assert _movements(db) == [("receive", "PSU-650", 3, 3, None), ("receive", "CAT6", 10, 10, None),
                              ("write_off", "CAT6", -2, 8, None), ("return", "CAT6", 1, 9, None)]
    with db.transaction() as session:
        assert {m["actor"] for m in parts.ledger(session)} == {"service_manager"}
        for stock in session.scalars(select(PartStock)):
            assert stock.quantity == parts.ledger_balance(session, stock.part_id, stock.centre_id)
    for statement in ("UPDATE part_movement SET quantity = 100", "DELETE FROM part_movement"):
        with pytest.raises(DBAPIError, match="append-only"), db.transaction() as session:
            session.execute(text(statement))
    assert len(_movements(db)) == 4


def test_only_managers_keep_the_store(db: Database, make_user: Any) -> None:
    engineer = make_user("engineer", "engineer")
    auditor = make_user("auditor", "auditor", "service_manager")
    for actor in (engineer, auditor):
        with pytest.raises(Forbidden), db.transaction() as session:
            parts.add_centre(session, code="SZ", name="深圳", actor=actor)


def test_onsite_fix_books_its_parts_out_with_the_completion(bundled: Database) -> None:
    _store(bundled)
    flow = _at_onsite_fix(bundled)
    _fix(flow, [{"part": "PSU-650", "quantity": 1, "centre": "SZ"}, {"part": "网线", "quantity": 2}])
    assert flow.open_elements() == ["satisfaction"]
    assert _quantity(bundled) == 2 and _quantity(bundled, "CAT6") == 8
    issued = [m for m in _movements(bundled) if m[0] == "issue"]
    assert issued == [("issue", "PSU-650", -1, 2, flow.id), ("issue", "CAT6", -2, 8, flow.id)]
    with bundled.transaction() as session:
        [row] = parts.ledger(session, kind="issue", part="PSU-650")
    assert row["element_id"] == "onsite_fix" and row["actor"] == "engineer"


def test_emergency_onsite_step_books_parts_too(bundled: Database) -> None:
    _store(bundled)
    flow = Flow(bundled, "emergency", h.request())
    flow.complete("accept", h.accept(), "service_desk")
    flow.complete("analyse_fault", h.analyse_fault(), "engineer")
    flow.complete("remote_handle", h.resolution(resolved=False), "engineer")
    flow.complete("onsite_with_parts", {**h.onsite_resolution(resolved=True),
                                        "parts_used": [{"part": "PSU-650", "quantity": 2}]}, "engineer")
    assert _quantity(bundled) == 1
    assert [m[4] for m in _movements(bundled) if m[0] == "issue"] == [flow.id]


@pytest.mark.parametrize("locale, expected", [
    ("en", "Not enough of part “PSU-650 交换机电源” at 深圳服务中心: 4 needed, only 3 left."),
    ("zh_CN", "备件“PSU-650 交换机电源”在深圳服务中心库存不足：需要 4 件，仅剩 3 件。"),
])
def test_more_than_in_stock_is_refused_and_nothing_changes(bundled: Database, locale: str, expected: str) -> None:
    _store(bundled)
    flow = _at_onsite_fix(bundled)
    before = _movements(bundled)
    with bundled.transaction() as session:
        version = session.get(ProcessInstance, flow.id).lock_version  # type: ignore[union-attr]
    with pytest.raises(InvalidInput) as refused:
        _fix(flow, [{"part": "CAT6", "quantity": 1}, {"part": "PSU-650", "quantity": 4}], locale=locale)
    assert refused.value.field_errors == {"parts_used": [expected]}
    assert _movements(bundled) == before
    assert _quantity(bundled) == 3 and _quantity(bundled, "CAT6") == 10
    assert flow.open_elements() == ["onsite_fix"]
    task_id = flow.task_id("onsite_fix")
    with bundled.transaction() as session:
        assert session.get(ProcessInstance, flow.id).lock_version == version  # type: ignore[union-attr]
        assert session.scalar(select(TaskRecord.state).where(TaskRecord.id == task_id)) == "ready"


def test_unknown_parts_and_unclear_centres_are_refused_by_name(bundled: Database) -> None:
    _store(bundled)
    with bundled.transaction() as session:
        parts.receive(session, part="PSU-650", centre="GZ", quantity=1, actor=users.actor(session, "service_manager"))
    flow = _at_onsite_fix(bundled)
    with pytest.raises(InvalidInput) as refused:
        _fix(flow, [{"part": "硬盘", "quantity": 1}, {"part": "PSU-650", "quantity": 1},
                    {"part": "CAT6", "quantity": 1, "centre": "北京"}])
    assert refused.value.field_errors["parts_used"] == [
        "1. There is no part “硬盘” in the catalogue.",
        "2. Choose a service centre for part “PSU-650 交换机电源” (held at: 广州服务中心、深圳服务中心).",
        "3. There is no service centre “北京”."]
    _fix(flow, [{"part": "PSU-650", "quantity": 1, "centre": "广州服务中心"}])
    assert _quantity(bundled, centre="GZ") == 0 and _quantity(bundled) == 3


def test_use_above_the_limit_waits_for_a_managers_approval(bundled: Database,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parts.APPROVAL_ENV, "500")
    _store(bundled)
    flow = _at_onsite_fix(bundled)
    _fix_small = [{"part": "PSU-650", "quantity": 1}]  # 350 yuan: under the limit
    with pytest.raises(InvalidInput) as refused:
        _fix(flow, [{"part": "PSU-650", "quantity": 2}], locale="zh_CN")
    assert refused.value.field_errors["parts_used"] == [
        "本次使用的备件价值 700.00 元，超过 500.00 元：PSU-650 交换机电源 × 2 须先经经理批准"
        "（在“备件 → 使用审批”中申请）。"]
    assert _quantity(bundled) == 3
    with bundled.transaction() as session:
        approval = parts.request_approval(session, instance_id=flow.id, part="PSU-650", centre="SZ", quantity=2,
                                          reason="双电源都已损坏", actor=users.actor(session, "engineer")).id
    with pytest.raises(InvalidInput):  # still pending
        _fix(flow, [{"part": "PSU-650", "quantity": 2}])
    with pytest.raises(Forbidden), bundled.transaction() as session:
        parts.decide_approval(session, approval_id=approval, approve=True, actor=users.actor(session, "engineer"))
    with bundled.transaction() as session:
        parts.decide_approval(session, approval_id=approval, approve=True, note="同意",
                              actor=users.actor(session, "service_manager"))
    _fix(flow, [{"part": "PSU-650", "quantity": 2}])
    assert _quantity(bundled) == 1
    with bundled.transaction() as session:
        [used] = parts.approvals(session)
    assert used["status"] == "used" and used["decided_by"] == "service_manager"
    assert _fix_small  # a cheaper booking needs none: see test_onsite_fix_books_its_parts_out_with_the_completion


def test_a_manager_may_not_approve_their_own_request(bundled: Database) -> None:
    _store(bundled)
    flow = _at_onsite_fix(bundled)
    with bundled.transaction() as session:
        manager = users.actor(session, "service_manager")
        approval = parts.request_approval(session, instance_id=flow.id, part="PSU-650", centre="SZ", quantity=1,
                                          reason="", actor=manager).id
    with pytest.raises(Forbidden, match="own"), bundled.transaction() as session:
        parts.decide_approval(session, approval_id=approval, approve=True, actor=manager)


def test_falling_below_the_minimum_opens_one_replenishment_task_per_part_and_centre(bundled: Database) -> None:
    _store(bundled, psu=3, minimum=2)
    with bundled.transaction() as session:
        assert parts.replenishments(session) == []
    for _ in range(2):
        flow = _at_onsite_fix(bundled)
        _fix(flow, [{"part": "PSU-650", "quantity": 1}])
    with bundled.transaction() as session:
        [task] = parts.replenishments(session)
        assert session.scalar(select(func.count()).select_from(PartReplenishment)) == 1
    assert (task["part"], task["quantity"], task["minimum"], task["to_order"]) == ("PSU-650", 1, 2, 1)
    with bundled.transaction() as session:
        parts.receive(session, part="PSU-650", centre="SZ", quantity=1, actor=users.actor(session, "service_manager"))
        assert parts.replenishments(session) == []
        [done] = parts.replenishments(session, open_only=False)
    assert done["status"] == "done" and done["closed_by"] == "service_manager"


def test_stock_check_books_differences_as_adjustments(bundled: Database) -> None:
    _store(bundled)
    with bundled.transaction() as session:
        check = parts.stock_check(session, centre="SZ", counts={"PSU-650": 3, "CAT6": 7}, note="月度盘点",
                                  actor=users.actor(session, "service_manager"))
        assert check.id
    assert _movements(bundled)[-1][:4] == ("adjust", "CAT6", -3, 7)
    assert [m for m in _movements(bundled) if m[1] == "PSU-650" and m[0] == "adjust"] == []
    assert _quantity(bundled, "CAT6") == 7
    with bundled.transaction() as session:
        centre = next(c for c in parts.centres(session) if c["code"] == "SZ")
    assert centre["last_checked_at"] is not None and not centre["check_due"]


def test_suppliers_with_evaluations(bundled: Database) -> None:
    _store(bundled)
    with bundled.transaction() as session:
        keeper = users.actor(session, "service_manager")
        parts.evaluate_supplier(session, supplier="华为代理商", score=4, comment="到货及时", actor=keeper)
        parts.evaluate_supplier(session, supplier="华为代理商", score=5, comment="质量好", actor=keeper)
        with pytest.raises(InvalidInput):
            parts.evaluate_supplier(session, supplier="华为代理商", score=6, comment="", actor=keeper)
        [supplier] = parts.suppliers(session)
    assert supplier["mean_score"] == 4.5 and supplier["evaluation_count"] == 2
    assert supplier["evaluations"][0]["comment"] == "质量好"


def test_monthly_report_starts_once_and_the_manager_confirms_it(bundled: Database) -> None:
    with bundled.transaction() as session:
        assert parts.start_monthly_report(session) is None  # no store in use: no empty reports
    with clock.frozen(dt.datetime(2026, 11, 10, 2, tzinfo=dt.UTC)):
        _store(bundled)
        flow = _at_onsite_fix(bundled)
        _fix(flow, [{"part": "PSU-650", "quantity": 1}])
    with clock.frozen(dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC)):  # 09:00 on 1 December in Shanghai
        with bundled.transaction() as session:
            started = parts.start_monthly_report(session)
        with bundled.transaction() as session:
            assert parts.start_monthly_report(session) is None
            assert parts.start_report(session, "2026-11") is None
            assert session.scalar(select(func.count()).select_from(PartsReportRun)) == 1
    assert started is not None
    report = Flow.__new__(Flow)
    report.db, report.id = bundled, started
    start_data = report.events("instance_started")[0]["payload"]["data"]
    assert start_data["month"] == "2026-11" and start_data["issued"] == 1 and start_data["issued_value"] == "350.00"
    report.complete("confirm_report", {"confirmed": True, "comment": "与库存相符"}, "service_manager")
    assert report.status() == "completed"
    with bundled.transaction() as session:
        figures = parts.monthly_report(session, "2026-11")
    [psu] = [r for r in figures["rows"] if r["part"] == "PSU-650"]
    assert (psu["received"], psu["issued"], psu["stock"]) == (3, 1, 2)
    assert figures["run"]["confirmed"] is True and figures["run"]["confirmed_by"] == "service_manager"


def _race(db: Database, agents: int) -> tuple[int, int, list[BaseException]]:
    """`agents` threads each issue one unit at once; (won, refused, unexpected errors)."""
    barrier = threading.Barrier(agents)
    outcome: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    with db.transaction() as session:
        instance_id = session.scalar(select(ProcessInstance.id))
        engineer = users.actor(session, "engineer")

    def agent() -> None:
        barrier.wait()
        for _ in range(50):  # SQLite's busy answer is a retry, never a second unit
            try:
                with db.transaction() as session:
                    parts.issue_parts(session, rows=[{"part": "PSU-650", "quantity": 1, "centre": "SZ"}],
                                      instance_id=instance_id, actor=engineer)
                result = "won"
            except InvalidInput:
                result = "refused"
            except DatabaseBusy:
                continue
            except BaseException as error:
                with lock:
                    errors.append(error)
                return
            with lock:
                outcome.append(result)
            return

    threads = [threading.Thread(target=agent) for _ in range(agents)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcome.count("won"), outcome.count("refused"), errors


def test_concurrent_issues_of_the_last_unit_exactly_one_wins(bundled: Database) -> None:
    _store(bundled, psu=1)
    _at_onsite_fix(bundled)
    won, refused, errors = _race(bundled, 8)
    assert errors == [] and (won, refused) == (1, 7)
    assert _quantity(bundled) == 0
    with bundled.transaction() as session:
        issues = session.scalar(select(func.count()).select_from(PartMovement).where(PartMovement.kind == "issue"))
    assert issues == 1


def test_migration_down_and_up(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'parts.db'}"
    schema.upgrade(url)
    database = Database(url)
    with database.transaction() as session:
        users.ensure_groups(session)
        users.create_user(session, username="m", password="pw", groups=["service_manager"])
        parts.add_centre(session, code="SZ", name="深圳", actor=users.actor(session, "m"))
    database.dispose()
    schema.downgrade(url, "zones_0001")
    database = Database(url)
    with database.transaction() as session:
        tables = set(session.scalars(text("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")))
    database.dispose()
    assert not tables & {"part", "part_stock", "part_movement", "service_centre", "part_movement_no_update"}
    schema.upgrade(url)
    database = Database(url)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(PartStock)) == 0
    database.dispose()


def test_a_stock_check_opens_and_closes_replenishment_like_any_movement(bundled: Database) -> None:
    _store(bundled, psu=3, minimum=2)
    with bundled.transaction() as session:
        keeper = users.actor(session, "service_manager")
        parts.stock_check(session, centre="SZ", counts={"PSU-650": 1}, actor=keeper)
        [task] = parts.replenishments(session)
        assert (task["quantity"], task["to_order"]) == (1, 1)
        parts.stock_check(session, centre="SZ", counts={"PSU-650": 1}, actor=keeper)  # no difference, still low
        assert len(parts.replenishments(session, open_only=False)) == 1
        parts.stock_check(session, centre="SZ", counts={"PSU-650": 2}, actor=keeper)
        assert parts.replenishments(session) == []
    assert [m[:4] for m in _movements(bundled) if m[0] == "adjust"] == [("adjust", "PSU-650", -2, 1),
                                                                        ("adjust", "PSU-650", 1, 2)]


def test_two_engineers_completing_with_the_last_unit_one_step_completes(bundled: Database) -> None:
    _store(bundled, psu=1)
    flows = [_at_onsite_fix(bundled) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def engineer(flow: Flow) -> None:
        barrier.wait()
        try:
            _fix(flow, [{"part": "PSU-650", "quantity": 1}])
            outcomes.append("done")
        except InvalidInput as refused:
            outcomes.append(refused.message)

    threads = [threading.Thread(target=engineer, args=(flow,)) for flow in flows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    short = "Not enough of part “PSU-650 交换机电源” at 深圳服务中心: 1 needed, only 0 left."
    assert sorted(outcomes) == [short, "done"]
    assert sorted(flow.open_elements()[0] for flow in flows) == ["onsite_fix", "satisfaction"]
    assert _quantity(bundled) == 0
