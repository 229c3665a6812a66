"""Spare-parts pages (app/parts): managers keep the store, everyone who works cases reads it; an on-site fix
picks parts from the catalogue and shows on the stock page, the ledger and the monthly report."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.app.conftest import at_remote_fix, complete, open_task, visible_text

ONSITE = {"resolved": "true", "method": "onsite", "actions": "更换交换机电源", "work_done": "更换电源",
          "customer_confirmed": "true"}


def _keep_store(manager: FlaskClient) -> None:
    for path, data in [("/parts/centres", {"code": "SZ", "name": "深圳服务中心"}),
                       ("/parts/suppliers", {"name": "华为代理商", "contact": "陈经理", "phone": "0755-1234"}),
                       ("/parts/new", {"code": "PSU-650", "label": "交换机电源", "model": "S5720 650W",
                                       "supplier": "华为代理商", "unit_price": "350"}),
                       ("/parts/stock/receive", {"part": "PSU-650", "centre": "SZ", "quantity": "2"}),
                       ("/parts/stock/minimum", {"part": "PSU-650", "centre": "SZ", "minimum": "2"})]:
        response = manager.post(path, data=data)
        assert response.status_code == 302, (path, response.text)
        assert "flash-error" not in manager.get(response.location).text, path


def _at_onsite_fix(app: Flask, client_for: Callable[[str], FlaskClient]) -> tuple[int, int]:
    instance_id, remote = at_remote_fix(app, client_for)
    engineer, desk = client_for("engineer"), client_for("service_desk")
    complete(engineer, remote, {"resolved": "false", "method": "remote", "actions": "远程排查：电源故障"})
    complete(desk, open_task(app, instance_id, "dispatch_onsite"),
             {"engineer": "engineer", "appointment_at": "2026-12-05T10:00", "address": "门诊楼三层机房"})
    return instance_id, open_task(app, instance_id, "onsite_fix")


def test_an_onsite_fix_consuming_a_part_shows_on_stock_ledger_and_monthly_report(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    manager, engineer = client_for("service_manager"), client_for("engineer")
    _keep_store(manager)
    instance_id, task = _at_onsite_fix(app, client_for)
    page = engineer.get(f"/tasks/{task}").text
    assert 'list="picker-parts_used-part"' in page
    assert '<option value="PSU-650">交换机电源 S5720 650W — 深圳服务中心 2' in page
    assert 'name="parts_used-0-centre"' in page

    refused = engineer.post(f"/tasks/{task}", data={**ONSITE, "parts_used-0-part": "PSU-650",
                                                     "parts_used-0-quantity": "3"})
    assert refused.status_code == 422
    assert "备件“PSU-650 交换机电源”在深圳服务中心库存不足：需要 3 件，仅剩 2 件。" in visible_text(refused.text)
    complete(engineer, task, {**ONSITE, "parts_used-0-part": "PSU-650", "parts_used-0-quantity": "1",
                              "parts_used-0-centre": "SZ"})

    stock = manager.get("/parts/stock?centre=SZ").text
    assert '<td class="num quantity">1</td>' in stock
    assert 'class="list parts-replenishment"' in stock  # 1 left, minimum 2: a replenishment task
    ledger = visible_text(engineer.get(f"/parts/ledger?instance={instance_id}").text)
    assert "领用到案件" in ledger and "-1" in ledger and "onsite_fix" in ledger and "engineer" in ledger
    report = engineer.get("/parts/report").text
    assert 'class="num issued">1</td>' in report and "350.00" in report


def test_refusals_are_shown_in_the_users_language_and_change_nothing(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    manager = client_for("service_manager")
    _keep_store(manager)
    response = manager.post("/parts/stock/write-off", data={"part": "PSU-650", "centre": "SZ", "quantity": "5",
                                                             "note": "损坏"}, follow_redirects=True)
    assert "备件“PSU-650 交换机电源”在深圳服务中心库存不足：需要 5 件，仅剩 2 件。" in response.text
    assert '<td class="num quantity">2</td>' in manager.get("/parts/stock").text
    manager.post("/locale", data={"locale": "en"})
    response = manager.post("/parts/stock/receive", data={"part": "NOPE", "centre": "SZ", "quantity": "1"},
                            follow_redirects=True)
    assert "There is no part “NOPE” in the catalogue." in response.text
    response = manager.post("/parts/stock/receive", data={"part": "PSU-650", "centre": "SZ", "quantity": "two"},
                            follow_redirects=True)
    assert "The quantity must be a whole number above 0." in response.text


def test_who_may_read_and_keep_the_store(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    _keep_store(client_for("service_manager"))
    engineer, requester, auditor = client_for("engineer"), client_for("requester"), client_for("auditor")
    for path in ("/parts/", "/parts/stock", "/parts/ledger", "/parts/suppliers", "/parts/checks",
                 "/parts/approvals", "/parts/report"):
        assert engineer.get(path).status_code == 200, path
        assert auditor.get(path).status_code == 200, path
        assert requester.get(path).status_code == 403, path
    assert "Add a part" not in engineer.get("/parts/").text
    assert engineer.post("/parts/stock/receive", data={"part": "PSU-650", "centre": "SZ",
                                                        "quantity": "1"}).status_code == 403
    assert auditor.post("/parts/centres", data={"code": "X", "name": "X"}).status_code == 403
    assert "备件" in engineer.get("/inbox").text and "/parts/stock" in engineer.get("/inbox").text


def test_approvals_suppliers_and_stock_checks(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    manager, engineer = client_for("service_manager"), client_for("engineer")
    _keep_store(manager)
    instance_id, _ = at_remote_fix(app, client_for)
    asked = engineer.post("/parts/approvals", data={"instance_id": str(instance_id), "part": "PSU-650",
                                                    "centre": "SZ", "quantity": "2", "reason": "双电源"})
    assert asked.status_code == 302
    page = manager.get("/parts/approvals").text
    assert "待经理审批" in page and "700.00" in page
    approval = page.split('data-approval="')[1].split('"')[0]
    assert engineer.post(f"/parts/approvals/{approval}", data={"decision": "approve"}).status_code == 403
    manager.post(f"/parts/approvals/{approval}", data={"decision": "approve", "note": "同意"})
    assert "已批准" in manager.get("/parts/approvals").text

    manager.post("/parts/suppliers/evaluate", data={"supplier": "华为代理商", "score": "4", "comment": "到货及时"})
    assert "到货及时" in manager.get("/parts/suppliers").text

    assert 'name="count-PSU-650"' in manager.get("/parts/checks?centre=SZ").text
    manager.post("/parts/checks", data={"centre": "SZ", "count-PSU-650": "1", "note": "月度盘点"})
    checks = visible_text(manager.get("/parts/checks").text)
    assert "PSU-650 -1 → 1" in checks and "应盘点" not in checks
