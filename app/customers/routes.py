"""Pages of the customer archive, the contracts, the zones and the mapping table.

The engine (engine.desk.customers, engine.desk.zones) checks who may and what is valid; a refusal of the
input comes back on the page it was sent from, named, and nothing is saved.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy.orm import Session

from app.customers import bp
from app.web.error_details import describe
from app.web.session import actor, unit_of_work
from engine.desk import customers, zones
from engine.desk.levels import FAULT_LEVELS
from engine.errors import InvalidInput


def _form(*names: str) -> dict[str, Any]:
    return {name: request.form.get(name, "") for name in names}


def _save(change: Callable[[Session], Any], back: str, done: str) -> Any:
    """Run one change in a transaction; flash what happened and go back to `back`."""
    try:
        with unit_of_work() as session:
            change(session)
    except InvalidInput as error:
        flash(describe(error), "error")
    else:
        flash(done, "success")
    return redirect(back, code=303)


# --- customers -------------------------------------------------------------------------------------------

CUSTOMER_FIELDS = ("name", "address", "customer_type", "vip_tier", "interface_person", "need_owner",
                   "service_specialist")


@bp.get("/customers/")
def index() -> Any:
    with unit_of_work() as session:
        found = customers.list_customers(session, actor=actor())
        return render_template("customers/index.html", customers=found, tiers=customers.VIP_TIERS)


@bp.post("/customers/")
def create() -> Any:
    values = _form(*CUSTOMER_FIELDS)
    try:
        with unit_of_work() as session:
            customer_id = customers.save_customer(session, actor=actor(), **values).id
    except InvalidInput as error:
        flash(describe(error), "error")
        return redirect(url_for("customers.index"), code=303)
    flash(gettext("Customer %(name)s is saved.", name=values["name"].strip()), "success")
    return redirect(url_for("customers.customer", customer_id=customer_id), code=303)


@bp.get("/customers/<int:customer_id>")
def customer(customer_id: int) -> Any:
    with unit_of_work() as session:
        page = customers.customer_page(session, actor=actor(), customer_id=customer_id)
        return render_template("customers/customer.html", page=page, tiers=customers.VIP_TIERS, levels=FAULT_LEVELS)


@bp.post("/customers/<int:customer_id>")
def save(customer_id: int) -> Any:
    values = _form(*CUSTOMER_FIELDS)
    return _save(lambda s: customers.save_customer(s, actor=actor(), customer_id=customer_id, **values),
                 url_for("customers.customer", customer_id=customer_id), gettext("Saved."))


@bp.post("/customers/<int:customer_id>/contacts")
def add_contact(customer_id: int) -> Any:
    values = _form("name", "role", "phone", "email")
    return _save(lambda s: customers.add_contact(s, actor=actor(), customer_id=customer_id, **values),
                 url_for("customers.customer", customer_id=customer_id), gettext("Contact added."))


@bp.post("/customers/<int:customer_id>/contacts/<int:contact_id>/delete")
def remove_contact(customer_id: int, contact_id: int) -> Any:
    return _save(lambda s: customers.remove_contact(s, actor=actor(), contact_id=contact_id),
                 url_for("customers.customer", customer_id=customer_id), gettext("Contact removed."))


@bp.post("/customers/<int:customer_id>/users")
def link_user(customer_id: int) -> Any:
    username = request.form.get("username", "")
    return _save(lambda s: customers.link_user(s, actor=actor(), customer_id=customer_id, username=username),
                 url_for("customers.customer", customer_id=customer_id),
                 gettext("%(username)s belongs to this customer now.", username=username.strip()))


@bp.post("/customers/<int:customer_id>/users/<username>/delete")
def unlink_user(customer_id: int, username: str) -> Any:
    return _save(lambda s: customers.unlink_user(s, actor=actor(), username=username),
                 url_for("customers.customer", customer_id=customer_id), gettext("Saved."))


# --- contracts -------------------------------------------------------------------------------------------

CONTRACT_FIELDS = ("code", "title", "accepted_on", "warranty_until", "sla_level")


@bp.get("/contracts/")
def contracts() -> Any:
    with unit_of_work() as session:
        rows = customers.list_contracts(session, actor=actor())
        return render_template("customers/contracts.html", rows=rows)


@bp.post("/customers/<int:customer_id>/contracts")
def add_contract(customer_id: int) -> Any:
    values = _form(*CONTRACT_FIELDS)
    return _save(lambda s: customers.save_contract(s, actor=actor(), customer_id=customer_id, **values),
                 url_for("customers.customer", customer_id=customer_id),
                 gettext("Contract %(code)s is saved.", code=values["code"].strip()))


@bp.get("/contracts/<int:contract_id>")
def contract(contract_id: int) -> Any:
    with unit_of_work() as session:
        page = customers.contract_page(session, actor=actor(), contract_id=contract_id)
        return render_template("customers/contract.html", page=page, levels=FAULT_LEVELS)


@bp.post("/contracts/<int:contract_id>")
def save_contract(contract_id: int) -> Any:
    values = _form(*CONTRACT_FIELDS)

    def change(session: Session) -> None:
        customer_id = customers.get_contract(session, contract_id).customer_id
        customers.save_contract(session, actor=actor(), customer_id=customer_id, **values)

    return _save(change, url_for("customers.contract", contract_id=contract_id), gettext("Saved."))


@bp.post("/contracts/<int:contract_id>/health-check")
def health_check_cycle(contract_id: int) -> Any:
    cycle, active = request.form.get("cycle", ""), request.form.get("active") == "on"
    return _save(lambda s: customers.set_health_check_cycle(s, actor=actor(), contract_id=contract_id, cycle=cycle,
                                                            active=active),
                 url_for("customers.contract", contract_id=contract_id),
                 gettext("The health-check cycle is saved."))


# --- zones and the mapping table ---------------------------------------------------------------------------

@bp.get("/zones/")
def zone_overview() -> Any:
    with unit_of_work() as session:
        page = zones.overview(session, actor=actor())
        return render_template("customers/zones.html", page=page, kinds=zones.MAPPING_KINDS,
                               zone_choices=zones.zone_choices(session))


def _zone_change(change: Callable[[Session], Any], done: str) -> Any:
    return _save(change, url_for("customers.zone_overview"), done)


@bp.post("/zones/stations")
def save_station() -> Any:
    values = _form("code", "name")
    return _zone_change(lambda s: zones.save_station(s, actor=actor(), **values), gettext("Saved."))


@bp.post("/zones/groups")
def save_group() -> Any:
    values = _form("code", "name", "station", "leader")
    return _zone_change(lambda s: zones.save_group(s, actor=actor(), **values), gettext("Saved."))


@bp.post("/zones/zones")
def save_zone() -> Any:
    values = _form("code", "name", "group", "manager", "user_count")
    return _zone_change(lambda s: zones.save_zone(s, actor=actor(), **values), gettext("Saved."))


@bp.post("/zones/mappings")
def save_mapping() -> Any:
    values = _form("kind", "pattern", "zone")
    return _zone_change(lambda s: zones.save_mapping(s, actor=actor(), **values), gettext("Saved."))


@bp.post("/zones/mappings/<int:mapping_id>/delete")
def delete_mapping(mapping_id: int) -> Any:
    return _zone_change(lambda s: zones.delete_mapping(s, actor=actor(), mapping_id=mapping_id), gettext("Saved."))


@bp.post("/zones/correction")
def correct_zone() -> Any:
    """The service desk corrects a request's zone (recorded in the request's history)."""
    try:
        instance_id = int(request.form.get("instance_id", ""))
    except ValueError:
        flash(gettext("Give the number of the request."), "error")
        return redirect(url_for("customers.zone_overview"), code=303)
    zone, note = request.form.get("zone", ""), request.form.get("note", "").strip() or None
    return _zone_change(lambda s: zones.correct_zone(s, instance_id=instance_id, zone=zone, actor=actor(), note=note),
                        gettext("The zone of request no. %(id)d is corrected; it is recorded in its history.",
                                id=instance_id))
