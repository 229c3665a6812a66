"""Spare parts (seed 000 备件库, 备用设备与零件治理): the catalogue, stock per service centre, the ledger of
every movement, use on cases, approvals, replenishment, stock checks and the monthly report.

- Stock changes only by conditional UPDATEs (`quantity >= n` in the WHERE, the rowcount checked), each
  with its ledger row in the same transaction; the ledger is append-only (database triggers), so the
  stock row is always the ledger's running balance. Concurrent issues of the last unit: one wins.
- `parts_used` of a completed step books its parts out in the completion's transaction (the
  task_completing receiver); a refusal (unknown part, not enough stock, approval missing) undoes the
  whole completion and names the part and what is left.
- Use worth more than the limit (OPSFLOW_PARTS_APPROVAL_ABOVE yuan, default 2000) needs an approval
  record a manager granted for that case beforehand: approval before use, and the completion waits for
  it (is refused until then). An approval record rather than a BPMN task, so that every diagram with a
  `parts_used` field gets the rule without a change to the diagram, and the case's own path stays as drawn.
- Stock below a centre's agreed minimum opens a replenishment task: one open task per part and centre (a
  partial unique index, inserted with ON CONFLICT DO NOTHING); receiving up to the minimum closes it.
- The monthly report is the `parts_report` process (a manager confirms it), started by the scheduler's
  job once per month: the month's row in parts_report_run is inserted first, so it starts never twice.
"""
from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, and_, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine import access, clock
from engine.errors import InvalidInput, NotFound
from engine.process import hooks, runtime
from engine.store.models import HistoryEvent, ProcessDefinition, ProcessInstance
from engine.store.parts_models import (
    Part,
    PartApproval,
    PartMovement,
    PartReplenishment,
    PartsReportRun,
    PartStock,
    ServiceCentre,
    StockCheck,
    StockCount,
    Supplier,
    SupplierEvaluation,
)
from engine.users import Actor

KINDS = ("receive", "issue", "return", "write_off", "adjust")
APPROVAL_ENV = "OPSFLOW_PARTS_APPROVAL_ABOVE"
DEFAULT_APPROVAL_ABOVE_YUAN = 2000
REPORT_PROCESS = "parts_report"
REPORT_CONFIRM_STEP = "confirm_report"
CHECK_CYCLE = dt.timedelta(days=30)  # a centre's stock is counted at least monthly, before its report
SCHEDULER = Actor("scheduler", frozenset({"system"}))

_stock = cast(Table, PartStock.__table__)
_movements = cast(Table, PartMovement.__table__)
_replenishments = cast(Table, PartReplenishment.__table__)
_approvals = cast(Table, PartApproval.__table__)
_runs = cast(Table, PartsReportRun.__table__)

# Refusals in the user's language (zh, en): they name the part, the centre and what is left.
_TEXTS: dict[str, tuple[str, str]] = {
    "short": ("备件“{part}”在{centre}库存不足：需要 {needed} 件，仅剩 {left} 件。",
              "Not enough of part “{part}” at {centre}: {needed} needed, only {left} left."),
    "unknown_part": ("备件目录中没有“{part}”。", "There is no part “{part}” in the catalogue."),
    "ambiguous_part": ("“{part}”对应多个备件，请填写备件编号：{codes}。",
                       "“{part}” matches several parts; give the part number: {codes}."),
    "unknown_centre": ("没有服务中心“{centre}”。", "There is no service centre “{centre}”."),
    "choose_centre": ("请为备件“{part}”选择服务中心（有库存的：{centres}）。",
                      "Choose a service centre for part “{part}” (held at: {centres})."),
    "not_stocked": ("{centre}没有备件“{part}”的库存。", "{centre} holds no stock of part “{part}”."),
    "needs_approval": ("本次使用的备件价值 {value} 元，超过 {limit} 元：{parts} 须先经经理批准"
                       "（在“备件 → 使用审批”中申请）。",
                       "These parts are worth {value} yuan, above the {limit} yuan limit: a manager must approve "
                       "using {parts} first (ask on Parts → Approvals)."),
    "quantity": ("数量必须为正整数。", "The quantity must be a whole number above 0."),
    "unknown_supplier": ("没有供应商“{supplier}”。", "There is no supplier “{supplier}”."),
    "exists": ("“{name}”已存在。", "“{name}” exists already."),
    "required": ("“{name}”为必填项。", "{name} is required."),
    "score": ("评分必须为 1 到 5。", "The score must be between 1 and 5."),
    "price": ("单价必须为不小于 0 的金额（元）。", "The unit price must be an amount in yuan, 0 or more."),
    "minimum": ("最低库存必须为不小于 0 的整数。", "The minimum must be a whole number, 0 or more."),
    "no_instance": ("没有第 {instance_id} 号请求。", "There is no request {instance_id}."),
    "approval_missing": ("没有第 {approval_id} 号审批申请。", "There is no approval request {approval_id}."),
    "approval_decided": ("第 {approval_id} 号审批申请已处理（{status}）。",
                         "Approval request {approval_id} was decided already ({status})."),
    "replenishment_missing": ("没有待处理的第 {task_id} 号补货任务。",
                              "There is no open replenishment task {task_id}."),
    "month": ("月份格式应为 YYYY-MM。", "The month must look like YYYY-MM."),
    "nothing_counted": ("请至少填写一个盘点数量。", "Enter at least one counted quantity."),
}


