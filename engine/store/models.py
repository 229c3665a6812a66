"""SQLAlchemy models: definitions, instances, task records, history, users and groups.

The serialized workflow lives on the instance row; everything an inbox or a report reads is in
plain columns (task_record, history_event) so that no query ever deserializes a workflow.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from engine import clock
from engine.status import InstanceStatus, TaskState, TimerStatus


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class ProcessDefinition(Base):
    """One deployed version of a process: the XML as deployed, never changed afterwards."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    # [{"filename": ..., "xml": ...}]; the first file holds the process, the rest called processes.
    sources: Mapped[list[Any]] = mapped_column(deferred=True)  # loaded only to parse or show the XML
    sha256: Mapped[str] = mapped_column(String(64))
    start_form_key: Mapped[str | None] = mapped_column(String(100))
    deployed_by: Mapped[str | None] = mapped_column(String(100))
    deployed_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    comment: Mapped[str | None] = mapped_column(Text)


class ProcessDraft(Base):
    """A process owner's unfinished diagram: one per process and user, replaced by each save (engine.process.drafts)."""

    __tablename__ = "process_draft"
    __table_args__ = (UniqueConstraint("process_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(100))
    base_version: Mapped[int | None]  # the deployed version the draft was started from
    xml: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class ProcessInstance(Base):
    """A running or finished case; `lock_version` makes concurrent advances fail cleanly (engine.process.runtime)."""

    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_instance_status", "status"), Index("ix_instance_definition", "definition_id"),
                      Index("ix_instance_started_by", "started_by", "id"),
                      Index("ix_instance_process_level", "process_id", "fault_level"),
                      Index("ix_instance_number", "number", unique=True))

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    process_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=InstanceStatus.RUNNING)
    title: Mapped[str | None] = mapped_column(String(200))
    # The readable request number (INC-2026-000123), given at the start in the same transaction (engine.desk.numbers).
    number: Mapped[str | None] = mapped_column(String(20))
    fault_level: Mapped[str | None] = mapped_column(String(10))
    started_by: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    ended_at: Mapped[dt.datetime | None]
    workflow_state: Mapped[str] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    # The tail of the history hash chain, so appending an event never reads old events.
    last_event_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_event_hash: Mapped[str] = mapped_column(String(64), default="")

    definition: Mapped[ProcessDefinition] = relationship(lazy="joined")


class ServiceCase(Base):
    """The service desk's record of one request (engine.desk.case): one row per instance, written by the
    desk's hook receivers in the same transaction as each change of the instance.

    Plain columns for the desk's pages and for reports: the fault level, the SLA deadlines
    (engine.desk.sla), when the case was opened, first responded to, resolved and closed, the requester's
    chasing (督促; the 3rd chase makes it a 投诉), the satisfaction score, and the attributes the forms
    record (same names as the form fields). Attributes no form has recorded yet stay NULL.
    """

    __tablename__ = "service_case"
    # Reports select cases by when they were opened (engine.desk.kpi); the backlog by still being open.
    __table_args__ = (Index("ix_case_opened", "opened_at"),
                      Index("ix_case_open", "closed_at", "opened_at"),
                      Index("ix_case_rollup", "rollup_batch", "opened_at"))

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True,
                                             autoincrement=False)
    fault_level: Mapped[str | None] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(40))
    system: Mapped[str | None] = mapped_column(String(200))
    device_type: Mapped[str | None] = mapped_column(String(40))
    customer_type: Mapped[str | None] = mapped_column(String(40))
    business_line: Mapped[str | None] = mapped_column(String(40))
    zone: Mapped[str | None] = mapped_column(String(200))
    opened_at: Mapped[dt.datetime]
    responded_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    respond_due_at: Mapped[dt.datetime | None]
    plan_due_at: Mapped[dt.datetime | None]
    resolve_due_at: Mapped[dt.datetime | None]
    emergency_plan_due_at: Mapped[dt.datetime | None]
    fault_report_due_at: Mapped[dt.datetime | None]
    satisfaction: Mapped[int | None]
    chase_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_complaint: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The customer the request belongs to (engine.desk.customers; its requester's, or by organisation).
    customer_id: Mapped[int | None] = mapped_column(Integer)
    # For reports (engine.desk.kpi; migration kpi_0001): the process, the customer (the request's
    # organisation), who last worked the case and in which group, SLA outcomes per target counted
    # against the deadline plus the time the SLA clock was paused, elapsed seconds to the first response
    # and resolution, resolution attempts (1 and never reopened: first-contact resolution) and reopenings.
    process_id: Mapped[str | None] = mapped_column(String(200))
    customer: Mapped[str | None] = mapped_column(String(200))
    engineer: Mapped[str | None] = mapped_column(String(100))
    assigned_group: Mapped[str | None] = mapped_column(String(100))
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    respond_met: Mapped[bool | None]
    resolve_met: Mapped[bool | None]
    respond_seconds: Mapped[int | None]
    resolve_seconds: Mapped[int | None]
    resolve_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The kpi.roll_up batch that added this closed case to case_rollup (None: reports read it here).
    rollup_batch: Mapped[int | None]


class TaskRecord(Base):
    """A user task as the inbox sees it; mirrors one SpiffWorkflow task."""

    __tablename__ = "task_record"
    # Inbox pages read these in (due_at, id) order per group or assignee (engine.desk.inbox, keyset pages);
    # instance_id last, so filters on the case are checked inside the index.
    __table_args__ = (
        Index("ix_task_inbox_group", "state", "candidate_group", "assignee", "due_at", "id", "instance_id"),
        Index("ix_task_inbox_assignee", "assignee", "state", "due_at", "id", "instance_id"),
        Index("ix_task_state_due", "state", "due_at", "id", "instance_id"),
        Index("ix_task_instance", "instance_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_group: Mapped[str | None] = mapped_column(String(100))
    form_key: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), default=TaskState.READY)
    assignee: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    completed_at: Mapped[dt.datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))

    instance: Mapped[ProcessInstance] = relationship(lazy="raise")


