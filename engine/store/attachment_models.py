"""Attachments (engine.desk.attachments): one row per file added to a request, or to one of its tasks. The
bytes live in the attachment store (engine.desk.attachment_store) under `storage_key`, content addressed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.store.models import Base


class Attachment(Base):
    """A file on a request: `filename` is safe to hand to a browser or a file system, `original_filename` the
    name as uploaded (shown); `content_type` was decided from the allow-list by extension and content;
    `visibility` customer (the requester sees it) or internal (staff only)."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task_record.id"))
    filename: Mapped[str] = mapped_column(String(255))
    original_filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    visibility: Mapped[str] = mapped_column(String(20))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
