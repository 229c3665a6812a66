"""The customer archive and contracts (seed 000 §3.2 其他服务, seed 001 §5 质保期, seed 003 第1篇 VIP).

A customer is an organisation with its contacts, the named interface person (接口负责人), the need owner
(用户需求负责人, a user: grants permission in 其他服务; engine.desk.zones routes that step to them), the
customer-service specialist (客服专员) and a VIP tier. Users of the customer's staff belong to it: the
requests they raise are the customer's (the case record's customer_id), otherwise the organisation on the
request form names it.

A contract runs from acceptance (验收合格): the warranty ends DEFAULT_WARRANTY_YEARS later unless agreed
otherwise. Its SLA level (a row of the SLA policy table, by fault level) is the agreed service: a request
of the customer starts with that level's deadlines instead of the most lenient, until 事件分类 sets its
own level (`contract_sla_at_start`, recorded as engine data like every deadline). Its health-check cycle
is the contract's row of health_check_schedule (engine.desk.schedules), kept from the contract page.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import access, clock
from engine.desk import schedules, sla
from engine.desk.levels import FAULT_LEVELS
from engine.errors import InvalidInput, NotFound
from engine.process import hooks
from engine.store.customer_models import Contract, Customer, CustomerContact, CustomerUser
from engine.store.models import HealthCheckSchedule, ProcessInstance, TaskRecord, User
from engine.users import Actor

VIP_TIERS = ("standard", "vip", "key")  # 普通, VIP, 重点客户
DEFAULT_WARRANTY_YEARS = 3  # seed 001 §5: 质量保证期为3年，以验收合格证书签署之日起计算


def text_field(value: Any, name: str, *, limit: int, required: bool = False) -> str | None:
    """A text input, stripped (None when empty), refused when required and empty or longer than `limit`."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            raise InvalidInput(f"{name} is required", field_errors={name: ["required"]})
        return None
    if len(text) > limit:
        raise InvalidInput(f"{name} longer than {limit} characters", field_errors={name: [f"at most {limit}"]})
    return text


def active_user(session: Session, value: Any, name: str) -> User | None:
    """The active user a field names (None when empty); an unknown or deactivated name is refused."""
    username = text_field(value, name, limit=100)
    if username is None:
        return None
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.is_active:
        raise InvalidInput(f"{name}: there is no active user {username!r}", field_errors={name: ["unknown user"]})
    return user


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return customer


def save_customer(session: Session, *, actor: Actor, customer_id: int | None = None, name: Any, address: Any = None,
                  customer_type: Any = None, vip_tier: Any = "standard", interface_person: Any = None,
                  need_owner: Any = None, service_specialist: Any = None) -> Customer:
    """Create (customer_id None) or change a customer."""
    access.require_keep_customers(actor)
    name_ = str(text_field(name, "name", limit=200, required=True))
    if vip_tier not in VIP_TIERS:
        raise InvalidInput(f"VIP tier must be one of {', '.join(VIP_TIERS)}",
                           field_errors={"vip_tier": list(VIP_TIERS)})
    same_name = session.scalars(select(Customer).where(Customer.name == name_)).first()
    if same_name is not None and same_name.id != customer_id:
        raise InvalidInput(f"there is already a customer {name_!r}", field_errors={"name": ["already exists"]})
    owner, specialist = active_user(session, need_owner, "need_owner"), active_user(session, service_specialist,
                                                                        "service_specialist")
    customer = get_customer(session, customer_id) if customer_id is not None else Customer(name=name_)
    customer.name, customer.vip_tier = name_, str(vip_tier)
    customer.address = text_field(address, "address", limit=300)
    customer.customer_type = text_field(customer_type, "customer_type", limit=40)
    customer.interface_person = text_field(interface_person, "interface_person", limit=200)
    customer.need_owner = owner.username if owner else None
    customer.service_specialist = specialist.username if specialist else None
    if customer_id is None:
        session.add(customer)
    session.flush()
    return customer


def add_contact(session: Session, *, actor: Actor, customer_id: int, name: Any, role: Any = None, phone: Any = None,
                email: Any = None) -> CustomerContact:
    access.require_keep_customers(actor)
    get_customer(session, customer_id)
    contact = CustomerContact(customer_id=customer_id, name=text_field(name, "name", limit=200, required=True),
                              role=text_field(role, "role", limit=100), phone=text_field(phone, "phone", limit=40),
                              email=text_field(email, "email", limit=200))
    session.add(contact)
    session.flush()
    return contact


def remove_contact(session: Session, *, actor: Actor, contact_id: int) -> None:
    access.require_keep_customers(actor)
    contact = session.get(CustomerContact, contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} does not exist")
    session.delete(contact)
    session.flush()