def say(code: str, locale: str | None, **params: object) -> str:
    zh, en = _TEXTS[code]
    return (zh if (locale or "").lower().startswith("zh") else en).format(**params)


def _refuse(code: str, locale: str | None, field: str = "_schema", **params: object) -> InvalidInput:
    """A refusal in the user's language; on a step's `parts_used` field also as that field's error, which the
    task page shows beside the parts rows (elsewhere the message alone, said once)."""
    message = say(code, locale, **params)
    return InvalidInput(message, field_errors={field: [message]} if field == "parts_used" else None)


def approval_limit_fen() -> int:
    """Use worth more than this (in fen) needs a manager's approval; OPSFLOW_PARTS_APPROVAL_ABOVE in yuan."""
    raw = os.environ.get(APPROVAL_ENV, str(DEFAULT_APPROVAL_ABOVE_YUAN))
    try:
        return round(float(raw) * 100)
    except ValueError:
        raise ValueError(f"{APPROVAL_ENV} must be an amount in yuan, got {raw!r}") from None


def yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def _positive(quantity: object, locale: str | None) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise _refuse("quantity", locale, "quantity")
    return quantity


def _text(value: str | None, name: str, locale: str | None, *, limit: int = 200) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise _refuse("required", locale, name, name=name)
    return cleaned[:limit]


# ------------------------------------------------------------------------------------- lookups

def find_part(session: Session, wanted: str, locale: str | None = "en") -> Part:
    """A part by its number, or by its label when only one part carries it."""
    key = (wanted or "").strip()
    part = session.scalars(select(Part).where(func.lower(Part.code) == key.lower())).first()
    if part is not None:
        return part
    named = list(session.scalars(select(Part).where(Part.label == key).order_by(Part.code)))
    if len(named) == 1:
        return named[0]
    if named:
        raise _refuse("ambiguous_part", locale, "part", part=key, codes=", ".join(p.code for p in named))
    raise _refuse("unknown_part", locale, "part", part=key)


def find_centre(session: Session, wanted: str, locale: str | None = "en") -> ServiceCentre:
    key = (wanted or "").strip()
    centre = session.scalars(select(ServiceCentre).where(
        or_(func.lower(ServiceCentre.code) == key.lower(), ServiceCentre.name == key))).first()
    if centre is None:
        raise _refuse("unknown_centre", locale, "centre", centre=key)
    return centre


def find_supplier(session: Session, wanted: str, locale: str | None = "en") -> Supplier:
    supplier = session.scalars(select(Supplier).where(Supplier.name == (wanted or "").strip())).first()
    if supplier is None:
        raise _refuse("unknown_supplier", locale, "supplier", supplier=wanted)
    return supplier


def _name(part: Part) -> str:
    return f"{part.code} {part.label}"


# ------------------------------------------------------------------------------------- catalogue

def add_centre(session: Session, *, code: str, name: str, actor: Actor, locale: str | None = "en") -> ServiceCentre:
    access.require_keep_parts(actor)
    code = _text(code, "code", locale, limit=40)
    if session.scalars(select(ServiceCentre).where(ServiceCentre.code == code)).first():
        raise _refuse("exists", locale, "code", name=code)
    centre = ServiceCentre(code=code, name=_text(name, "name", locale))
    session.add(centre)
    session.flush()
    return centre


def add_supplier(session: Session, *, name: str, actor: Actor, contact: str | None = None,
                 phone: str | None = None, locale: str | None = "en") -> Supplier:
    access.require_keep_parts(actor)
    name = _text(name, "name", locale)
    if session.scalars(select(Supplier).where(Supplier.name == name)).first():
        raise _refuse("exists", locale, "name", name=name)
    supplier = Supplier(name=name, contact=(contact or "").strip() or None, phone=(phone or "").strip() or None,
                        created_at=clock.now())
    session.add(supplier)
    session.flush()
    return supplier


def evaluate_supplier(session: Session, *, supplier: str, score: int, comment: str, actor: Actor,
                      locale: str | None = "en") -> SupplierEvaluation:
    """Seed 000: 对供应商进行选择和评价 — one score 1–5 with what was seen (delivery, quality, price)."""
    access.require_keep_parts(actor)
    found = find_supplier(session, supplier, locale)
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise _refuse("score", locale, "score")
    evaluation = SupplierEvaluation(supplier_id=found.id, score=score, comment=(comment or "").strip(),
                                    evaluated_by=actor.username, evaluated_at=clock.now())
    session.add(evaluation)
    session.flush()
    return evaluation


