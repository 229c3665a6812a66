"""`flask opsflow parts …`: the spare-parts store from the shell (engine.desk.parts decides and books)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from app.cli.common import CommandLineError, _actor, _db, _emit, _fail_cleanly
from engine import access
from engine.desk import parts


def _user_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--user", envvar="OPSFLOW_USER", default="service_manager", show_default=True,
                        help="Who books it (recorded in the ledger).")(command)


def _plain(value: Any) -> Any:
    """JSON-ready: times as ISO 8601 text, also inside nested rows (a supplier's evaluations)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: _plain(value) for key, value in row.items()} for row in rows]


def _change(user: str, change: Callable[[Session, Any], Any], done: str) -> None:
    with _db().transaction() as session:
        change(session, _actor(session, user))
    click.echo(done)


@click.group("parts")
def parts_group() -> None:
    """Spare parts: catalogue, stock per service centre, ledger, suppliers, checks, approvals, monthly report."""


@parts_group.command("add-centre")
@click.argument("code")
@click.argument("name")
@_user_option
@with_appcontext
@_fail_cleanly
def add_centre_command(code: str, name: str, user: str) -> None:
    """A service centre with its own store."""
    _change(user, lambda s, a: parts.add_centre(s, code=code, name=name, actor=a), f"centre {code} added")


@parts_group.command("add-supplier")
@click.argument("name")
@click.option("--contact")
@click.option("--phone")
@_user_option
@with_appcontext
@_fail_cleanly
def add_supplier_command(name: str, contact: str | None, phone: str | None, user: str) -> None:
    _change(user, lambda s, a: parts.add_supplier(s, name=name, contact=contact, phone=phone, actor=a),
            f"supplier {name} added")


@parts_group.command("evaluate")
@click.argument("supplier")
@click.argument("score", type=click.IntRange(1, 5))
@click.option("--comment", default="")
@_user_option
@with_appcontext
@_fail_cleanly
def evaluate_command(supplier: str, score: int, comment: str, user: str) -> None:
    """Evaluate a supplier (1–5)."""
    _change(user, lambda s, a: parts.evaluate_supplier(s, supplier=supplier, score=score, comment=comment, actor=a),
            f"{supplier} evaluated {score}/5")


@parts_group.command("add")
@click.argument("code")
@click.argument("label")
@click.option("--model", default="")
@click.option("--supplier")
@click.option("--price", "price", default="0", help="Unit price in yuan.")
@_user_option
@with_appcontext
@_fail_cleanly
def add_part_command(code: str, label: str, model: str, supplier: str | None, price: str, user: str) -> None:
    """A part in the catalogue."""
    _change(user, lambda s, a: parts.add_part(s, code=code, label=label, model=model, supplier=supplier,
                                              unit_price_yuan=price, actor=a), f"part {code} added")


@parts_group.command("receive")
@click.argument("part")
@click.argument("centre")
@click.argument("quantity", type=click.IntRange(1))
@click.option("--supplier")
@click.option("--note", default="")
@_user_option
@with_appcontext
@_fail_cleanly
def receive_command(part: str, centre: str, quantity: int, supplier: str | None, note: str, user: str) -> None:
    _change(user, lambda s, a: parts.receive(s, part=part, centre=centre, quantity=quantity, supplier=supplier,
                                             note=note, actor=a), f"received {quantity} × {part} at {centre}")


@parts_group.command("write-off")
@click.argument("part")
@click.argument("centre")
@click.argument("quantity", type=click.IntRange(1))
@click.option("--note", required=True, help="Why (broken, lost …).")
@_user_option
@with_appcontext
@_fail_cleanly
def write_off_command(part: str, centre: str, quantity: int, note: str, user: str) -> None:
    _change(user, lambda s, a: parts.write_off(s, part=part, centre=centre, quantity=quantity, note=note, actor=a),
            f"wrote off {quantity} × {part} at {centre}")


@parts_group.command("return")
@click.argument("part")
@click.argument("centre")
@click.argument("quantity", type=click.IntRange(1))
@click.option("--case", "instance_id", type=int, help="The request the part comes back from.")
@click.option("--note", default="")
@_user_option
@with_appcontext
@_fail_cleanly
def return_command(part: str, centre: str, quantity: int, instance_id: int | None, note: str, user: str) -> None:
    _change(user, lambda s, a: parts.return_to_stock(s, part=part, centre=centre, quantity=quantity,
                                                     instance_id=instance_id, note=note, actor=a),
            f"returned {quantity} × {part} to {centre}")


@parts_group.command("minimum")
@click.argument("part")
@click.argument("centre")
@click.argument("minimum", type=click.IntRange(0))
@_user_option
@with_appcontext
@_fail_cleanly
def minimum_command(part: str, centre: str, minimum: int, user: str) -> None:
    """The agreed stock a centre keeps of a part (below it: a replenishment task)."""
    _change(user, lambda s, a: parts.set_minimum(s, part=part, centre=centre, minimum=minimum, actor=a),
            f"minimum of {part} at {centre}: {minimum}")


@parts_group.command("check")
@click.argument("centre")
@click.argument("counts", nargs=-1, required=True)
@click.option("--note", default="")
@_user_option
@with_appcontext
@_fail_cleanly
def check_command(centre: str, counts: tuple[str, ...], note: str, user: str) -> None:
    """A stock check: PART=COUNTED …; differences from the ledger are booked as adjustments."""
    counted: dict[str, int] = {}
    for item in counts:
        part, _, number = item.partition("=")
        if not part or not number.isdigit():
            raise CommandLineError(f"{item!r}: give PART=COUNTED, e.g. PSU-650=3")
        counted[part] = int(number)
    _change(user, lambda s, a: parts.stock_check(s, centre=centre, counts=counted, note=note, actor=a),
            f"stock check of {centre} recorded")


@parts_group.command("request-approval")
@click.argument("instance_id", type=int)
@click.argument("part")
@click.argument("centre")
@click.argument("quantity", type=click.IntRange(1))
@click.option("--reason", default="")
@click.option("--user", envvar="OPSFLOW_USER", default="engineer", show_default=True)
@with_appcontext
@_fail_cleanly
def request_approval_command(instance_id: int, part: str, centre: str, quantity: int, reason: str,
                             user: str) -> None:
    """Ask a manager to approve using costly parts on a case."""
    with _db().transaction() as session:
        approval = parts.request_approval(session, instance_id=instance_id, part=part, centre=centre,
                                          quantity=quantity, reason=reason, actor=_actor(session, user))
        click.echo(f"approval request {approval.id} waits for a manager")


@parts_group.command("decide")
@click.argument("approval_id", type=int)
@click.option("--reject", is_flag=True)
@click.option("--note", default="")
@_user_option
@with_appcontext
@_fail_cleanly
def decide_command(approval_id: int, reject: bool, note: str, user: str) -> None:
    _change(user, lambda s, a: parts.decide_approval(s, approval_id=approval_id, approve=not reject, note=note,
                                                     actor=a),
            f"approval request {approval_id} {'rejected' if reject else 'approved'}")


def _listing(name: str, read: Callable[[Session], list[dict[str, Any]]],
             text: Callable[[dict[str, Any]], str]) -> Callable[[bool], None]:
    def show(as_json: bool) -> None:
        with _db().transaction() as session:
            rows = _rows(read(session))
        _emit(rows, as_json, lambda rs: "\n".join(text(r) for r in rs) or f"no {name}")
    return show


@parts_group.command("stock")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def stock_command(as_json: bool) -> None:
    """Stock per service centre, against the minimum."""
    _listing("stock", lambda s: parts.stock(s), lambda r: (
        f"{r['centre_code']:<8} {r['part']:<16} {r['quantity']:>6} (min {r['minimum']})"
        f"{'  BELOW MINIMUM' if r['below_minimum'] else ''}"))(as_json)


@parts_group.command("ledger")
@click.option("--part")
@click.option("--centre")
@click.option("--kind", type=click.Choice(parts.KINDS))
@click.option("--case", "instance_id", type=int)
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def ledger_command(part: str | None, centre: str | None, kind: str | None, instance_id: int | None, limit: int,
                   as_json: bool) -> None:
    """Every movement, newest first, with who booked it."""
    _listing("movements", lambda s: parts.ledger(s, part=part, centre=centre, kind=kind, instance_id=instance_id,
                                                 limit=limit),
             lambda r: (f"{r['at'][:16]} {r['centre']} {r['part']:<16} {r['kind']:<9} {r['quantity']:+5d} "
                        f"→ {r['balance_after']:<5} {r['actor']}"
                        f"{' case ' + str(r['instance_id']) if r['instance_id'] else ''}"))(as_json)


@parts_group.command("approvals")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def approvals_command(as_json: bool) -> None:
    _listing("approval requests", lambda s: parts.approvals(s), lambda r: (
        f"{r['id']:>4} case {r['instance_id']} {r['part']} × {r['quantity']} ({r['value']} yuan) {r['status']} "
        f"by {r['requested_by']}"))(as_json)


@parts_group.command("replenishment")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def replenishment_command(as_json: bool) -> None:
    """Open replenishment tasks: parts below their minimum, what to order."""
    _listing("open replenishment tasks", lambda s: parts.replenishments(s), lambda r: (
        f"{r['id']:>4} {r['centre']} {r['part']} {r['quantity']}/{r['minimum']} order {r['to_order']}"))(as_json)


@parts_group.command("suppliers")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def suppliers_command(as_json: bool) -> None:
    _listing("suppliers", lambda s: parts.suppliers(s), lambda r: (
        f"{r['name']} {r['contact'] or ''} {r['phone'] or ''} score {r['mean_score'] or '—'} "
        f"({r['evaluation_count']})"))(as_json)


@parts_group.command("report")
@click.argument("month", required=False)
@click.option("--start", is_flag=True, help="Start the month's report for a manager to confirm (once per month).")
@_user_option
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
@_fail_cleanly
def report_command(month: str | None, start: bool, user: str, as_json: bool) -> None:
    """The monthly usage and stock report (default: this month)."""
    month = month or parts.current_month()
    with _db().transaction() as session:
        if start:
            actor = _actor(session, user)
            access.require_keep_parts(actor)
            if parts.start_report(session, month, actor=actor) is None:
                raise CommandLineError(f"the report for {month} was started already")
        report = parts.monthly_report(session, month)
    report["rows"] = _rows(report["rows"])
    report["run"] = {key: _plain(value) for key, value in (report["run"] or {}).items()} or None
    _emit(report, as_json, lambda r: "\n".join(
        [f"{r['month']}: issued {r['issued']} ({r['issued_value']} yuan), below minimum {r['below_minimum']}"]
        + [f"  {x['centre']} {x['part']}: +{x['received']} -{x['issued']} ret {x['returned']} off {x['written_off']}"
           f" adj {x['adjusted']} stock {x['stock']}/{x['minimum']}" for x in r["rows"]]))