def link_user(session: Session, *, actor: Actor, customer_id: int, username: Any) -> None:
    """The user belongs to the customer from now on (a user belongs to one customer)."""
    access.require_keep_customers(actor)
    get_customer(session, customer_id)
    user = active_user(session, username, "username")
    if user is None:
        raise InvalidInput("username is required", field_errors={"username": ["required"]})
    link = session.get(CustomerUser, user.id)
    if link is None:
        session.add(CustomerUser(user_id=user.id, customer_id=customer_id))
    else:
        link.customer_id = customer_id
    session.flush()


def unlink_user(session: Session, *, actor: Actor, username: str) -> None:
    access.require_keep_customers(actor)
    user_id = session.scalars(select(User.id).where(User.username == username)).first()
    link = session.get(CustomerUser, user_id) if user_id is not None else None
    if link is not None:
        session.delete(link)
        session.flush()


# --- contracts -------------------------------------------------------------------------------------------

def warranty_end(accepted_on: dt.date, years: int = DEFAULT_WARRANTY_YEARS) -> dt.date:
    """The last day before the warranty's anniversary (29 February accepted: 28 February then)."""
    try:
        return accepted_on.replace(year=accepted_on.year + years)
    except ValueError:
        return accepted_on.replace(year=accepted_on.year + years, day=28)


def _date(value: Any, name: str, *, required: bool) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            raise InvalidInput(f"{name} is required", field_errors={name: ["required"]})
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a date such as 2026-12-04, got {text!r}",
                           field_errors={name: ["YYYY-MM-DD"]}) from None


def save_contract(session: Session, *, actor: Actor, code: Any, customer_id: int, title: Any, accepted_on: Any,
                  warranty_until: Any = None, sla_level: Any = None) -> Contract:
    """Create or change a contract (by code); the warranty ends DEFAULT_WARRANTY_YEARS after acceptance
    unless `warranty_until` says otherwise."""
    access.require_keep_customers(actor)
    code_ = str(text_field(code, "code", limit=100, required=True))
    title_ = str(text_field(title, "title", limit=200, required=True))
    get_customer(session, customer_id)
    accepted = _date(accepted_on, "accepted_on", required=True)
    assert accepted is not None
    until = _date(warranty_until, "warranty_until", required=False) or warranty_end(accepted)
    if until < accepted:
        raise InvalidInput("the warranty cannot end before acceptance",
                           field_errors={"warranty_until": ["≥ accepted_on"]})
    level = text_field(sla_level, "sla_level", limit=10)
    if level is not None and level not in FAULT_LEVELS:
        raise InvalidInput(f"SLA level must be one of {', '.join(FAULT_LEVELS)}",
                           field_errors={"sla_level": list(FAULT_LEVELS)})
    contract = session.scalars(select(Contract).where(Contract.code == code_)).first()
    if contract is None:
        contract = Contract(code=code_)
        session.add(contract)
    contract.customer_id, contract.title, contract.accepted_on = customer_id, title_, accepted
    contract.warranty_until, contract.sla_level = until, level
    session.flush()
    return contract


def get_contract(session: Session, contract_id: int) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"contract {contract_id} does not exist")
    return contract


def set_health_check_cycle(session: Session, *, actor: Actor, contract_id: int, cycle: Any,
                           active: bool = True) -> HealthCheckSchedule:
    """The contract's inspection cycle (an ISO 8601 duration such as P1M); the health check starts by itself."""
    access.require_keep_customers(actor, "change a contract's health-check cycle")
    contract = get_contract(session, contract_id)
    customer = get_customer(session, contract.customer_id)
    text = text_field(cycle, "cycle", limit=100, required=True)
    return schedules.set_schedule(session, contract=contract.code, organisation=customer.name, cycle=str(text),
                                  active=active)


def in_force(session: Session, customer_id: int, on: dt.date) -> Contract | None:
    """The customer's contract in warranty on that day (the latest accepted, if several)."""
    return session.scalars(select(Contract).where(Contract.customer_id == customer_id, Contract.accepted_on <= on,
                                                  Contract.warranty_until >= on)
                           .order_by(Contract.accepted_on.desc(), Contract.id.desc())).first()


# --- pages -----------------------------------------------------------------------------------------------

def list_customers(session: Session, *, actor: Actor) -> list[Customer]:
    access.require_read_customers(actor)
    return list(session.scalars(select(Customer).order_by(Customer.name)))