def add_part(session: Session, *, code: str, label: str, actor: Actor, model: str = "", supplier: str | None = None,
             unit_price_yuan: float | str = 0, locale: str | None = "en") -> Part:
    access.require_keep_parts(actor)
    code = _text(code, "code", locale, limit=60)
    if session.scalars(select(Part).where(func.lower(Part.code) == code.lower())).first():
        raise _refuse("exists", locale, "code", name=code)
    try:
        price = round(float(unit_price_yuan or 0) * 100)
    except (TypeError, ValueError):
        raise _refuse("price", locale, "unit_price") from None
    if price < 0:
        raise _refuse("price", locale, "unit_price")
    supplier_id = find_supplier(session, supplier, locale).id if supplier else None
    part = Part(code=code, label=_text(label, "label", locale), model=(model or "").strip(), supplier_id=supplier_id,
                unit_price_fen=price, created_at=clock.now())
    session.add(part)
    session.flush()
    return part


def _ensure_stock_row(session: Session, part_id: int, centre_id: int) -> None:
    """The part's stock row at the centre (quantity 0, minimum 0) if it has none; racing inserts are fine."""
    dialect = session.get_bind().dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.connection().execute(maker(_stock).values(part_id=part_id, centre_id=centre_id, quantity=0, minimum=0)
                                 .on_conflict_do_nothing(index_elements=["part_id", "centre_id"]))


def set_minimum(session: Session, *, part: str, centre: str, minimum: int, actor: Actor,
                locale: str | None = "en") -> None:
    """The agreed stock (约定的库存) of a part at a centre; stock below it opens a replenishment task."""
    access.require_keep_parts(actor)
    found, where = find_part(session, part, locale), find_centre(session, centre, locale)
    if not isinstance(minimum, int) or minimum < 0:
        raise _refuse("minimum", locale, "minimum")
    _ensure_stock_row(session, found.id, where.id)
    quantity = session.connection().execute(
        update(_stock).where(_stock.c.part_id == found.id, _stock.c.centre_id == where.id)
        .values(minimum=minimum).returning(_stock.c.quantity)).scalar_one()
    _replenish_if_low(session, found.id, where.id, quantity, minimum, actor.username)


# ------------------------------------------------------------------------------------- movements

def _book(session: Session, *, part: Part, centre_id: int, kind: str, quantity: int, balance: int, actor: str,
          instance_id: int | None = None, element_id: str | None = None, supplier_id: int | None = None,
          note: str = "") -> int:
    """One ledger row (signed quantity, balance after it); the ledger is never changed afterwards."""
    return int(session.connection().execute(insert(_movements).values(
        part_id=part.id, centre_id=centre_id, kind=kind, quantity=quantity, balance_after=balance,
        unit_price_fen=part.unit_price_fen, instance_id=instance_id, element_id=element_id,
        supplier_id=supplier_id, note=note, actor=actor, at=clock.now()).returning(_movements.c.id)).scalar_one())


def _take(session: Session, part_id: int, centre_id: int, quantity: int) -> tuple[int, int] | None:
    """Take `quantity` out if that many are there: (balance after, minimum), or None (nothing changed).

    The condition is in the UPDATE itself: on PostgreSQL a racing transaction waits for the row and
    re-checks `quantity >= n` against the committed value, so the last unit goes once."""
    taken = session.connection().execute(
        update(_stock).where(_stock.c.part_id == part_id, _stock.c.centre_id == centre_id,
                             _stock.c.quantity >= quantity).values(quantity=_stock.c.quantity - quantity))
    if taken.rowcount != 1:
        return None
    row = session.connection().execute(select(_stock.c.quantity, _stock.c.minimum).where(
        _stock.c.part_id == part_id, _stock.c.centre_id == centre_id)).one()
    return int(row.quantity), int(row.minimum)


def _left(session: Session, part_id: int, centre_id: int) -> int:
    return int(session.connection().execute(select(_stock.c.quantity).where(
        _stock.c.part_id == part_id, _stock.c.centre_id == centre_id)).scalar() or 0)


def _put(session: Session, part_id: int, centre_id: int, quantity: int, actor: str) -> int:
    """Add to the stock; closes the open replenishment task once the minimum is reached. The balance after."""
    _ensure_stock_row(session, part_id, centre_id)
    row = session.connection().execute(
        update(_stock).where(_stock.c.part_id == part_id, _stock.c.centre_id == centre_id)
        .values(quantity=_stock.c.quantity + quantity).returning(_stock.c.quantity, _stock.c.minimum)).one()
    _replenishment_follows(session, part_id, centre_id, int(row.quantity), int(row.minimum), actor)
    return int(row.quantity)


def _replenishment_follows(session: Session, part_id: int, centre_id: int, balance: int, minimum: int,
                           actor: str) -> None:
    """After stock went up or was counted: the open replenishment task closes once the minimum is met, and
    one opens if the stock is still below it."""
    if balance >= minimum:
        session.connection().execute(update(_replenishments).where(
            _replenishments.c.part_id == part_id, _replenishments.c.centre_id == centre_id,
            _replenishments.c.status == "open").values(status="done", closed_at=clock.now(), closed_by=actor))
    else:
        _replenish_if_low(session, part_id, centre_id, balance, minimum, actor)


