"""Spare-parts pages. The engine decides who may do what and books every movement (engine.desk.parts)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from sqlalchemy.orm import Session

from app.parts import bp
from app.web.i18n import locale
from app.web.session import actor, unit_of_work
from engine import access
from engine.desk import parts
from engine.errors import InvalidInput, NotFound

KIND_NAMES = {
    "receive": lazy_gettext("received"),
    "issue": lazy_gettext("issued to a case"),
    "return": lazy_gettext("returned"),
    "write_off": lazy_gettext("written off"),
    "adjust": lazy_gettext("stock-check adjustment"),
}
APPROVAL_STATUS_NAMES = {
    "pending": lazy_gettext("waiting for a manager"),
    "approved": lazy_gettext("approved"),
    "rejected": lazy_gettext("rejected"),
    "used": lazy_gettext("used"),
}


@bp.app_template_global()
def parts_picker() -> dict[str, Any]:
    """For the parts_used rows of a task form (a global, so the imported form macros see it): the parts in
    stock and the centres; asked only where a form has parts rows."""
    with unit_of_work() as session:
        return parts.picker(session)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"parts_kind_names": KIND_NAMES}


@bp.before_request
def _readers_only() -> None:
    access.require_read_parts(actor())


def _number(name: str, *, minimum: int = 1) -> int:
    raw = request.form.get(name, "").strip()
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:  # a whole number above 0 (a quantity) or from 0 (a minimum, a count)
        raise InvalidInput(parts.say("quantity" if minimum > 0 else "minimum", locale()))
    return value


def _act(change: Callable[[Session], Any], done: str, back: str) -> Any:
    """One change in one transaction; a refusal is shown on the page it came from, nothing saved."""
    try:
        with unit_of_work() as session:
            change(session)
    except (InvalidInput, NotFound) as error:
        flash(error.message, "error")
    else:
        flash(done, "success")
    return redirect(back)


def _field(name: str) -> str:
    return request.form.get(name, "").strip()


# --- catalogue ------------------------------------------------------------------------------------

@bp.get("/")
def catalogue() -> Any:
    with unit_of_work() as session:
        rows, centres, suppliers = parts.catalogue(session), parts.centres(session), parts.suppliers(session)
    return render_template("parts/catalogue.html", rows=rows, centres=centres, suppliers=suppliers,
                           may_keep=access.may_keep_parts(actor()))


@bp.post("/new")
def new_part() -> Any:
    return _act(lambda session: parts.add_part(
        session, code=_field("code"), label=_field("label"), model=_field("model"),
        supplier=_field("supplier") or None, unit_price_yuan=_field("unit_price") or 0, actor=actor(),
        locale=locale()), gettext("The part is in the catalogue."), url_for("parts.catalogue"))


@bp.post("/centres")
def new_centre() -> Any:
    return _act(lambda session: parts.add_centre(session, code=_field("code"), name=_field("name"), actor=actor(),
                                                 locale=locale()),
                gettext("The service centre was added."), url_for("parts.catalogue"))


# --- stock ----------------------------------------------------------------------------------------

@bp.get("/stock")
def stock() -> Any:
    centre = request.args.get("centre", "").strip()
    with unit_of_work() as session:
        centres = parts.centres(session)
        chosen = next((c for c in centres if c["code"] == centre), None)
        rows = parts.stock(session, centre_id=chosen["id"] if chosen else None)
        tasks = parts.replenishments(session)
        catalogue_rows = parts.catalogue(session)
    return render_template("parts/stock.html", rows=rows, centres=centres, centre=centre, tasks=tasks,
                           catalogue=catalogue_rows, may_keep=access.may_keep_parts(actor()))


def _back_to_stock() -> str:
    return url_for("parts.stock", centre=request.form.get("back_centre") or None)


@bp.post("/stock/receive")
def receive() -> Any:
    return _act(lambda session: parts.receive(
        session, part=_field("part"), centre=_field("centre"), quantity=_number("quantity"),
        supplier=_field("supplier") or None, note=_field("note"), actor=actor(), locale=locale()),
        gettext("Received and booked in the ledger."), _back_to_stock())


@bp.post("/stock/write-off")
def write_off() -> Any:
    return _act(lambda session: parts.write_off(
        session, part=_field("part"), centre=_field("centre"), quantity=_number("quantity"), note=_field("note"),
        actor=actor(), locale=locale()), gettext("Written off and booked in the ledger."), _back_to_stock())


@bp.post("/stock/return")
def return_part() -> Any:
    instance = _field("instance_id")
    return _act(lambda session: parts.return_to_stock(
        session, part=_field("part"), centre=_field("centre"), quantity=_number("quantity"),
        instance_id=int(instance) if instance.isdigit() else None, note=_field("note"), actor=actor(),
        locale=locale()), gettext("Returned to stock and booked in the ledger."), _back_to_stock())


@bp.post("/stock/minimum")
def minimum() -> Any:
    return _act(lambda session: parts.set_minimum(
        session, part=_field("part"), centre=_field("centre"), minimum=_number("minimum", minimum=0), actor=actor(),
        locale=locale()), gettext("The minimum stock was set."), _back_to_stock())


@bp.post("/replenishment/<int:task_id>/close")
def close_replenishment(task_id: int) -> Any:
    return _act(lambda session: parts.close_replenishment(session, task_id=task_id, actor=actor(), locale=locale()),
                gettext("The replenishment task is closed."), url_for("parts.stock"))


# --- ledger ---------------------------------------------------------------------------------------

@bp.get("/ledger")
def ledger() -> Any:
    filters = {name: request.args.get(name, "").strip() for name in ("part", "centre", "kind", "instance")}
    try:
        with unit_of_work() as session:
            rows = parts.ledger(session, part=filters["part"] or None, centre=filters["centre"] or None,
                                kind=filters["kind"] if filters["kind"] in parts.KINDS else None,
                                instance_id=int(filters["instance"]) if filters["instance"].isdigit() else None)
    except InvalidInput as error:
        flash(error.message, "error")
        rows = []
    return render_template("parts/ledger.html", rows=rows, filters=filters, kinds=parts.KINDS)


# --- suppliers ------------------------------------------------------------------------------------

@bp.get("/suppliers")
def suppliers() -> Any:
    with unit_of_work() as session:
        rows = parts.suppliers(session)
    return render_template("parts/suppliers.html", rows=rows, may_keep=access.may_keep_parts(actor()))


@bp.post("/suppliers")
def new_supplier() -> Any:
    return _act(lambda session: parts.add_supplier(session, name=_field("name"), contact=_field("contact"),
                                                   phone=_field("phone"), actor=actor(), locale=locale()),
                gettext("The supplier was added."), url_for("parts.suppliers"))


@bp.post("/suppliers/evaluate")
def evaluate() -> Any:
    return _act(lambda session: parts.evaluate_supplier(session, supplier=_field("supplier"),
                                                        score=_number("score"), comment=_field("comment"),
                                                        actor=actor(), locale=locale()),
                gettext("The evaluation was recorded."), url_for("parts.suppliers"))


# --- stock checks ---------------------------------------------------------------------------------

@bp.get("/checks")
def checks() -> Any:
    centre = request.args.get("centre", "").strip()
    with unit_of_work() as session:
        centres = parts.centres(session)
        chosen = next((c for c in centres if c["code"] == centre), None)
        rows = parts.stock(session, centre_id=chosen["id"]) if chosen else []
        adjustments = parts.ledger(session, kind="adjust", limit=50)
    return render_template("parts/checks.html", centres=centres, centre=chosen, rows=rows, adjustments=adjustments,
                           may_keep=access.may_keep_parts(actor()))


@bp.post("/checks")
def check() -> Any:
    counts = {key[len("count-"):]: _number(key, minimum=0) for key, value in request.form.items()
              if key.startswith("count-") and value.strip() != ""}
    return _act(lambda session: parts.stock_check(session, centre=_field("centre"), counts=counts, note=_field("note"),
                                                  actor=actor(), locale=locale()),
                gettext("The stock check is recorded; differences were booked as adjustments."),
                url_for("parts.checks", centre=_field("centre")))


# --- approvals ------------------------------------------------------------------------------------

@bp.get("/approvals")
def approvals() -> Any:
    with unit_of_work() as session:
        rows, centres = parts.approvals(session), parts.centres(session)
        catalogue_rows = parts.catalogue(session)
    return render_template("parts/approvals.html", rows=rows, centres=centres, catalogue=catalogue_rows,
                           limit=parts.yuan(parts.approval_limit_fen()), status_names=APPROVAL_STATUS_NAMES,
                           may_request=access.may_request_parts_approval(actor()),
                           may_decide=access.may_keep_parts(actor()), instance=request.args.get("instance", ""))


@bp.post("/approvals")
def request_approval() -> Any:
    return _act(lambda session: parts.request_approval(
        session, instance_id=_number("instance_id"), part=_field("part"), centre=_field("centre"),
        quantity=_number("quantity"), reason=_field("reason"), actor=actor(), locale=locale()),
        gettext("The approval request went to the managers."), url_for("parts.approvals"))


@bp.post("/approvals/<int:approval_id>")
def decide(approval_id: int) -> Any:
    approve = request.form.get("decision") == "approve"
    return _act(lambda session: parts.decide_approval(session, approval_id=approval_id, approve=approve,
                                                      note=_field("note"), actor=actor(), locale=locale()),
                gettext("Approved.") if approve else gettext("Rejected."), url_for("parts.approvals"))


# --- the monthly report ---------------------------------------------------------------------------

@bp.get("/report")
def report() -> Any:
    month = request.args.get("month", "").strip() or parts.current_month()
    try:
        with unit_of_work() as session:
            figures = parts.monthly_report(session, month, locale())
    except InvalidInput as error:
        flash(error.message, "error")
        return redirect(url_for("parts.report"))
    return render_template("parts/report.html", report=figures, month=month)
