"""客户服务经理制 (seed 003 第1篇): zones, and routing requests by them.

服务站 (station) → 维护组 (maintenance group: 3–5 zones, a leader, its members an app group) → 片区 (zone:
one 社区经理, the users it serves). A request gets its zone from the mapping table (engine.store.customer_models.
ZoneMapping): a zone named on the request form (code or name) first, then the organisation, then the
customer's address; a pattern contained in the text matches, the longest pattern wins.

Routing, when the zone is known (otherwise the diagram's lane group, as before):
- on-site work (ONSITE_FORMS) goes to the zone's maintenance group, assigned to the engineer 派发 named (issue 11),
  the zone's 社区经理 when nobody was named; 派发's picker offers the 社区经理 first (`suggested_picks`);
- escalation (ESCALATION_FORMS) goes to the maintenance group, assigned to its leader (组长);
- the customer's permission step of 其他服务 (PERMISSION_FORMS) goes to the customer's 需求负责人
  (engine.desk.customers).
The receiver `route_at_start` returns the inputs (what was looked up, what matched, why) as the
`routing` variable and the resulting assignments as step.TASK_ROUTES: both are engine data, recorded
with the start, so the audit offers each task to the same group and person again. A correction by the
service desk (`correct_zone`) sets both anew through runtime.change_variables and is recorded as
history.ZONE_CORRECTED with the same variables, which the audit re-applies. It routes the tasks
opened after it; tasks already open keep their group and assignee.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import access, clock
from engine.desk import case, customers, pickers
from engine.errors import Conflict, InvalidInput, NotFound
from engine.process import history, hooks, runtime
from engine.process.step import ROUTE_YIELDS_TO_NAMED, TASK_ROUTES
from engine.store.customer_models import MaintenanceGroup, ServiceStation, Zone, ZoneMapping
from engine.store.models import Group, Membership, ServiceCase, User
from engine.users import Actor

MAPPING_KINDS = ("organisation", "address")
ONSITE_FORMS = ("onsite_resolution", "onsite_check")
ESCALATION_FORMS = ("escalate",)
PERMISSION_FORMS = ("customer_permission",)
ROUTING = "routing"  # the instance variable holding the routing inputs
MAX_ZONES_PER_GROUP = 5  # seed 003: 每3~5片区建立一个维护工作小组
MIN_ZONES_PER_GROUP = 3


def _text(value: Any, name: str, *, limit: int) -> str:
    return str(customers.text_field(value, name, limit=limit, required=True))


def _username(session: Session, value: Any, name: str) -> str | None:
    user = customers.active_user(session, value, name)
    return user.username if user is not None else None


def _join_group(session: Session, username: str | None, group_id: str) -> None:
    """The leader and the community managers work their group's tasks: they are made members of it."""
    if username is None:
        return
    user_id = session.scalars(select(User.id).where(User.username == username)).one()
    if session.get(Membership, (user_id, group_id)) is None:
        session.add(Membership(user_id=user_id, group_id=group_id))


# --- stations, groups, zones, the mapping table --------------------------------------------------------

def save_station(session: Session, *, actor: Actor, code: Any, name: Any) -> ServiceStation:
    access.require_keep_customers(actor)
    code_, name_ = _text(code, "code", limit=40), _text(name, "name", limit=200)
    station = session.scalars(select(ServiceStation).where(ServiceStation.code == code_)).first()
    if station is None:
        station = ServiceStation(code=code_, name=name_)
        session.add(station)
    station.name = name_
    session.flush()
    return station