def _replenish_if_low(session: Session, part_id: int, centre_id: int, balance: int, minimum: int,
                      actor: str) -> None:
    """Below the minimum: a replenishment task, unless one is open already (one per part and centre)."""
    if balance >= minimum:
        return
    dialect = session.get_bind().dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.connection().execute(
        maker(_replenishments).values(part_id=part_id, centre_id=centre_id, status="open", opened_at=clock.now())
        .on_conflict_do_nothing(index_elements=["part_id", "centre_id"], index_where=text("status = 'open'")))


def receive(session: Session, *, part: str, centre: str, quantity: int, actor: Actor, supplier: str | None = None,
            note: str = "", locale: str | None = "en") -> int:
    """Parts into a centre's store (from a supplier or the company's monthly replenishment)."""
    access.require_keep_parts(actor)
    found, where = find_part(session, part, locale), find_centre(session, centre, locale)
    quantity = _positive(quantity, locale)
    supplier_id = find_supplier(session, supplier, locale).id if supplier else found.supplier_id
    balance = _put(session, found.id, where.id, quantity, actor.username)
    return _book(session, part=found, centre_id=where.id, kind="receive", quantity=quantity, balance=balance,
                 actor=actor.username, supplier_id=supplier_id, note=note.strip())


def return_to_stock(session: Session, *, part: str, centre: str, quantity: int, actor: Actor,
                    instance_id: int | None = None, note: str = "", locale: str | None = "en") -> int:
    """An unused part back from a case."""
    access.require_keep_parts(actor)
    found, where = find_part(session, part, locale), find_centre(session, centre, locale)
    quantity = _positive(quantity, locale)
    if instance_id is not None and session.get(ProcessInstance, instance_id) is None:
        raise _refuse("no_instance", locale, "instance_id", instance_id=instance_id)
    balance = _put(session, found.id, where.id, quantity, actor.username)
    return _book(session, part=found, centre_id=where.id, kind="return", quantity=quantity, balance=balance,
                 actor=actor.username, instance_id=instance_id, note=note.strip())


def write_off(session: Session, *, part: str, centre: str, quantity: int, note: str, actor: Actor,
              locale: str | None = "en") -> int:
    """Broken or lost parts out of the store (核销), with the reason."""
    access.require_keep_parts(actor)
    found, where = find_part(session, part, locale), find_centre(session, centre, locale)
    quantity = _positive(quantity, locale)
    reason = _text(note, "note", locale, limit=2000)
    taken = _take(session, found.id, where.id, quantity)
    if taken is None:
        raise _refuse("short", locale, "quantity", part=_name(found), centre=where.name, needed=quantity,
                      left=_left(session, found.id, where.id))
    balance, minimum = taken
    _replenish_if_low(session, found.id, where.id, balance, minimum, actor.username)
    return _book(session, part=found, centre_id=where.id, kind="write_off", quantity=-quantity, balance=balance,
                 actor=actor.username, note=reason)


# ------------------------------------------------------------------------------------- use on a case

def _centre_for(session: Session, part: Part, wanted: str | None, locale: str | None) -> ServiceCentre:
    """The row's centre; without one, the only centre holding the part (or, when none holds any, the only
    centre keeping it at all: the refusal then says how many are left there, none)."""
    if wanted and wanted.strip():
        return find_centre(session, wanted, locale)
    keeping = session.execute(select(ServiceCentre, PartStock.quantity)
                              .join(PartStock, PartStock.centre_id == ServiceCentre.id)
                              .where(PartStock.part_id == part.id).order_by(ServiceCentre.code)).all()
    holding = [centre for centre, quantity in keeping if quantity > 0]
    if len(holding) == 1:
        return holding[0]
    if not holding and len(keeping) == 1:
        return keeping[0][0]
    raise _refuse("choose_centre", locale, "parts_used", part=_name(part),
                  centres="、".join(c.name for c in holding) or "—")


_Wanted = tuple[Part, ServiceCentre, int]  # a booking's part, centre and quantity


def _resolve(session: Session, rows: Iterable[Mapping[str, Any]],
             locale: str | None) -> dict[tuple[int, int], _Wanted]:
    """Each row's catalogue part and centre; rows of the same part and centre add up. Every row's fault at once."""
    wanted: dict[tuple[int, int], _Wanted] = {}
    problems: list[str] = []
    for number, row in enumerate(rows, 1):
        try:
            part = find_part(session, str(row.get("part") or ""), locale)
            centre = _centre_for(session, part, row.get("centre"), locale)
        except InvalidInput as error:
            problems.append(f"{number}. {error.message}")
            continue
        key = (part.id, centre.id)
        before = wanted.get(key, (part, centre, 0))[2]
        wanted[key] = (part, centre, before + int(row["quantity"]))
    if problems:
        raise InvalidInput(problems[0], field_errors={"parts_used": problems})
    return wanted


