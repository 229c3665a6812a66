"""Spare-parts tables (seed 000 备件库 / 备用设备与零件治理): the catalogue, suppliers and their evaluations,
stock per service centre, the append-only ledger of every movement, use approvals, replenishment tasks,
stock checks and the monthly report runs (engine.desk.parts).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.store.models import Base

# The ledger refuses UPDATE and DELETE (triggers made by the migration): a movement, once booked, stays.
LEDGER_TABLE = "part_movement"


class ServiceCentre(Base):
    """A 服务中心 keeping its own 备品备件库."""

    __tablename__ = "service_centre"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Supplier(Base):
    __tablename__ = "supplier"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    contact: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class SupplierEvaluation(Base):
    """One evaluation of a supplier (seed 000: 对供应商进行选择和评价): a score 1–5 and what was seen."""

    __tablename__ = "supplier_evaluation"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="ck_supplier_evaluation_score"),
                      Index("ix_supplier_evaluation_supplier", "supplier_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    evaluated_by: Mapped[str] = mapped_column(String(100))
    evaluated_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class Part(Base):
    """A catalogue entry: part number (`code`), label, model, supplier and unit price in fen (1/100 yuan)."""

    __tablename__ = "part"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200), default="")
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"))
    unit_price_fen: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class PartStock(Base):
    """What a centre holds of a part now, and the agreed minimum (约定的库存) it is replenished to.

    `quantity` only changes together with a ledger row, by conditional UPDATEs (never below zero)."""

    __tablename__ = "part_stock"
    __table_args__ = (CheckConstraint("quantity >= 0", name="ck_part_stock_quantity"),
                      CheckConstraint("minimum >= 0", name="ck_part_stock_minimum"))

    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"), primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("service_centre.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    minimum: Mapped[int] = mapped_column(Integer, default=0)
    last_checked_at: Mapped[dt.datetime | None]


class PartMovement(Base):
    """One movement in or out (receive, issue to a case, return, write-off, stock-check adjustment), signed,
    with the balance after it and who booked it. Append-only."""

    __tablename__ = LEDGER_TABLE
    __table_args__ = (Index("ix_part_movement_stock", "part_id", "centre_id", "id"),
                      Index("ix_part_movement_at", "at"),
                      Index("ix_part_movement_instance", "instance_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"))
    centre_id: Mapped[int] = mapped_column(ForeignKey("service_centre.id"))
    kind: Mapped[str] = mapped_column(String(20))  # engine.desk.parts.KINDS
    quantity: Mapped[int] = mapped_column(Integer)  # signed: + in, - out
    balance_after: Mapped[int] = mapped_column(Integer)
    unit_price_fen: Mapped[int] = mapped_column(Integer, default=0)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    element_id: Mapped[str | None] = mapped_column(String(200))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class PartApproval(Base):
    """A manager's approval of using parts on a case above the value limit: requested, then approved or
    rejected; an approved one is used up by the booking it allowed."""

    __tablename__ = "part_approval"
    __table_args__ = (Index("ix_part_approval_instance", "instance_id", "status"),
                      CheckConstraint("quantity > 0", name="ck_part_approval_quantity"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"))
    centre_id: Mapped[int] = mapped_column(ForeignKey("service_centre.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    value_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | approved | rejected | used
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    movement_id: Mapped[int | None] = mapped_column(ForeignKey("part_movement.id"))


class PartReplenishment(Base):
    """A replenishment task: the centre's stock of the part fell below its minimum. At most one open task
    per part and centre (a partial unique index); receiving up to the minimum closes it."""

    __tablename__ = "part_replenishment"
    __table_args__ = (Index("uq_part_replenishment_open", "part_id", "centre_id", unique=True,
                            sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"))
    centre_id: Mapped[int] = mapped_column(ForeignKey("service_centre.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | done
    opened_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    closed_at: Mapped[dt.datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(100))


class StockCheck(Base):
    """A periodic stock check of one centre: each part counted and compared with the ledger."""

    __tablename__ = "stock_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("service_centre.id"))
    checked_by: Mapped[str] = mapped_column(String(100))
    checked_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    note: Mapped[str] = mapped_column(Text, default="")


class StockCount(Base):
    """One part's line of a stock check: counted, what the ledger said, and the adjustment booked."""

    __tablename__ = "stock_count"

    check_id: Mapped[int] = mapped_column(ForeignKey("stock_check.id"), primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"), primary_key=True)
    counted: Mapped[int] = mapped_column(Integer)
    ledger: Mapped[int] = mapped_column(Integer)
    movement_id: Mapped[int | None] = mapped_column(ForeignKey("part_movement.id"))


class PartsReportRun(Base):
    """The monthly report started for a month (YYYY-MM): the primary key makes a second start impossible."""

    __tablename__ = "parts_report_run"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    started_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
