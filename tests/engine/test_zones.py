"""Zones and customers (seed 003 客户服务经理制; issue 14 items 2 and 3): the zone lookup and its correction,
routing on-site work and escalation to the zone's maintenance group and people (or the lane when no zone is
known), the permission step to the customer's need owner, the warranty default, the contract's SLA level, the
health-check cycle per contract, and the audit re-executing every routing decision.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select, text

from engine import users
from engine.audit import verification as audit
from engine.desk import case, customers, sla, zones
from engine.errors import Forbidden, InvalidInput, TaskTaken
from engine.process import definitions, history, migration
from engine.store import schema
from engine.store.db import Database
from engine.store.models import HealthCheckSchedule
from tests.bpmn import helpers as h
from tests.bpmn import test_other_service, test_service_desk
from tests.conftest import BPMN_DIR
from tests.engine.test_audit import payload_at, rehash, seq_of, set_payload
from tests.support import pg
from tests.support.flows import Flow

SD = test_service_desk
TO_ONSITE = [*SD.INTAKE, SD.ONSITE_FAILED[0], SD.DISPATCH]


def _desk(session: Any) -> users.Actor:
    return users.actor(session, "service_desk")


@pytest.fixture
def zoned(bundled: Database) -> Database:
    """Two zones of one maintenance group (leader 组长 lead1), each with its 社区经理, and a mapping table."""
    with bundled.transaction() as session:
        for name in ("lead1", "mgr_east", "mgr_west", "owner1", "staff1"):
            users.create_user(session, username=name, password="pw",
                              groups=["requester"] if name in ("owner1", "staff1") else ["engineer"])
        desk = _desk(session)
        zones.save_station(session, actor=desk, code="LS", name="涟水服务站")
        zones.save_group(session, actor=desk, code="G1", name="城区维护组", station="LS", leader="lead1")
        zones.save_zone(session, actor=desk, code="E1", name="东片区", group="G1", manager="mgr_east", user_count=1200)
        zones.save_zone(session, actor=desk, code="W1", name="西片区", group="G1", manager="mgr_west", user_count=800)
        zones.save_mapping(session, actor=desk, kind="organisation", pattern="医院", zone="W1")
        zones.save_mapping(session, actor=desk, kind="organisation", pattern="第一人民医院", zone="E1")
        zones.save_mapping(session, actor=desk, kind="address", pattern="东大街", zone="E1")
    return bundled


def _started(flow: Flow) -> dict[str, Any]:
    return flow.events(history.INSTANCE_STARTED)[0]["payload"]["engine_data"]


def _ready(flow: Flow, element_id: str) -> dict[str, Any]:
    return [e for e in flow.events(history.TASK_READY) if e["element_id"] == element_id][-1]["payload"]


def _case(db: Database, instance_id: int) -> Any:
    with db.transaction() as session:
        return case.get(session, instance_id)


def _verdict(db: Database, instance_id: int) -> audit.Verdict:
    with db.transaction() as session:
        return audit.verify_instance(session, instance_id)


# --- the lookup --------------------------------------------------------------------------------------------

def test_the_organisation_gives_the_zone_the_longest_pattern_winning_and_why_is_recorded(zoned: Database) -> None:
    flow = Flow(zoned, "service_desk", h.request())  # 市第一人民医院信息科: 医院 (W1) and 第一人民医院 (E1)
    routing = _started(flow)["routing"]
    assert routing["zone"] == "E1"
    assert routing["why"]["by"] == "organisation" and routing["why"]["pattern"] == "第一人民医院"
    assert (routing["group"], routing["manager"], routing["leader"]) == ("zone_G1", "mgr_east", "lead1")
    assert _case(zoned, flow.id).zone == "E1"


def test_the_zone_named_on_the_form_comes_first(zoned: Database) -> None:
    flow = Flow(zoned, "service_desk", {**h.request(), "zone": "西片区"})
    assert _started(flow)["routing"]["zone"] == "W1" and _case(zoned, flow.id).zone == "W1"
    assert _started(flow)["routing"]["why"] == {"by": "form", "value": "西片区"}


def test_the_customers_address_gives_the_zone_when_the_organisation_does_not(zoned: Database) -> None:
    with zoned.transaction() as session:
        customer = customers.save_customer(session, actor=_desk(session), name="县教育局", address="涟水县东大街 8 号")
        customers.link_user(session, actor=_desk(session), customer_id=customer.id, username="staff1")
        customer_id = customer.id
    flow = Flow(zoned, "service_desk", {**h.request(), "organisation": "县教育局"}, user="staff1")
    routing = _started(flow)["routing"]
    assert routing["zone"] == "E1" and routing["why"]["by"] == "address" and routing["why"]["pattern"] == "东大街"
    assert routing["customer"]["id"] == customer_id and routing["customer"]["by"] == "requester"
    record = _case(zoned, flow.id)
    assert (record.zone, record.customer_id) == ("E1", customer_id)


def test_a_correction_of_the_mapping_table_applies_to_the_next_request(zoned: Database) -> None:
    with zoned.transaction() as session:
        zones.save_mapping(session, actor=_desk(session), kind="organisation", pattern="第一人民医院", zone="W1")
    assert _started(Flow(zoned, "service_desk", h.request()))["routing"]["zone"] == "W1"


def test_the_mapping_table_and_zones_are_kept_by_the_service_desk_and_managers_only(zoned: Database) -> None:
    with zoned.transaction() as session:
        for name in ("engineer", "auditor"):
            with pytest.raises(Forbidden):
                zones.save_mapping(session, actor=users.actor(session, name), kind="organisation", pattern="x",
                                   zone="E1")
        with pytest.raises(InvalidInput, match="no zone 'XX'"):
            zones.save_mapping(session, actor=_desk(session), kind="organisation", pattern="x", zone="XX")


def test_a_maintenance_group_serves_at_most_five_zones(zoned: Database) -> None:
    with zoned.transaction() as session:
        for code in ("Z3", "Z4", "Z5"):
            zones.save_zone(session, actor=_desk(session), code=code, name=code, group="G1")
        with pytest.raises(InvalidInput, match="has 5 zones already"):
            zones.save_zone(session, actor=_desk(session), code="Z6", name="Z6", group="G1")


# --- routing -----------------------------------------------------------------------------------------------

def _suggested(db: Database, flow: Flow, element_id: str) -> dict[str, str]:
    [task] = [t for t in flow.open_tasks() if t["element_id"] == element_id]
    with db.transaction() as session:
        return zones.suggested_picks(session, instance_id=flow.id, form_key=task["form_key"])


def test_on_site_work_goes_to_the_zones_group_and_the_engineer_dispatched(zoned: Database) -> None:
    flow = Flow(zoned, "service_desk", h.request())
    h.drive(flow, TO_ONSITE[:-1])
    # 派发's picker starts at the zone's 社区经理; the service desk names whom it sends (issue 11 item 1).
    assert _suggested(zoned, flow, "dispatch_onsite") == {"engineer": "mgr_east"}
    h.drive(flow, [SD.DISPATCH._replace(data=h.dispatch_onsite("mgr_east"))])
    ready = _ready(flow, "onsite_fix")
    assert (ready["group"], ready["assignee"]) == ("zone_G1", "mgr_east")
    # The community manager works it; an engineer outside the group does not even see it.
    with pytest.raises(Forbidden):
        flow.complete("onsite_fix", h.onsite_resolution(resolved=False), "engineer")
    flow.complete("onsite_fix", h.onsite_resolution(resolved=False), "mgr_east")
    ready = _ready(flow, "escalate")
    assert (ready["group"], ready["assignee"]) == ("zone_G1", "lead1")
    flow.complete("escalate", h.escalate(), "lead1")
    assert _ready(flow, "expert_support")["group"] == "engineer"  # steps the zone does not route: the lane's
    assert _verdict(zoned, flow.id).ok


def test_the_engineer_named_at_dispatch_wins_over_the_zones_community_manager(zoned: Database) -> None:
    flow = Flow(zoned, "service_desk", h.request())
    h.drive(flow, TO_ONSITE)  # 派发 names "engineer", not mgr_east
    ready = _ready(flow, "onsite_fix")
    assert (ready["group"], ready["assignee"]) == ("zone_G1", "engineer")
    with pytest.raises(TaskTaken):  # the zone's manager does not take it over
        flow.complete("onsite_fix", h.onsite_resolution(resolved=False), "mgr_east")
    flow.complete("onsite_fix", h.onsite_resolution(resolved=False), "engineer")
    assert _verdict(zoned, flow.id).ok


def test_no_pick_is_suggested_without_a_zone_manager_in_the_pickers_group(zoned: Database) -> None:
    with zoned.transaction() as session:
        users.create_user(session, username="mgr_desk", password="pw", groups=["service_desk"])
        zones.save_zone(session, actor=_desk(session), code="S1", name="南片区", group="G1", manager="mgr_desk")
    flow = Flow(zoned, "service_desk", {**h.request(), "zone": "S1"})
    h.drive(flow, TO_ONSITE[:-1])
    assert _suggested(zoned, flow, "dispatch_onsite") == {}  # not an engineer: 派发 could not name them
    with zoned.transaction() as session:
        assert zones.suggested_picks(session, instance_id=flow.id, form_key="onsite_resolution") == {}


def test_without_a_zone_the_lane_group_takes_the_work_as_before(zoned: Database) -> None:
    flow = Flow(zoned, "service_desk", {**h.request(), "organisation": "某公司"})
    routing = _started(flow)["routing"]
    assert routing["zone"] is None and routing["why"]["by"] is None and _started(flow)["task_routes"] == {}
    h.drive(flow, TO_ONSITE)
    # The lane's group, and the engineer 派发 named (issue 11), not a zone's community manager.
    assert (_ready(flow, "onsite_fix")["group"], _ready(flow, "onsite_fix")["assignee"]) == ("engineer", "engineer")
    assert _case(zoned, flow.id).zone is None
    assert _verdict(zoned, flow.id).ok


def test_a_zone_without_a_community_manager_gives_on_site_work_to_its_group(zoned: Database) -> None:
    with zoned.transaction() as session:
        zones.save_zone(session, actor=_desk(session), code="N1", name="北片区", group="G1")
    flow = Flow(zoned, "service_desk", {**h.request(), "zone": "N1"})
    h.drive(flow, TO_ONSITE[:-1])
    assert _suggested(zoned, flow, "dispatch_onsite") == {}
    h.drive(flow, [SD.DISPATCH._replace(data=h.dispatch_onsite("mgr_west"))])  # a member of the group
    assert (_ready(flow, "onsite_fix")["group"], _ready(flow, "onsite_fix")["assignee"]) == ("zone_G1", "mgr_west")
    flow.complete("onsite_fix", h.onsite_resolution(resolved=False), "mgr_west")


def test_a_corrected_zone_is_recorded_and_routes_the_next_tasks(zoned: Database) -> None:
    flow = Flow(zoned, "service_desk", h.request())
    h.drive(flow, SD.INTAKE)
    with zoned.transaction() as session:
        with pytest.raises(Forbidden):
            zones.correct_zone(session, instance_id=flow.id, zone="W1", actor=users.actor(session, "engineer"))
        zones.correct_zone(session, instance_id=flow.id, zone="W1", actor=_desk(session), note="客户实际在西区")
    corrected = flow.events(history.ZONE_CORRECTED)[0]
    assert corrected["actor"] == "service_desk"
    assert (corrected["payload"]["from"], corrected["payload"]["to"]) == ("E1", "W1")
    assert corrected["payload"]["engine_data"]["routing"]["why"]["by"] == "correction"
    assert _case(zoned, flow.id).zone == "W1"
    h.drive(flow, [SD.ONSITE_FAILED[0]])
    assert _suggested(zoned, flow, "dispatch_onsite") == {"engineer": "mgr_west"}
    h.drive(flow, [SD.DISPATCH])  # "engineer" named: the corrected zone's group, the named engineer
    assert (_ready(flow, "onsite_fix")["group"], _ready(flow, "onsite_fix")["assignee"]) == ("zone_G1", "engineer")
    assert _verdict(zoned, flow.id).ok


def test_a_routed_task_keeps_its_group_when_the_instance_moves_to_a_new_version(zoned: Database) -> None:
    flow = Flow(zoned, "service_desk", h.request())
    h.drive(flow, TO_ONSITE)
    source = (BPMN_DIR / "service_desk.bpmn").read_bytes().replace("现场服务".encode(), "现场服务（新）".encode())
    with zoned.transaction() as session:
        definitions.deploy(session, [definitions.SourceFile("service_desk.bpmn", source)])
        migration.migrate_instance(session, instance_id=flow.id, to_version=2,
                                   actor=users.actor(session, "process_owner"))
    [task] = flow.open_tasks()
    assert (task["element_id"], task["group"], task["assignee"]) == ("onsite_fix", "zone_G1", "engineer")
    assert task["name"] == "现场服务（新）"
    flow.complete("onsite_fix", h.onsite_resolution(resolved=True), "engineer")
    assert _verdict(zoned, flow.id).ok


# --- the audit re-executes the routing ------------------------------------------------------------------------

def test_a_forged_assignee_of_a_routed_task_is_found(zoned: Database) -> None:
    flow = Flow(zoned, "service_desk", h.request())
    h.drive(flow, TO_ONSITE)
    ready = seq_of(flow, "task_ready", "onsite_fix")
    set_payload(zoned, flow.id, ready, {**payload_at(flow, ready), "assignee": "mgr_west"})
    rehash(zoned, flow.id)
    first = _verdict(zoned, flow.id).first_divergence
    assert (first.seq, first.kind, first.check) == (ready, "task_ready", "replay")
    assert (first.expected["assignee"], first.found["assignee"]) == ("engineer", "mgr_west")


def test_forged_routing_inputs_are_found_at_the_task_they_route(zoned: Database) -> None:
    flow = Flow(zoned, "service_desk", h.request())
    h.drive(flow, TO_ONSITE)
    started = seq_of(flow, "instance_started")
    payload = payload_at(flow, started)
    routes = {**payload["engine_data"]["task_routes"], "onsite_resolution": {"group": "zone_G1", "assignee": "x"}}
    set_payload(zoned, flow.id, started, {**payload, "engine_data": {**payload["engine_data"], "task_routes": routes}})
    rehash(zoned, flow.id)
    first = _verdict(zoned, flow.id).first_divergence
    assert (first.seq, first.kind, first.check) == (seq_of(flow, "task_ready", "onsite_fix"), "task_ready", "replay")
    # A route recorded without the "named wins" mark (as before it existed) overrides the engineer named.
    assert (first.expected["assignee"], first.found["assignee"]) == ("x", "engineer")


def test_a_forged_zone_correction_is_found(zoned: Database) -> None:
    flow = Flow(zoned, "service_desk", h.request())
    h.drive(flow, SD.INTAKE)
    with zoned.transaction() as session:
        zones.correct_zone(session, instance_id=flow.id, zone="W1", actor=_desk(session))
    h.drive(flow, [SD.ONSITE_FAILED[0], SD.DISPATCH])
    corrected = seq_of(flow, "zone_corrected")
    payload = payload_at(flow, corrected)
    routes = {"onsite_resolution": {"group": "zone_G1", "assignee": "mgr_east"}}
    set_payload(zoned, flow.id, corrected, {**payload, "engine_data": {**payload["engine_data"],
                                                                       "task_routes": routes}})
    rehash(zoned, flow.id)
    first = _verdict(zoned, flow.id).first_divergence
    assert (first.kind, first.check) == ("task_ready", "replay")
    # A route recorded without the "named wins" mark (as before it existed) overrides the engineer named.
    assert (first.expected["assignee"], first.found["assignee"]) == ("mgr_east", "engineer")


# --- customers and contracts ------------------------------------------------------------------------------

def _complete(flow: Flow, steps: list[h.Step]) -> None:
    """Complete the steps in order; a step the zone routes is done by whom it was routed to."""
    for step in steps:
        assignee = next(t["assignee"] for t in flow.open_tasks() if t["element_id"] == step.element_id)
        user = assignee if assignee and step.user in ("engineer", "service_manager") else step.user
        flow.complete(step.element_id, step.data, user)


def _customer_with_owner(db: Database, **contract: Any) -> int:
    with db.transaction() as session:
        desk = _desk(session)
        customer = customers.save_customer(session, actor=desk, name="市第一人民医院信息科", vip_tier="vip",
                                           need_owner="owner1", service_specialist="service_desk",
                                           interface_person="李主任")
        customers.link_user(session, actor=desk, customer_id=customer.id, username="requester")
        if contract:
            customers.save_contract(session, actor=desk, code="HT-1", customer_id=customer.id, title="运维合同",
                                    **contract)
        return customer.id


def test_the_permission_step_goes_to_the_customers_need_owner(zoned: Database) -> None:
    _customer_with_owner(zoned)
    flow = Flow(zoned, "other_service", h.request())
    _complete(flow, test_other_service.UP_TO_PERMISSION)  # 工程师现场检测与处理: the zone's community manager
    ready = _ready(flow, "customer_permission")
    assert (ready["group"], ready["assignee"]) == (None, "owner1")
    with pytest.raises(Forbidden):  # the requester raised it, but the need owner decides
        flow.complete("customer_permission", h.customer_permission(permitted=True), "requester")
    _complete(flow, [test_other_service.PERMITTED._replace(user="owner1"), test_other_service.EXECUTED,
                     test_other_service.RECORDED])
    assert flow.status() == "completed"
    assert _verdict(zoned, flow.id).ok


def test_without_a_need_owner_the_requester_grants_permission_as_before(zoned: Database) -> None:
    flow = Flow(zoned, "other_service", h.request())
    _complete(flow, [*test_other_service.UP_TO_PERMISSION, test_other_service.PERMITTED])
    assert _ready(flow, "customer_permission")["assignee"] == "requester"


def test_the_warranty_runs_three_years_from_acceptance_unless_agreed(zoned: Database) -> None:
    customer_id = _customer_with_owner(zoned, accepted_on="2026-01-15")
    with zoned.transaction() as session:
        desk = _desk(session)
        contract = customers.save_contract(session, actor=desk, code="HT-1", customer_id=customer_id, title="t",
                                           accepted_on="2026-01-15")
        assert contract.warranty_until == dt.date(2029, 1, 15)
        leap = customers.save_contract(session, actor=desk, code="HT-2", customer_id=customer_id, title="t",
                                       accepted_on="2024-02-29")
        assert leap.warranty_until == dt.date(2027, 2, 28)
        agreed = customers.save_contract(session, actor=desk, code="HT-3", customer_id=customer_id, title="t",
                                         accepted_on="2026-01-15", warranty_until="2031-01-15")
        assert agreed.warranty_until == dt.date(2031, 1, 15)
        with pytest.raises(InvalidInput, match="cannot end before acceptance"):
            customers.save_contract(session, actor=desk, code="HT-4", customer_id=customer_id, title="t",
                                    accepted_on="2026-01-15", warranty_until="2025-01-01")
        with pytest.raises(InvalidInput, match="must be a date"):
            customers.save_contract(session, actor=desk, code="HT-4", customer_id=customer_id, title="t",
                                    accepted_on="15.1.2026")


def _close(found: dt.timedelta, expected: dt.timedelta) -> bool:
    """Deadlines are kept to the second."""
    return abs(found - expected) < dt.timedelta(seconds=1)


def test_a_contracts_sla_level_gives_the_requests_deadlines(zoned: Database) -> None:
    today = dt.date.today()
    _customer_with_owner(zoned, accepted_on=(today - dt.timedelta(days=30)).isoformat(), sla_level="I")
    flow = Flow(zoned, "service_desk", h.request())
    other = Flow(zoned, "service_desk", {**h.request(), "organisation": "某公司"}, user="engineer")
    with zoned.transaction() as session:
        level_i, lenient = sla.get_policy(session, "I"), sla.get_policy(session, None)
    mine, theirs = _case(zoned, flow.id), _case(zoned, other.id)
    assert _close(mine.resolve_due_at - mine.opened_at, level_i.resolve)
    assert _close(theirs.resolve_due_at - theirs.opened_at, lenient.resolve)
    assert level_i.resolve < lenient.resolve
    assert _started(flow)["sla_resolve_due"] != _started(other)["sla_resolve_due"]
    assert _verdict(zoned, flow.id).ok


def test_a_contract_out_of_warranty_gives_no_sla_level(zoned: Database) -> None:
    _customer_with_owner(zoned, accepted_on="2010-01-01", sla_level="I")
    flow = Flow(zoned, "service_desk", h.request())
    with zoned.transaction() as session:
        lenient = sla.get_policy(session, None)
    record = _case(zoned, flow.id)
    assert _close(record.resolve_due_at - record.opened_at, lenient.resolve)


def test_the_health_check_cycle_is_kept_per_contract(zoned: Database) -> None:
    _customer_with_owner(zoned, accepted_on="2026-01-15")
    with zoned.transaction() as session:
        contract_id = customers.list_contracts(session, actor=_desk(session))[0]["contract"].id
        customers.set_health_check_cycle(session, actor=_desk(session), contract_id=contract_id, cycle="P3M")
        with pytest.raises(InvalidInput):
            customers.set_health_check_cycle(session, actor=_desk(session), contract_id=contract_id, cycle="monthly")
        with pytest.raises(Forbidden):
            customers.set_health_check_cycle(session, actor=users.actor(session, "engineer"),
                                             contract_id=contract_id, cycle="P1M")
        row = session.scalars(select(HealthCheckSchedule)).one()
        assert (row.contract, row.organisation, row.cycle) == ("HT-1", "市第一人民医院信息科", "P3M")


def test_a_customers_need_owner_must_be_a_user(zoned: Database) -> None:
    with zoned.transaction() as session:
        with pytest.raises(InvalidInput, match="no active user 'nobody'"):
            customers.save_customer(session, actor=_desk(session), name="x", need_owner="nobody")
        with pytest.raises(InvalidInput, match="VIP tier"):
            customers.save_customer(session, actor=_desk(session), name="x", vip_tier="gold")


# --- the migration ------------------------------------------------------------------------------------------

ZONE_TABLES = {"service_station", "maintenance_group", "zone", "zone_mapping", "customer", "customer_contact",
               "customer_user", "contract"}


def _migrates_up_and_down(url: str) -> None:
    schema.upgrade(url, "api_0001")
    engine = create_engine(url)
    try:
        assert not ZONE_TABLES & set(inspect(engine).get_table_names())
        schema.upgrade(url, "zones_0001")
        assert ZONE_TABLES <= set(inspect(engine).get_table_names())
        assert "customer_id" in {c["name"] for c in inspect(engine).get_columns("service_case")}
        assert {"ix_service_case_zone", "ix_service_case_customer"} <= {
            i["name"] for i in inspect(engine).get_indexes("service_case")}
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO customer (name, vip_tier) VALUES ('县医院', 'vip')"))
        schema.downgrade(url, "api_0001")
        inspect(engine).clear_cache()
        assert not ZONE_TABLES & set(inspect(engine).get_table_names())
        assert "customer_id" not in {c["name"] for c in inspect(engine).get_columns("service_case")}
        assert "ix_service_case_zone" not in {i["name"] for i in inspect(engine).get_indexes("service_case")}
        schema.upgrade(url, "zones_0001")  # and up again, from what the downgrade left
    finally:
        engine.dispose()


def test_the_zone_and_customer_tables_migrate_up_and_down_on_sqlite(tmp_path: Path) -> None:
    _migrates_up_and_down(f"sqlite:///{tmp_path / 'm.db'}")


def test_the_zone_and_customer_tables_migrate_up_and_down_on_postgresql(postgres_server: pg.PostgresServer) -> None:
    _migrates_up_and_down(postgres_server.create_database("opsflow_zones_migration"))