def issue_parts(session: Session, *, rows: Iterable[Mapping[str, Any]], instance_id: int, actor: Actor,
                element_id: str | None = None, locale: str | None = "en") -> list[int]:
    """Book `parts_used` rows out to a case: all of them or (refused) none. Returns the ledger rows' ids."""
    wanted = _resolve(session, rows, locale)
    value = sum(part.unit_price_fen * quantity for part, _, quantity in wanted.values())
    approvals = _approvals_for(session, instance_id, wanted, value, locale) if value > approval_limit_fen() else {}
    booked = []
    for key in sorted(wanted):  # one order for every transaction: no deadlock between two multi-part bookings
        part, centre, quantity = wanted[key]
        taken = _take(session, part.id, centre.id, quantity)
        if taken is None:
            raise _refuse("short", locale, "parts_used", part=_name(part), centre=centre.name, needed=quantity,
                          left=_left(session, part.id, centre.id))
        balance, minimum = taken
        movement = _book(session, part=part, centre_id=centre.id, kind="issue", quantity=-quantity, balance=balance,
                         actor=actor.username, instance_id=instance_id, element_id=element_id)
        if key in approvals:
            session.connection().execute(update(_approvals).where(_approvals.c.id == approvals[key])
                                         .values(status="used", movement_id=movement))
        _replenish_if_low(session, part.id, centre.id, balance, minimum, actor.username)
        booked.append(movement)
    return booked


def _approvals_for(session: Session, instance_id: int, wanted: Mapping[tuple[int, int], _Wanted], value: int,
                   locale: str | None) -> dict[tuple[int, int], int]:
    """The approved, unused approval covering each part of the booking; refused if one is missing."""
    found: dict[tuple[int, int], int] = {}
    missing = []
    for key, (part, centre, quantity) in sorted(wanted.items()):
        approval = session.connection().execute(select(_approvals.c.id).where(
            _approvals.c.instance_id == instance_id, _approvals.c.part_id == part.id,
            _approvals.c.centre_id == centre.id, _approvals.c.status == "approved",
            _approvals.c.quantity >= quantity).order_by(_approvals.c.quantity, _approvals.c.id).limit(1)).scalar()
        if approval is None:
            missing.append(f"{_name(part)} × {quantity}")
        else:
            found[key] = int(approval)
    if missing:
        raise _refuse("needs_approval", locale, "parts_used", value=yuan(value), limit=yuan(approval_limit_fen()),
                      parts="、".join(missing))
    return found


def on_task_completing(completion: hooks.Completion) -> dict[str, Any]:
    """The task_completing receiver (engine.desk.install): a step's `parts_used` booked out with it."""
    rows = completion.data.get("parts_used")
    if rows:
        issue_parts(completion.session, rows=rows, instance_id=completion.instance.id, actor=completion.actor,
                    element_id=completion.task.task_spec.bpmn_id, locale=completion.locale)
    return {}


# ------------------------------------------------------------------------------------- approvals

def request_approval(session: Session, *, instance_id: int, part: str, centre: str, quantity: int, reason: str,
                     actor: Actor, locale: str | None = "en") -> PartApproval:
    access.require_request_parts_approval(actor)
    if session.get(ProcessInstance, instance_id) is None:
        raise _refuse("no_instance", locale, "instance_id", instance_id=instance_id)
    found, where = find_part(session, part, locale), find_centre(session, centre, locale)
    quantity = _positive(quantity, locale)
    approval = PartApproval(instance_id=instance_id, part_id=found.id, centre_id=where.id, quantity=quantity,
                            value_fen=found.unit_price_fen * quantity, reason=(reason or "").strip(),
                            status="pending", requested_by=actor.username, requested_at=clock.now())
    session.add(approval)
    session.flush()
    return approval


def decide_approval(session: Session, *, approval_id: int, approve: bool, actor: Actor, note: str = "",
                    locale: str | None = "en") -> PartApproval:
    approval = session.get(PartApproval, approval_id, with_for_update=True)
    if approval is None:
        raise NotFound(say("approval_missing", locale, approval_id=approval_id))
    access.require_decide_parts_approval(actor, approval.requested_by)
    if approval.status != "pending":
        raise _refuse("approval_decided", locale, approval_id=approval_id, status=approval.status)
    approval.status = "approved" if approve else "rejected"
    approval.decided_by, approval.decided_at, approval.decision_note = actor.username, clock.now(), note.strip()
    session.flush()
    return approval


def close_replenishment(session: Session, *, task_id: int, actor: Actor, locale: str | None = "en") -> None:
    """Close an open replenishment task by hand (e.g. the part is discontinued); receiving closes it by itself."""
    access.require_keep_parts(actor)
    closed = session.connection().execute(update(_replenishments).where(
        _replenishments.c.id == task_id, _replenishments.c.status == "open")
        .values(status="done", closed_at=clock.now(), closed_by=actor.username))
    if closed.rowcount != 1:
        raise NotFound(say("replenishment_missing", locale, task_id=task_id))


# ------------------------------------------------------------------------------------- stock checks

