"""Tables of the REST API (app/api): personal API tokens, and the alert intake's level mapping and the
request each monitored alert opened (engine.tokens, engine.desk.alerts)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.store.models import Base


class ApiToken(Base):
    """A personal API token: only the SHA-256 of its secret is kept; the secret is shown once."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_username", "username", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # What it may be used for besides acting as its user (engine.tokens.SCOPES), space-separated.
    scopes: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class AlertLevel(Base):
    """Which request a monitoring alert opens: per source and severity, the process and fault level."""

    __tablename__ = "alert_level"
    __table_args__ = (UniqueConstraint("source", "severity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # alertmanager | zabbix
    severity: Mapped[str] = mapped_column(String(40))  # lower case; "*" for any other severity
    process_id: Mapped[str] = mapped_column(String(200))  # service_desk | emergency
    fault_level: Mapped[str] = mapped_column(String(10))
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime | None]


class AlertRequest(Base):
    """The request an alert (by source and fingerprint) opened. `open_fingerprint` is the fingerprint
    while the request runs and NULL after: its unique key lets concurrent retries open only one request."""

    __tablename__ = "alert_request"
    __table_args__ = (UniqueConstraint("source", "open_fingerprint"),
                      Index("ix_alert_request_fingerprint", "source", "fingerprint"))

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    fingerprint: Mapped[str] = mapped_column(String(200))
    open_fingerprint: Mapped[str | None] = mapped_column(String(200))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class AlertNotice(Base):
    """One notice (firing or resolved) already taken in: a retry of the same notice changes nothing."""

    __tablename__ = "alert_notice"
    __table_args__ = (UniqueConstraint("source", "notice_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    notice_sha256: Mapped[str] = mapped_column(String(64))
    alert_request_id: Mapped[int | None] = mapped_column(ForeignKey("alert_request.id"))  # None: ignored
    outcome: Mapped[str] = mapped_column(String(20))  # opened | noted | resolved
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