class HistoryEvent(Base):
    """Append-only record of one state change, chained by hash to the previous event."""

    __tablename__ = "history_event"
    __table_args__ = (UniqueConstraint("instance_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(40))
    element_id: Mapped[str | None] = mapped_column(String(200))
    task_record_id: Mapped[int | None]
    actor: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[dt.datetime]
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Timer(Base):
    """A waiting BPMN timer: the database is the truth, the scheduler only the alarm clock."""

    __tablename__ = "timer"
    __table_args__ = (Index("ix_timer_status_due", "status", "due_at"), Index("ix_timer_instance", "instance_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # a TimerKind
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(20), default=TimerStatus.PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    fired_at: Mapped[dt.datetime | None]
    fired_by: Mapped[str | None] = mapped_column(String(100))
    late_ms: Mapped[int | None]


class SlaPolicy(Base):
    """Targets per process and fault level (seed 001 §4.1), editable by process owners; seconds throughout
    (whole minutes as a rule, seconds for drills and tests). The service_desk rows are the defaults of a
    process without rows of its own (engine.desk.sla)."""

    __tablename__ = "sla_policy"

    process_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    fault_level: Mapped[str] = mapped_column(String(10), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    respond_seconds: Mapped[int]
    plan_seconds: Mapped[int]
    resolve_seconds: Mapped[int]
    warn_ratio: Mapped[float] = mapped_column(default=0.8)
    emergency_plan_after_seconds: Mapped[int | None]
    emergency_plan_due_seconds: Mapped[int | None]
    fault_report_seconds: Mapped[int] = mapped_column(default=24 * 60 * 60)
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime | None]
    # "7x24" (seed 001 §5.4) or "workdays": Chinese working days (engine.business_calendar), between these hours.
    calendar: Mapped[str] = mapped_column(String(20), default="7x24")
    work_start: Mapped[str] = mapped_column(String(5), default="09:00")
    work_end: Mapped[str] = mapped_column(String(5), default="18:00")


class HealthCheckSchedule(Base):
    """When 健康检查 starts by itself for a contract (an ISO 8601 cycle, monthly by default)."""

    __tablename__ = "health_check_schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract: Mapped[str] = mapped_column(String(200), unique=True)
    organisation: Mapped[str] = mapped_column(String(200))
    cycle: Mapped[str] = mapped_column(String(100), default="R/P1M")
    next_due_at: Mapped[dt.datetime]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class AccessLog(Base):
    """What auditors (and exports) looked at: who, what, when. Separate from instance history."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_instance", "instance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))  # view | export_json | export_csv | verify
    instance_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class UserAdminLog(Base):
    """What user administrators did: who, when, which action on whom, and the values before and after
    (engine.desk.user_admin writes it; a password never enters it, only that one was set)."""

    __tablename__ = "user_admin_log"
    __table_args__ = (Index("ix_user_admin_log_username", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))  # engine.desk.user_admin.ACTIONS
    username: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))  # for optional escalation mail (engine.desk.notify)
    password_hash: Mapped[str] = mapped_column(String(300))
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    groups: Mapped[list[Group]] = relationship(secondary="membership", lazy="selectin")


class Group(Base):
    """A role from the spec (lanes map to these); `id` is the candidate-group name in diagrams."""

    __tablename__ = "app_group"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))


class Membership(Base):
    __tablename__ = "membership"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("app_group.id", ondelete="CASCADE"), primary_key=True)


# The knowledge base's, the REST API's (tokens, alert intake), the zones' and customers', the spare parts',
# the service reports', the KPI roll-up's, the chases' and complaints', the request search's and the
# conversations' tables live in their own modules; importing them here puts them in Base.metadata.
from engine.store import (  # noqa: E402,F401
    api_models,
    attachment_models,
    complaint_models,
    conversation_models,
    customer_models,
    knowledge_models,
    kpi_models,
    notification_models,
    parts_models,
    report_models,
    search_models,
)