def stock_check(session: Session, *, centre: str, counts: Mapping[str, int], actor: Actor, note: str = "",
                locale: str | None = "en") -> StockCheck:
    """Counted quantities against the ledger; each difference is booked as an adjustment (seed 000: 定期对备件
    状态进行检测). The stock row is locked first, so no issue slips between reading and correcting it."""
    access.require_keep_parts(actor)
    where = find_centre(session, centre, locale)
    if not counts:
        raise _refuse("nothing_counted", locale)
    check = StockCheck(centre_id=where.id, checked_by=actor.username, checked_at=clock.now(), note=note.strip())
    session.add(check)
    session.flush()
    for code, counted in sorted(counts.items()):
        part = find_part(session, code, locale)
        if not isinstance(counted, int) or counted < 0:
            raise _refuse("minimum", locale, "counted")
        _ensure_stock_row(session, part.id, where.id)
        row = session.connection().execute(
            update(_stock).where(_stock.c.part_id == part.id, _stock.c.centre_id == where.id)
            .values(last_checked_at=clock.now()).returning(_stock.c.quantity, _stock.c.minimum)).one()
        ledger, movement = int(row.quantity), None
        if counted != ledger:
            session.connection().execute(update(_stock).where(
                _stock.c.part_id == part.id, _stock.c.centre_id == where.id).values(quantity=counted))
            movement = _book(session, part=part, centre_id=where.id, kind="adjust", quantity=counted - ledger,
                             balance=counted, actor=actor.username, note=f"盘点 / stock check {check.id}")
        _replenishment_follows(session, part.id, where.id, counted, int(row.minimum), actor.username)
        session.add(StockCount(check_id=check.id, part_id=part.id, counted=counted, ledger=ledger,
                               movement_id=movement))
    session.flush()
    return check


def ledger_balance(session: Session, part_id: int, centre_id: int) -> int:
    """The sum of every movement: what the stock row must always equal."""
    return int(session.scalar(select(func.coalesce(func.sum(PartMovement.quantity), 0)).where(
        PartMovement.part_id == part_id, PartMovement.centre_id == centre_id)) or 0)


# ------------------------------------------------------------------------------------- reading

def centres(session: Session) -> list[dict[str, Any]]:
    last = (select(PartStock.centre_id, func.max(StockCheck.checked_at).label("at"))
            .join(StockCheck, StockCheck.centre_id == PartStock.centre_id).group_by(PartStock.centre_id).subquery())
    rows = session.execute(select(ServiceCentre, last.c.at).outerjoin(last, last.c.centre_id == ServiceCentre.id)
                           .order_by(ServiceCentre.code))
    now = clock.now()
    return [{"id": c.id, "code": c.code, "name": c.name, "last_checked_at": at,
             "check_due": at is None or now - at > CHECK_CYCLE} for c, at in rows]


def catalogue(session: Session) -> list[dict[str, Any]]:
    held = (select(PartStock.part_id, func.sum(PartStock.quantity).label("held")).group_by(PartStock.part_id)
            .subquery())
    rows = session.execute(select(Part, Supplier.name, held.c.held).outerjoin(Supplier, Supplier.id == Part.supplier_id)
                           .outerjoin(held, held.c.part_id == Part.id).order_by(Part.code))
    return [{"id": p.id, "code": p.code, "label": p.label, "model": p.model, "supplier": supplier,
             "unit_price": yuan(p.unit_price_fen), "held": int(total or 0)} for p, supplier, total in rows]


def stock(session: Session, *, centre_id: int | None = None) -> list[dict[str, Any]]:
    query = (select(PartStock, Part, ServiceCentre, PartReplenishment.id)
             .join(Part, Part.id == PartStock.part_id).join(ServiceCentre, ServiceCentre.id == PartStock.centre_id)
             .outerjoin(PartReplenishment, and_(PartReplenishment.part_id == PartStock.part_id,
                                                PartReplenishment.centre_id == PartStock.centre_id,
                                                PartReplenishment.status == "open"))
             .order_by(ServiceCentre.code, Part.code))
    if centre_id is not None:
        query = query.where(PartStock.centre_id == centre_id)
    return [{"centre": c.name, "centre_code": c.code, "part": p.code, "label": p.label, "model": p.model,
             "quantity": s.quantity, "minimum": s.minimum, "below_minimum": s.quantity < s.minimum,
             "replenishment_id": task_id, "last_checked_at": s.last_checked_at}
            for s, p, c, task_id in session.execute(query)]