def save_group(session: Session, *, actor: Actor, code: Any, name: Any, station: Any,
               leader: Any = None) -> MaintenanceGroup:
    """A maintenance group and the app group its members form (id `zone_<code>`, created if missing)."""
    access.require_keep_customers(actor)
    code_, name_ = _text(code, "code", limit=40), _text(name, "name", limit=200)
    found = session.scalars(select(ServiceStation).where(ServiceStation.code == station)).first()
    if found is None:
        raise InvalidInput(f"there is no service station {station!r}", field_errors={"station": ["unknown station"]})
    leader_ = _username(session, leader, "leader")
    group_id = f"zone_{code_}"
    if session.get(Group, group_id) is None:
        session.add(Group(id=group_id, name_zh=f"维护组 {name_}", name_en=f"Maintenance group {name_}"))
        session.flush()
    group = session.scalars(select(MaintenanceGroup).where(MaintenanceGroup.code == code_)).first()
    if group is None:
        group = MaintenanceGroup(code=code_, name=name_, station_id=found.id, group_id=group_id)
        session.add(group)
    group.name, group.station_id, group.leader = name_, found.id, leader_
    _join_group(session, leader_, group.group_id)
    session.flush()
    return group


def save_zone(session: Session, *, actor: Actor, code: Any, name: Any, group: Any, manager: Any = None,
              user_count: Any = 0) -> Zone:
    """A zone of a maintenance group (at most MAX_ZONES_PER_GROUP in one group)."""
    access.require_keep_customers(actor)
    code_, name_ = _text(code, "code", limit=40), _text(name, "name", limit=200)
    found = session.scalars(select(MaintenanceGroup).where(MaintenanceGroup.code == group)).first()
    if found is None:
        raise InvalidInput(f"there is no maintenance group {group!r}", field_errors={"group": ["unknown group"]})
    try:
        users_served = int(user_count or 0)
    except (TypeError, ValueError):
        raise InvalidInput(f"user count must be a whole number, got {user_count!r}",
                           field_errors={"user_count": ["a whole number"]}) from None
    if users_served < 0:
        raise InvalidInput("user count cannot be negative", field_errors={"user_count": ["≥ 0"]})
    manager_ = _username(session, manager, "manager")
    zone = session.scalars(select(Zone).where(Zone.code == code_)).first()
    if zone is None or zone.maintenance_group_id != found.id:
        members = session.scalar(select(func.count()).select_from(Zone).where(Zone.maintenance_group_id == found.id))
        if (members or 0) >= MAX_ZONES_PER_GROUP:
            raise InvalidInput(f"maintenance group {found.code} has {MAX_ZONES_PER_GROUP} zones already; a group "
                               f"serves {MIN_ZONES_PER_GROUP} to {MAX_ZONES_PER_GROUP} zones",
                               field_errors={"group": [f"at most {MAX_ZONES_PER_GROUP} zones"]})
    if zone is None:
        zone = Zone(code=code_, name=name_, maintenance_group_id=found.id)
        session.add(zone)
    zone.name, zone.maintenance_group_id, zone.manager, zone.user_count = name_, found.id, manager_, users_served
    _join_group(session, manager_, found.group_id)
    session.flush()
    return zone


def save_mapping(session: Session, *, actor: Actor, kind: Any, pattern: Any, zone: Any) -> ZoneMapping:
    """Add or correct a row of the mapping table (the same kind and pattern: its zone changes)."""
    access.require_keep_customers(actor, "change the zone mapping table")
    if kind not in MAPPING_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(MAPPING_KINDS)}",
                           field_errors={"kind": list(MAPPING_KINDS)})
    pattern_ = _text(pattern, "pattern", limit=200)
    target = get_zone(session, zone)
    row = session.scalars(select(ZoneMapping).where(ZoneMapping.kind == kind, ZoneMapping.pattern == pattern_)).first()
    if row is None:
        row = ZoneMapping(kind=kind, pattern=pattern_, zone_id=target.id)
        session.add(row)
    row.zone_id, row.updated_by, row.updated_at = target.id, actor.username, clock.now()
    session.flush()
    return row


def delete_mapping(session: Session, *, actor: Actor, mapping_id: int) -> None:
    access.require_keep_customers(actor, "change the zone mapping table")
    row = session.get(ZoneMapping, mapping_id)
    if row is None:
        raise NotFound(f"zone mapping {mapping_id} does not exist")
    session.delete(row)
    session.flush()


