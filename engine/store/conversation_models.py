"""The conversation on a request (engine.desk.conversation): replies the requester reads and the agents'
internal work notes, each also recorded in the instance's hash-chained history (comment_added)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.store.models import Base


class RequestComment(Base):
    """One comment on a request: `visibility` is reply (the requester sees it) or internal (agents only).

    The history event comment_added carries the sha256 of `body`, so an altered text shows."""

    __tablename__ = "request_comment"
    __table_args__ = (Index("ix_request_comment_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    author: Mapped[str] = mapped_column(String(100))
    visibility: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