def ledger(session: Session, *, part: str | None = None, centre: str | None = None, kind: str | None = None,
           instance_id: int | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = (select(PartMovement, Part.code, Part.label, ServiceCentre.name)
             .join(Part, Part.id == PartMovement.part_id)
             .join(ServiceCentre, ServiceCentre.id == PartMovement.centre_id)
             .order_by(PartMovement.id.desc()).limit(limit))
    if part:
        query = query.where(PartMovement.part_id == find_part(session, part).id)
    if centre:
        query = query.where(PartMovement.centre_id == find_centre(session, centre).id)
    if kind:
        query = query.where(PartMovement.kind == kind)
    if instance_id is not None:
        query = query.where(PartMovement.instance_id == instance_id)
    return [{"id": m.id, "at": m.at, "part": code, "label": label, "centre": centre_name, "kind": m.kind,
             "quantity": m.quantity, "balance_after": m.balance_after, "instance_id": m.instance_id,
             "element_id": m.element_id, "note": m.note, "actor": m.actor}
            for m, code, label, centre_name in session.execute(query)]


def suppliers(session: Session) -> list[dict[str, Any]]:
    scores = (select(SupplierEvaluation.supplier_id, func.avg(SupplierEvaluation.score).label("mean"),
                     func.count().label("count")).group_by(SupplierEvaluation.supplier_id).subquery())
    rows = session.execute(select(Supplier, scores.c.mean, scores.c.count)
                           .outerjoin(scores, scores.c.supplier_id == Supplier.id).order_by(Supplier.name))
    evaluations: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in session.scalars(select(SupplierEvaluation).order_by(SupplierEvaluation.id.desc())):
        evaluations[e.supplier_id].append({"score": e.score, "comment": e.comment, "by": e.evaluated_by,
                                           "at": e.evaluated_at})
    return [{"name": s.name, "contact": s.contact, "phone": s.phone,
             "mean_score": round(float(mean), 1) if mean is not None else None, "evaluations": evaluations[s.id][:5],
             "evaluation_count": int(count or 0)} for s, mean, count in rows]


def approvals(session: Session, *, status: str | None = None) -> list[dict[str, Any]]:
    query = (select(PartApproval, Part.code, Part.label, ServiceCentre.name)
             .join(Part, Part.id == PartApproval.part_id)
             .join(ServiceCentre, ServiceCentre.id == PartApproval.centre_id)
             .order_by(PartApproval.id.desc()).limit(200))
    if status:
        query = query.where(PartApproval.status == status)
    return [{"id": a.id, "instance_id": a.instance_id, "part": code, "label": label, "centre": centre,
             "quantity": a.quantity, "value": yuan(a.value_fen), "reason": a.reason, "status": a.status,
             "requested_by": a.requested_by, "requested_at": a.requested_at, "decided_by": a.decided_by,
             "decided_at": a.decided_at, "decision_note": a.decision_note}
            for a, code, label, centre in session.execute(query)]


def replenishments(session: Session, *, open_only: bool = True) -> list[dict[str, Any]]:
    query = (select(PartReplenishment, Part.code, Part.label, ServiceCentre.name, PartStock.quantity, PartStock.minimum)
             .join(Part, Part.id == PartReplenishment.part_id)
             .join(ServiceCentre, ServiceCentre.id == PartReplenishment.centre_id)
             .join(PartStock, and_(PartStock.part_id == PartReplenishment.part_id,
                                   PartStock.centre_id == PartReplenishment.centre_id))
             .order_by(PartReplenishment.id.desc()).limit(200))
    if open_only:
        query = query.where(PartReplenishment.status == "open")
    return [{"id": r.id, "part": code, "label": label, "centre": centre, "quantity": quantity, "minimum": minimum,
             "to_order": max(minimum - quantity, 0), "status": r.status, "opened_at": r.opened_at,
             "closed_at": r.closed_at, "closed_by": r.closed_by}
            for r, code, label, centre, quantity, minimum in session.execute(query)]


def picker(session: Session) -> dict[str, list[dict[str, Any]]]:
    """What the parts_used picker offers: parts in stock somewhere, and the centres."""
    held = session.execute(select(Part.code, Part.label, Part.model, ServiceCentre.name, PartStock.quantity)
                           .join(PartStock, PartStock.part_id == Part.id)
                           .join(ServiceCentre, ServiceCentre.id == PartStock.centre_id)
                           .where(PartStock.quantity > 0).order_by(Part.code, ServiceCentre.code))
    parts: dict[str, dict[str, Any]] = {}
    for code, label, model, centre, quantity in held:
        entry = parts.setdefault(code, {"code": code, "label": label, "model": model, "held": []})
        entry["held"].append(f"{centre} {quantity}")
    return {"parts": list(parts.values()),
            "centres": [{"code": c.code, "name": c.name} for c in session.scalars(select(ServiceCentre)
                                                                                 .order_by(ServiceCentre.code))]}


# ------------------------------------------------------------------------------------- the monthly report

def _zone() -> dt.tzinfo:
    try:
        return ZoneInfo(os.environ.get("OPSFLOW_TIMEZONE", "Asia/Shanghai"))
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def month_bounds(month: str, locale: str | None = "en") -> tuple[dt.datetime, dt.datetime]:
    """The month's first instant and the next month's, in the service centres' time zone, as UTC."""
    try:
        first = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=_zone())
    except (TypeError, ValueError):
        raise _refuse("month", locale, "month") from None
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first.astimezone(dt.UTC), following.astimezone(dt.UTC)


def current_month() -> str:
    return clock.now().astimezone(_zone()).strftime("%Y-%m")


