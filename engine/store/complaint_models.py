"""Chases and complaints (seed 000 第二篇 督促/投诉; engine.desk.complaint): every chase of a request, the
complaint flow a request turned into, and the people each complaint is recorded against, in plain
columns the desk's pages and the reports count."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.store.models import Base


class RequestChase(Base):
    """One chase (督促) of an open request: who, when, the note; `number` is its place (1, 2, 3 …)."""

    __tablename__ = "request_chase"
    __table_args__ = (UniqueConstraint("instance_id", "number"), Index("ix_request_chase_at", "chased_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    number: Mapped[int] = mapped_column(Integer)
    chased_by: Mapped[str] = mapped_column(String(100))
    chased_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    note: Mapped[str | None] = mapped_column(Text)


class Complaint(Base):
    """A complaint (投诉): the `complaint` flow instance and the request it is about (at most one per request).

    `reason`: chases (the 3rd chase), channel (raised through the complaint channel) or category (classified
    as 投诉). `first_responsible` is named in the flow; `satisfied_at` set when the customer was satisfied.
    """

    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    request_instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(20))
    raised_by: Mapped[str] = mapped_column(String(100))
    raised_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    first_responsible: Mapped[str | None] = mapped_column(String(100))
    callbacks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    satisfied_at: Mapped[dt.datetime | None]


class ComplaintPerson(Base):
    """A complaint counted against a person, once per role: first_responsible (named) or handler (handled it)."""

    __tablename__ = "complaint_person"
    __table_args__ = (UniqueConstraint("complaint_id", "username", "role"),
                      Index("ix_complaint_person_username", "username", "role"))

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
