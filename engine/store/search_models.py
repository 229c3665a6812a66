"""Readable request numbers, the agents' request search and their saved filters (engine.desk.numbers,
engine.desk.request_search, engine.desk.request_list)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.store.models import Base

# The SQLite full-text table over request_search's words (FTS5, created by the migration; see
# engine.store.knowledge_models.modelled, which leaves it out of the schema comparison).
SQLITE_REQUEST_SEARCH_TABLE = "request_fts"


class RequestCounter(Base):
    """The last sequence number given per prefix and year (INC-2026-000123 is INC, 2026, 123); a start takes
    the next one with one UPDATE … RETURNING, which holds the row until its transaction ends."""

    __tablename__ = "request_counter"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class RequestSearch(Base):
    """The search words of one request (engine.desk.request_search): its text fields as last recorded
    (`fields`, and as plain `text`), their jieba words (`words`, indexed by SQLite's FTS5 table request_fts
    through triggers) and on PostgreSQL the same words as a tsvector with a GIN index (`document`; empty on SQLite)."""

    __tablename__ = "request_search"
    __table_args__ = (Index("ix_request_search_document", "document", postgresql_using="gin"),)

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True,
                                             autoincrement=False)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    text: Mapped[str] = mapped_column(Text, default="")  # the fields' text, one a line (snippets; the LIKE baseline)
    words: Mapped[str] = mapped_column(Text, default="")
    document: Mapped[str | None] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))


class SavedFilter(Base):
    """An agent's named query of the all-requests list (its query string); shared with one of their groups
    when `group_id` is set (the group's members see it and use it; only its owner changes it)."""

    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("username", "name"), Index("ix_saved_filter_group", "group_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(Text)
    group_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