def previous_month() -> str:
    first = clock.now().astimezone(_zone()).replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def monthly_report(session: Session, month: str, locale: str | None = "en") -> dict[str, Any]:
    """Per centre and part: received, issued, returned, written off, adjusted in the month, the stock at its
    end against the minimum, and the value issued; with the report's run and the manager's confirmation."""
    start, end = month_bounds(month, locale)
    moved = session.execute(
        select(PartMovement.part_id, PartMovement.centre_id, PartMovement.kind, func.sum(PartMovement.quantity),
               func.sum(PartMovement.quantity * PartMovement.unit_price_fen))
        .where(PartMovement.at >= start, PartMovement.at < end)
        .group_by(PartMovement.part_id, PartMovement.centre_id, PartMovement.kind))
    last = (select(func.max(PartMovement.id)).where(PartMovement.at < end)
            .group_by(PartMovement.part_id, PartMovement.centre_id))
    closing = {(m.part_id, m.centre_id): m.balance_after
               for m in session.scalars(select(PartMovement).where(PartMovement.id.in_(last)))}
    lines: dict[tuple[int, int], dict[str, Any]] = {}

    def line(key: tuple[int, int]) -> dict[str, Any]:
        return lines.setdefault(key, {kind: 0 for kind in KINDS} | {"issued_value_fen": 0})

    for part_id, centre_id, kind, quantity, value in moved:
        entry = line((part_id, centre_id))
        entry[kind] = abs(int(quantity)) if kind in ("issue", "write_off") else int(quantity)
        if kind == "issue":
            entry["issued_value_fen"] = -int(value or 0)
    for key in closing:
        line(key)
    names = {p.id: p for p in session.scalars(select(Part))}
    centre_names = {c.id: c for c in session.scalars(select(ServiceCentre))}
    minimums = {(s.part_id, s.centre_id): s.minimum for s in session.scalars(select(PartStock))}
    rows = []
    for (part_id, centre_id), entry in sorted(lines.items(), key=lambda item: (centre_names[item[0][1]].code,
                                                                               names[item[0][0]].code)):
        stock_at_end = closing.get((part_id, centre_id), 0)
        minimum = minimums.get((part_id, centre_id), 0)
        rows.append({"centre": centre_names[centre_id].name, "part": names[part_id].code,
                     "label": names[part_id].label, "received": entry["receive"], "issued": entry["issue"],
                     "returned": entry["return"], "written_off": entry["write_off"], "adjusted": entry["adjust"],
                     "issued_value": yuan(entry["issued_value_fen"]), "stock": stock_at_end, "minimum": minimum,
                     "below_minimum": stock_at_end < minimum})
    run = session.get(PartsReportRun, month)
    return {"month": month, "rows": rows, "issued": sum(r["issued"] for r in rows),
            "issued_value": yuan(sum(lines[k]["issued_value_fen"] for k in lines)),
            "below_minimum": sum(r["below_minimum"] for r in rows), "run": _run(session, run)}


def _run(session: Session, run: PartsReportRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    found: dict[str, Any] = {"instance_id": run.instance_id, "started_at": run.started_at, "confirmed": None}
    if run.instance_id is not None:
        instance = session.get(ProcessInstance, run.instance_id)
        found["status"] = instance.status if instance else None
        event = session.scalars(select(HistoryEvent).where(
            HistoryEvent.instance_id == run.instance_id, HistoryEvent.kind == "task_completed",
            HistoryEvent.element_id == REPORT_CONFIRM_STEP).order_by(HistoryEvent.id.desc())).first()
        if event is not None:
            data = (event.payload or {}).get("data", {})
            found |= {"confirmed": bool(data.get("confirmed")), "comment": data.get("comment") or "",
                      "confirmed_by": event.actor, "confirmed_at": event.at}
    return found


def _summary(report: Mapping[str, Any]) -> str:
    return "\n".join(f"{r['centre']} {r['part']} {r['label']}: 入库 {r['received']}，领用 {r['issued']}，退回 "
                     f"{r['returned']}，核销 {r['written_off']}，盘点调整 {r['adjusted']}，月末库存 {r['stock']}"
                     f"（最低 {r['minimum']}）" for r in report["rows"]) or "本月无备件库存与出入库。"


def start_report(session: Session, month: str, *, actor: Actor = SCHEDULER) -> int | None:
    """Start the month's report unless it was started already: the run row goes in first (ON CONFLICT DO
    NOTHING), so two schedulers, or a scheduler and a manager, start it once. The new instance's id."""
    dialect = session.get_bind().dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING rather than the rowcount: psycopg reports -1 for an INSERT … ON CONFLICT.
    claimed = session.connection().execute(maker(_runs).values(month=month, started_at=clock.now())
                                           .on_conflict_do_nothing(index_elements=["month"])
                                           .returning(_runs.c.month)).first()
    if claimed is None:
        return None
    report = monthly_report(session, month)
    data = {"month": month, "issued": report["issued"], "issued_value": report["issued_value"],
            "below_minimum": report["below_minimum"], "summary": _summary(report)[:10_000]}
    instance = runtime.start_instance(session, process_id=REPORT_PROCESS, data=data, actor=actor)
    session.connection().execute(update(_runs).where(_runs.c.month == month).values(instance_id=instance.id))
    return instance.id


def start_monthly_report(session: Session) -> int | None:
    """The scheduler's job: once a month has ended, its report — when the store is in use and the diagram
    is deployed (a fresh installation without parts gets no empty reports)."""
    if session.scalar(select(Part.id).limit(1)) is None:
        return None
    if session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_id == REPORT_PROCESS)
                      .limit(1)) is None:
        return None
    return start_report(session, previous_month())


# Hourly, in a transaction of its own (engine.process.scheduler runs the registered jobs).
JOB = hooks.Job("parts_report", 3600, start_monthly_report)
