"""The customer, contract and zone pages (app/customers), the inbox's zone filter, and the need owner's portal."""
from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import database
from engine.desk import case
from engine.store.customer_models import Contract, Customer
from engine.store.models import HealthCheckSchedule
from tests.app.conftest import complete, open_task, start_request, visible_text
from tests.app.test_i18n import english_words
from tests.bpmn import helpers as h

Clients = Callable[[str], FlaskClient]


def _zones(desk: FlaskClient) -> None:
    """A station, a group led by service_manager, zones E1 (community manager engineer2) and W1, a mapping."""
    for path, data in (("/zones/stations", {"code": "LS", "name": "涟水服务站"}),
                       ("/zones/groups", {"code": "G1", "name": "城区维护组", "station": "LS",
                                          "leader": "service_manager"}),
                       ("/zones/zones", {"code": "E1", "name": "东片区", "group": "G1", "manager": "engineer2",
                                         "user_count": "1200"}),
                       ("/zones/zones", {"code": "W1", "name": "西片区", "group": "G1", "user_count": "300"}),
                       ("/zones/mappings", {"kind": "organisation", "pattern": "市医院", "zone": "E1"})):
        response = desk.post(path, data=data)
        assert response.status_code == 303, response.text
        assert "flash-error" not in visible_text(desk.get(response.location).text)


def test_the_service_desk_keeps_customers_contracts_and_the_health_check_cycle(app: Flask, client_for: Clients) -> None:
    desk = client_for("service_desk")
    response = desk.post("/customers/", data={"name": "市医院信息科", "vip_tier": "vip", "interface_person": "李主任",
                                              "need_owner": "requester2", "service_specialist": "service_desk",
                                              "address": "东大街 1 号"})
    assert response.status_code == 303
    page = desk.get(response.location)
    assert "市医院信息科" in page.text and "李主任" in page.text
    customer_id = int(response.location.rsplit("/", 1)[1])
    assert desk.post(f"/customers/{customer_id}/contacts", data={"name": "赵工", "phone": "123"}).status_code == 303
    assert desk.post(f"/customers/{customer_id}/users", data={"username": "requester"}).status_code == 303
    assert desk.post(f"/customers/{customer_id}/contracts",
                     data={"code": "HT-9", "title": "运维合同", "accepted_on": "2026-03-01", "sla_level": "II"}
                     ).status_code == 303
    page = visible_text(desk.get(f"/customers/{customer_id}").text)
    assert "赵工" in page and "requester" in page and "HT-9" in page and "2029-03-01" in page  # 3 years by default
    with database(app).transaction() as session:
        contract = session.scalars(select(Contract)).one()
        assert (contract.warranty_until.isoformat(), contract.sla_level) == ("2029-03-01", "II")
        contract_id = contract.id
    response = desk.post(f"/contracts/{contract_id}/health-check", data={"cycle": "P3M", "active": "on"})
    assert response.status_code == 303
    assert "P3M" in desk.get(f"/contracts/{contract_id}").text
    assert "P3M" in desk.get("/contracts/").text
    with database(app).transaction() as session:
        row = session.scalars(select(HealthCheckSchedule)).one()
        assert (row.contract, row.organisation, row.cycle, row.is_active) == ("HT-9", "市医院信息科", "P3M", True)
    # A bad cycle is named on the page and nothing changes.
    response = desk.post(f"/contracts/{contract_id}/health-check", data={"cycle": "monthly", "active": "on"})
    assert "monthly" in desk.get(response.location).text
    with database(app).transaction() as session:
        assert session.scalars(select(HealthCheckSchedule.cycle)).one() == "P3M"


def test_engineers_read_the_archive_and_may_not_change_it(app: Flask, client_for: Clients) -> None:
    desk = client_for("service_desk")
    desk.post("/customers/", data={"name": "县教育局", "vip_tier": "standard"})
    engineer = client_for("engineer")
    page = engineer.get("/customers/")
    assert page.status_code == 200 and "县教育局" in page.text and 'id="new-customer"' not in page.text
    assert engineer.post("/customers/", data={"name": "x", "vip_tier": "standard"}).status_code == 403
    assert client_for("requester").get("/customers/").status_code == 403
    with database(app).transaction() as session:
        assert session.scalars(select(Customer.name)).all() == ["县教育局"]


