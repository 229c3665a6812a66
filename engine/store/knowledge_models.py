"""Knowledge-base tables (seed 003 第2篇): solutions with their versions, their search words, and the
one solution each incident links to (engine.desk.knowledge)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.store.models import Base

# The SQLite full-text table (FTS5, created by the migration) and the shadow tables SQLite keeps for it:
# SQLAlchemy cannot describe virtual tables, so the schema comparison leaves them out.
SQLITE_SEARCH_TABLE = "solution_fts"
# engine.store.search_models.SQLITE_REQUEST_SEARCH_TABLE: the request search's, left out the same way.
_SQLITE_FULL_TEXT = (SQLITE_SEARCH_TABLE, "request_fts")


def modelled(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic's include_name: everything but SQLite's full-text tables, which models cannot describe."""
    return not (type_ == "table" and bool(name)
                and any(name == fts or str(name).startswith(fts + "_") for fts in _SQLITE_FULL_TEXT))


class Solution(Base):
    """A solution (or rule, change/test/technical plan, reference) as it stands now: the latest version.

    Earlier versions are kept in solution_version; a new version of an approved solution is reviewed again.
    """

    __tablename__ = "solution"
    __table_args__ = (Index("ix_solution_status", "status", "id"), Index("ix_solution_author", "author", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    symptom: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(40))  # engine.desk.knowledge.KINDS
    system: Mapped[str | None] = mapped_column(String(200))
    device_type: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | in_review | approved | retired
    version: Mapped[int] = mapped_column(Integer, default=1)
    author: Mapped[str] = mapped_column(String(100))
    reviewer: Mapped[str | None] = mapped_column(String(100))
    # The running (or last) knowledge_review instance, its outcome and the reviewer's comment.
    review_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    review_outcome: Mapped[str | None] = mapped_column(String(20))  # approve | send_back | reject
    review_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    approved_at: Mapped[dt.datetime | None]


class SolutionVersion(Base):
    """An earlier version of a solution, as it was when a newer one was started."""

    __tablename__ = "solution_version"
    __table_args__ = (UniqueConstraint("solution_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    solution_id: Mapped[int] = mapped_column(ForeignKey("solution.id", ondelete="CASCADE"))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    symptom: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text)
    fix: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    system: Mapped[str | None] = mapped_column(String(200))
    device_type: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(100))
    reviewer: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[dt.datetime | None]
    saved_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class SolutionSearch(Base):
    """The search words of a solution's current version (engine.desk.knowledge_search).

    SQLite indexes `title_words`/`body_words` in the FTS5 table solution_fts (kept in step by triggers);
    PostgreSQL keeps the same words weighted in `document` (a tsvector with a GIN index). On SQLite
    `document` stays empty.
    """

    __tablename__ = "solution_search"
    __table_args__ = (Index("ix_solution_search_document", "document", postgresql_using="gin"),)

    solution_id: Mapped[int] = mapped_column(ForeignKey("solution.id", ondelete="CASCADE"), primary_key=True)
    title_words: Mapped[str] = mapped_column(Text)
    body_words: Mapped[str] = mapped_column(Text)
    document: Mapped[str | None] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))


class IncidentSolution(Base):
    """The one solution an incident (a request instance) links to; a solution serves many incidents."""

    __tablename__ = "incident_solution"
    __table_args__ = (Index("ix_incident_solution_solution", "solution_id", "instance_id"),)

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    solution_id: Mapped[int] = mapped_column(ForeignKey("solution.id"))
    linked_by: Mapped[str] = mapped_column(String(100))
    linked_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