def customer_page(session: Session, *, actor: Actor, customer_id: int) -> dict[str, Any]:
    access.require_read_customers(actor)
    customer = get_customer(session, customer_id)
    contacts = session.scalars(select(CustomerContact).where(CustomerContact.customer_id == customer_id)
                               .order_by(CustomerContact.id))
    members = session.scalars(select(User.username).join(CustomerUser, CustomerUser.user_id == User.id)
                              .where(CustomerUser.customer_id == customer_id).order_by(User.username))
    contracts = session.scalars(select(Contract).where(Contract.customer_id == customer_id).order_by(Contract.code))
    return {"customer": customer, "contacts": list(contacts), "users": list(members), "contracts": list(contracts),
            "may_keep": access.may_keep_customers(actor)}


def list_contracts(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """Every contract with its customer, warranty state and health-check cycle."""
    access.require_read_customers(actor)
    today = clock.now().date()
    cycles = {s.contract: s for s in session.scalars(select(HealthCheckSchedule))}
    rows = session.execute(select(Contract, Customer.name).join(Customer, Customer.id == Contract.customer_id)
                           .order_by(Contract.code))
    return [{"contract": c, "customer": name, "in_warranty": c.accepted_on <= today <= c.warranty_until,
             "schedule": cycles.get(c.code)} for c, name in rows]


def contract_page(session: Session, *, actor: Actor, contract_id: int) -> dict[str, Any]:
    access.require_read_customers(actor)
    contract = get_contract(session, contract_id)
    schedule = session.scalars(select(HealthCheckSchedule).where(HealthCheckSchedule.contract == contract.code)).first()
    today = clock.now().date()
    return {"contract": contract, "customer": get_customer(session, contract.customer_id), "schedule": schedule,
            "in_warranty": contract.accepted_on <= today <= contract.warranty_until,
            "may_keep": access.may_keep_customers(actor)}


# --- the request's customer (engine.desk.zones routes by it) ----------------------------------------------

def _facts(customer: Customer, by: str) -> dict[str, Any]:
    """What the routing records of the customer (the engine data must be plain JSON)."""
    return {"id": customer.id, "name": customer.name, "address": customer.address, "need_owner": customer.need_owner,
            "vip_tier": customer.vip_tier, "by": by}


def customer_for(session: Session, *, username: str | None, organisation: Any) -> dict[str, Any] | None:
    """The customer of a request: its requester's, else the one named like the form's organisation."""
    if username:
        found = session.scalars(select(Customer).join(CustomerUser, CustomerUser.customer_id == Customer.id)
                                .join(User, User.id == CustomerUser.user_id).where(User.username == username)).first()
        if found is not None:
            return _facts(found, "requester")
    if isinstance(organisation, str) and organisation.strip():
        found = session.scalars(select(Customer).where(Customer.name == organisation.strip())).first()
        if found is not None:
            return _facts(found, "organisation")
    return None


_OF_REQUEST = "customer_of_request"


def of_request(start: hooks.Start) -> dict[str, Any] | None:
    """customer_for the request being started, looked up once per start (the receivers of zones and of the
    contract's SLA both ask)."""
    pending = start.instance.pending
    if _OF_REQUEST not in pending:
        pending[_OF_REQUEST] = customer_for(start.session, username=start.instance.started_by,
                                            organisation=start.data.get("organisation"))
    customer: dict[str, Any] | None = pending[_OF_REQUEST]
    return customer


def customer_by_id(session: Session, customer_id: int | None) -> dict[str, Any] | None:
    customer = session.get(Customer, customer_id) if customer_id is not None else None
    return _facts(customer, "case") if customer is not None else None


def decisions_waiting(session: Session, *, actor: Actor) -> list[Any]:
    """Steps routed to the actor by name on requests others raised (a need owner's permission steps)."""
    return list(session.execute(
        select(TaskRecord.id, TaskRecord.name, TaskRecord.instance_id, ProcessInstance.title)
        .join(ProcessInstance, ProcessInstance.id == TaskRecord.instance_id)
        .where(TaskRecord.assignee == actor.username, TaskRecord.state == "ready", TaskRecord.candidate_group.is_(None),
               ProcessInstance.started_by != actor.username)
        .order_by(TaskRecord.id)))


def contract_sla_at_start(start: hooks.Start) -> dict[str, Any]:
    """instance_starting (after the SLA's own receiver): a request that names no level starts with the
    deadlines of the level its customer's contract in force agreed."""
    if start.data.get("fault_level") or not sla.uses_sla(start.definition):
        return {}
    customer = of_request(start)
    if customer is None:
        return {}
    contract = in_force(start.session, customer["id"], start.instance.started_at.date())
    if contract is None or contract.sla_level is None:
        return {}
    return sla.deadline_variables(sla.get_policy(start.session, contract.sla_level), start.instance.started_at)