def test_zones_route_on_site_work_and_the_inbox_filters_by_zone(app: Flask, client_for: Clients) -> None:
    desk = client_for("service_desk")
    _zones(desk)
    zoned = start_request(client_for("requester"), organisation="市医院信息科")
    elsewhere = start_request(client_for("requester"), organisation="某公司")
    with database(app).transaction() as session:
        assert (case.get(session, zoned).zone, case.get(session, elsewhere).zone) == ("E1", None)
    accept_zoned, accept_elsewhere = open_task(app, zoned, "accept"), open_task(app, elsewhere, "accept")
    inbox = desk.get("/inbox?zone=E1").text
    assert 'name="zone"' in inbox
    assert f"/tasks/{accept_zoned}" in inbox and f"/tasks/{accept_elsewhere}" not in inbox
    unfiltered = desk.get("/inbox").text
    assert f"/tasks/{accept_zoned}" in unfiltered and f"/tasks/{accept_elsewhere}" in unfiltered
    assert f"/tasks/{accept_zoned}" not in desk.get("/inbox?zone=W1").text
    for instance_id in (zoned, elsewhere):
        complete(desk, open_task(app, instance_id, "accept"), {"request_confirmed": "true"})
        complete(desk, open_task(app, instance_id, "classify"), {"category": "fault", "fault_level": "III"})
        complete(client_for("engineer"), open_task(app, instance_id, "remote_fix"),
                 {"resolved": "false", "method": "phone", "actions": "电话指导无效"})
    # Corrected by the service desk, recorded in the request's history.
    response = desk.post("/zones/correction", data={"instance_id": str(elsewhere), "zone": "W1", "note": "西区客户"})
    assert response.status_code == 303
    with database(app).transaction() as session:
        assert case.get(session, elsewhere).zone == "W1"
    history_html = client_for("auditor").get(f"/audit/instances/{elsewhere}").text
    history_page = visible_text(history_html)
    assert "片区已更正" in history_page and "— → W1" in history_page and "西区客户" in history_page
    assert 'id="verdict" data-ok="true"' in history_html  # the correction re-executes
    assert f"/tasks/{open_task(app, elsewhere, 'dispatch_onsite')}" in desk.get("/inbox?zone=W1").text
    assert f"/tasks/{open_task(app, zoned, 'dispatch_onsite')}" not in desk.get("/inbox?zone=W1").text
    # 派发 of the E1 case starts at its community manager; W1 has none, so its picker starts empty.
    def picked(instance_id: int) -> list[str]:
        page = desk.get(f"/tasks/{open_task(app, instance_id, 'dispatch_onsite')}").text
        picker = re.search(r'<select id="f-engineer" name="engineer".*?</select>', page, re.S)
        assert picker is not None
        return re.findall(r'<option value="(\w+)"[^>]* selected', picker[0])
    assert (picked(zoned), picked(elsewhere)) == (["engineer2"], [])
    page = visible_text(desk.get("/zones/").text)
    assert "东片区" in page and "市医院" in page and "engineer2" in page


def test_the_need_owner_finds_and_grants_the_permission_step(app: Flask, client_for: Clients) -> None:
    desk = client_for("service_desk")
    desk.post("/customers/", data={"name": "市医院信息科", "vip_tier": "key", "need_owner": "requester2"})
    with database(app).transaction() as session:
        customer_id = session.scalars(select(Customer.id)).one()
    desk.post(f"/customers/{customer_id}/users", data={"username": "requester"})
    instance_id = start_request(client_for("requester"), process="other_service", organisation="市医院信息科")
    complete(desk, open_task(app, instance_id, "record_analyse"), h.record_analyse())
    complete(client_for("engineer"), open_task(app, instance_id, "onsite_check"), h.onsite_check())
    complete(client_for("engineer"), open_task(app, instance_id, "feasible_plan"),
             h.feasible_plan())
    complete(client_for("project_manager"), open_task(app, instance_id, "ask_permission"),
             h.ask_permission())
    task_id = open_task(app, instance_id, "customer_permission")
    owner = client_for("requester2")
    assert f"/tasks/{task_id}" in owner.get("/portal/").text
    assert f"/tasks/{task_id}" not in client_for("requester").get("/portal/").text
    response = owner.post(f"/tasks/{task_id}", data={"permitted": "true", "conditions": ""})
    assert response.status_code == 302 and response.location == "/portal/"


def test_the_customer_contract_and_zone_pages_in_zh_cn_have_no_untranslated_english(
        app: Flask, client_for: Clients) -> None:
    desk = client_for("service_desk")
    _zones(desk)
    desk.post("/customers/", data={"name": "市医院信息科", "vip_tier": "vip", "need_owner": "requester2"})
    with database(app).transaction() as session:
        customer_id = session.scalars(select(Customer.id)).one()
    desk.post(f"/customers/{customer_id}/contacts", data={"name": "赵工", "role": "科长", "phone": "123"})
    desk.post(f"/customers/{customer_id}/contracts", data={"code": "HT-9", "title": "运维合同",
                                                             "accepted_on": "2026-03-01", "sla_level": "II"})
    with database(app).transaction() as session:
        contract_id = session.scalars(select(Contract.id)).one()
    desk.post(f"/contracts/{contract_id}/health-check", data={"cycle": "P1M", "active": "on"})
    desk.get("/zones/")  # shows the confirmations of the changes above (they name codes)
    pages = {path: desk.get(path) for path in ("/customers/", f"/customers/{customer_id}", "/contracts/",
                                               f"/contracts/{contract_id}", "/zones/")}
    pages["engineer's view"] = client_for("engineer").get(f"/customers/{customer_id}")
    assert all(response.status_code == 200 for response in pages.values())
    found = {name: english_words(response.text) for name, response in pages.items()}
    assert {name: words for name, words in found.items() if words} == {}
