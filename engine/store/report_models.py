"""Service-report tables (seed 002 服务报告管理程序): when reports are due, each report with its generated
figures and review, the archived PDFs (immutable, one row per version, with their SHA-256), and the
quarterly customer callbacks on archived reports (engine.desk.service_reports, engine.desk.report_archive)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.store.models import Base

# The database refuses to change or delete an archived document (created by the migration); the models
# cannot describe triggers, and the schema comparison does not look at them.
DOCUMENT_TRIGGERS = ("report_document_no_update", "report_document_no_delete")


class ReportSchedule(Base):
    """A periodic report: its class and cycle, optionally for one contract/customer, and the next period."""

    __tablename__ = "report_schedule"
    __table_args__ = (UniqueConstraint("report_class", "cycle", "contract"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_class: Mapped[str] = mapped_column(String(40))  # engine.desk.service_reports.CLASSES
    cycle: Mapped[str] = mapped_column(String(20))  # monthly | quarterly | annual
    # '' when the schedule covers every contract (a unique key needs a value, NULLs never clash).
    contract: Mapped[str] = mapped_column(String(200), default="")
    customer: Mapped[str | None] = mapped_column(String(200))
    device_type: Mapped[str | None] = mapped_column(String(40))
    customer_type: Mapped[str | None] = mapped_column(String(40))
    business_line: Mapped[str | None] = mapped_column(String(40))
    due_days: Mapped[int] = mapped_column(Integer, default=10)  # the report is due this long after its period
    next_period_start: Mapped[dt.datetime]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100))


class ServiceReport(Base):
    """One service report: its period and attributes, the figures generated for it, the project manager's
    commentary, the review's outcome and the archiving. The `service_report` instance works on it."""

    __tablename__ = "service_report"
    # A schedule makes one report per period, whichever scheduler got there first.
    __table_args__ = (UniqueConstraint("schedule_id", "period_start"),
                      Index("ix_service_report_status_due", "status", "due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    report_class: Mapped[str] = mapped_column(String(40))
    cycle: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[dt.datetime]
    period_end: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime]
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("report_schedule.id"))
    contract: Mapped[str | None] = mapped_column(String(200))
    customer: Mapped[str | None] = mapped_column(String(200))
    device_type: Mapped[str | None] = mapped_column(String(40))
    customer_type: Mapped[str | None] = mapped_column(String(40))
    business_line: Mapped[str | None] = mapped_column(String(40))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    status: Mapped[str] = mapped_column(String(20), default="drafting")  # engine.desk.service_reports.STATUSES
    figures: Mapped[dict[str, Any] | None]
    commentary: Mapped[str | None] = mapped_column(Text)
    commentary_by: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[dt.datetime | None]
    late_reason: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(100))
    review_outcome: Mapped[str | None] = mapped_column(String(20))  # approve | send_back | special
    review_comment: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[dt.datetime | None]
    archived_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class ReportDocument(Base):
    """One version of a report's PDF as archived: written once, never updated or deleted (the database
    refuses both); a re-generation is a new version. The hash is checked whenever it is handed out."""

    __tablename__ = "report_document"
    __table_args__ = (UniqueConstraint("report_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("service_report.id"))
    version: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class ReportCallbackRound(Base):
    """The quarter whose archived reports were sampled for customer callbacks: one row, so one draw."""

    __tablename__ = "report_callback_round"

    quarter: Mapped[str] = mapped_column(String(7), primary_key=True)  # e.g. 2026Q4
    drawn_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    sampled: Mapped[int]


class ReportCallback(Base):
    """A customer callback (回访) on one archived report, drawn at random for a quarter; its result."""

    __tablename__ = "report_callback"
    __table_args__ = (UniqueConstraint("quarter", "report_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(ForeignKey("report_callback_round.quarter"))
    report_id: Mapped[int] = mapped_column(ForeignKey("service_report.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    reached: Mapped[bool | None]
    score: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[dt.datetime | None]
