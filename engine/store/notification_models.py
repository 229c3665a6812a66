"""Notifications (engine.desk.notifications): the outbox every notice is written to in the change's own
transaction — read in the app's list and mailed from it after commit — and each user's opt-outs."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.store.models import Base


class Notification(Base):
    """One notice to one user. `in_app`: shown in their list; `email_state`: pending (due at
    `next_attempt_at`), sent, failed (after the last attempt) or skipped (no address, opted out, mail off)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user", "username", "id"),
                      Index("ix_notification_due", "email_state", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict[str, Any]]
    in_app: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    read_at: Mapped[dt.datetime | None]
    email_state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class NotificationOptOut(Base):
    """A user does not want `kind` notices on `channel` (email or in_app); no row: they do."""

    __tablename__ = "notification_opt_out"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