def get_zone(session: Session, code: Any) -> Zone:
    zone = session.scalars(select(Zone).where(Zone.code == code)).first() if isinstance(code, str) else None
    if zone is None:
        raise InvalidInput(f"there is no zone {code!r}", field_errors={"zone": ["unknown zone"]})
    return zone


def zone_choices(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every zone, for filters."""
    return [(z.code, z.name) for z in session.scalars(select(Zone).order_by(Zone.code))]


def overview(session: Session, *, actor: Actor) -> dict[str, Any]:
    """Stations with their groups and zones, and the mapping table, for the zones page."""
    access.require_read_customers(actor)
    stations = list(session.scalars(select(ServiceStation).order_by(ServiceStation.code)))
    groups = list(session.scalars(select(MaintenanceGroup).order_by(MaintenanceGroup.code)))
    zones = list(session.scalars(select(Zone).order_by(Zone.code)))
    zone_code = {z.id: z.code for z in zones}
    by_group: dict[int, list[Zone]] = {}
    for zone in zones:
        by_group.setdefault(zone.maintenance_group_id, []).append(zone)
    mappings = session.scalars(select(ZoneMapping).order_by(ZoneMapping.kind, ZoneMapping.pattern))
    return {
        "stations": [{"code": s.code, "name": s.name,
                      "groups": [{"code": g.code, "name": g.name, "group_id": g.group_id, "leader": g.leader,
                                  "few_zones": len(by_group.get(g.id, [])) < MIN_ZONES_PER_GROUP,
                                  "zones": [{"code": z.code, "name": z.name, "manager": z.manager,
                                             "user_count": z.user_count} for z in by_group.get(g.id, [])]}
                                 for g in groups if g.station_id == s.id]}
                     for s in stations],
        "mappings": [{"id": m.id, "kind": m.kind, "pattern": m.pattern, "zone": zone_code.get(m.zone_id),
                      "updated_by": m.updated_by, "updated_at": m.updated_at} for m in mappings],
        "may_keep": access.may_keep_customers(actor),
    }


# --- the lookup and the routes ---------------------------------------------------------------------------

def lookup(session: Session, *, given: str | None, organisation: str | None,
           address: str | None) -> tuple[Zone | None, dict[str, Any]]:
    """The zone of a request and why: (zone, {"by": "form" | "organisation" | "address" | None, ...})."""
    if given:
        zone = session.scalars(select(Zone).where((Zone.code == given) | (Zone.name == given))).first()
        if zone is not None:
            return zone, {"by": "form", "value": given}
    rows = list(session.execute(select(ZoneMapping, Zone).join(Zone, Zone.id == ZoneMapping.zone_id)))
    for kind, value in (("organisation", organisation), ("address", address)):
        if not value:
            continue
        matches = [(m, z) for m, z in rows if m.kind == kind and m.pattern in value]
        if matches:
            mapping, zone = max(matches, key=lambda mz: (len(mz[0].pattern), -mz[0].id))
            return zone, {"by": kind, "value": value, "pattern": mapping.pattern, "mapping_id": mapping.id}
    return None, {"by": None, "organisation": organisation, "address": address}


def _routing(session: Session, zone: Zone | None, why: dict[str, Any],
             customer: dict[str, Any] | None) -> dict[str, Any]:
    """The routing variables: the inputs (zone, why, its group and people, the customer) and the routes."""
    routing: dict[str, Any] = {"zone": None, "why": why, "customer": customer}
    routes: dict[str, dict[str, Any]] = {}
    if zone is not None:
        group = session.get(MaintenanceGroup, zone.maintenance_group_id)
        assert group is not None  # a foreign key
        routing.update(zone=zone.code, group=group.group_id, manager=zone.manager, leader=group.leader)
        for form in ONSITE_FORMS:
            routes[form] = {"group": group.group_id, "assignee": zone.manager, ROUTE_YIELDS_TO_NAMED: True}
        for form in ESCALATION_FORMS:
            routes[form] = {"group": group.group_id, "assignee": group.leader}
    need_owner = customer.get("need_owner") if customer else None
    if need_owner:
        # No group: the need owner alone holds it (engine.access.holder), as the requester would.
        for form in PERMISSION_FORMS:
            routes[form] = {"group": None, "assignee": need_owner}
    return {ROUTING: routing, TASK_ROUTES: routes}


def route_at_start(start: hooks.Start) -> dict[str, Any]:
    """instance_starting: the request's customer and zone, and who gets its zone's and customer's tasks."""
    session, data = start.session, start.data
    customer = customers.of_request(start)
    if session.scalar(select(Zone.id).limit(1)) is None:  # no zones set up: the diagram's lanes
        return _routing(session, None, {"by": None, "zones": "none set up"}, customer) if customer else {}
    given = data.get("zone") if isinstance(data.get("zone"), str) else None
    organisation = data.get("organisation") if isinstance(data.get("organisation"), str) else None
    zone, why = lookup(session, given=given, organisation=organisation,
                       address=customer["address"] if customer else None)
    if zone is None and customer is not None and customer["name"] != organisation:
        zone, why = lookup(session, given=None, organisation=customer["name"], address=customer["address"])
    return _routing(session, zone, why, customer)


# Pickers a zone fills in advance: form → (user field, its group). 派发 names the on-site engineer; the zone's
# 社区经理 is the one to name unless the service desk knows better.
_SUGGESTED_PICKS = {"dispatch_onsite": ("engineer", "engineer")}


def suggested_picks(session: Session, *, instance_id: int, form_key: str | None) -> dict[str, str]:
    """The values a task's form starts with from its request's zone: {field: user name} (empty when the form
    picks nobody, the case has no zone, its zone no 社区经理, or the manager may not be picked there)."""
    field_group = _SUGGESTED_PICKS.get(form_key or "")
    if field_group is None:
        return {}
    manager = session.scalar(select(Zone.manager).join(ServiceCase, ServiceCase.zone == Zone.code)
                             .where(ServiceCase.instance_id == instance_id))
    field, group = field_group
    if not manager or not pickers.is_member(session, manager, group):
        return {}
    return {field: manager}


def record_routing(start: hooks.Start) -> None:
    """instance_started: the case carries the zone and the customer the routing found."""
    routing = start.engine_data.get(ROUTING) or {}
    values: dict[str, Any] = {}
    if routing.get("zone"):
        values["zone"] = routing["zone"]
    if routing.get("customer"):
        values["customer_id"] = routing["customer"]["id"]
    if values:
        case.stage(start.instance, **values)


@clock.one_instant
def correct_zone(session: Session, *, instance_id: int, zone: str, actor: Actor, note: str | None = None) -> None:
    """The service desk corrects the zone of a running request: recorded, and the tasks opened from now on
    go to the new zone's group and people."""
    instance = runtime.load_instance(session, instance_id)
    access.require_correct_zone(instance, actor)
    if instance.status != "running":
        raise Conflict(f"request {instance_id} is already {instance.status}")
    if note and len(note) > 2000:
        raise InvalidInput("note longer than 2000 characters", field_errors={"note": ["at most 2000 characters"]})
    target = get_zone(session, zone)
    before = case.get(session, instance_id)
    customer = customers.customer_by_id(session, before.customer_id)
    variables = _routing(session, target, {"by": "correction", "actor": actor.username, "note": note}, customer)
    case.stage(instance, zone=target.code)
    runtime.change_variables(session, instance=instance, variables=variables, actor=actor.username,
                             kind=history.ZONE_CORRECTED,
                             payload={"from": before.zone, "to": target.code, "note": note, "engine_data": variables})
