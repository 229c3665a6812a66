"""Readable request numbers (issue 15): INC-2026-000123 — a prefix per process, the year the request started
in China (Asia/Shanghai) and a 6-digit sequence per prefix and year, given at the start in the start's
transaction.

The sequence comes from request_counter with one UPDATE … RETURNING: on PostgreSQL that row stays locked
until the start commits, so two concurrent starts never get the same number (and a rolled-back start gives
its number back); SQLite has a single writer anyway.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.process import hooks
from engine.store.models import ProcessInstance
from engine.store.search_models import RequestCounter

# One prefix per process; every other process (internal work such as knowledge reviews) numbers as REQ.
PREFIXES: dict[str, str] = {
    "service_desk": "INC",
    "emergency": "EMG",
    "third_party": "TPS",
    "other_service": "OSR",
    "problem_management": "PRB",
    "software_adjustment": "CHG",
    "health_check": "HCK",
    "complaint": "CMP",
    "fault_report": "FRP",
}
DEFAULT_PREFIX = "REQ"
DIGITS = 6
CHINA = ZoneInfo("Asia/Shanghai")
# A whole number, or the start of one typed into the search box (INC, inc-2026, INC-2026-0001 …).
NUMBER = re.compile(r"^[A-Z]{3}-\d{4}-\d{6,}$")
NUMBER_PREFIX = re.compile(r"^[A-Z]{3}(-(\d{1,4}(-\d{0,9})?)?)?$")

_counters = cast(Table, RequestCounter.__table__)
_instances = cast(Table, ProcessInstance.__table__)
_NEXT = (update(_counters).where(_counters.c.prefix == bindparam("p"), _counters.c.year == bindparam("y"))
         .values(last=_counters.c.last + 1).returning(_counters.c.last))
_SET_NUMBER = update(_instances).where(_instances.c.id == bindparam("instance_id")).values(number=bindparam("number"))


def prefix_of(process_id: str) -> str:
    return PREFIXES.get(process_id, DEFAULT_PREFIX)


def year_of(started_at: dt.datetime) -> int:
    """The year in China when the request started (a start at 2026-12-31 17:00 UTC is in 2027)."""
    return started_at.astimezone(CHINA).year


def formatted(prefix: str, year: int, sequence: int) -> str:
    return f"{prefix}-{year:04d}-{sequence:0{DIGITS}d}"


def next_number(session: Session, *, process_id: str, started_at: dt.datetime) -> str:
    """The next number of the process's prefix in the start's year (the counter row stays locked until commit)."""
    prefix, year = prefix_of(process_id), year_of(started_at)
    params = {"p": prefix, "y": year}
    sequence = session.execute(_NEXT, params).scalar()
    if sequence is None:  # the first of its prefix and year: create the row (a racing start may do it too)
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(_counters).values(prefix=prefix, year=year, last=0).on_conflict_do_nothing())
        sequence = session.execute(_NEXT, params).scalar_one()
    return formatted(prefix, year, int(sequence))


def number_at_start(start: hooks.Start) -> None:
    """instance_started: the new instance's number, written to its row in the start's transaction."""
    instance = start.instance
    number = next_number(start.session, process_id=instance.process_id, started_at=instance.started_at)
    start.session.execute(_SET_NUMBER, {"instance_id": instance.id, "number": number})
    instance.pending["request_number"] = number  # for the search index (engine.desk.request_search)


def normalised(text: str) -> str:
    """What an agent typed as a number, as numbers are written (upper case, no spaces)."""
    return text.strip().upper().replace(" ", "")


def is_number(text: str) -> bool:
    return bool(NUMBER.match(normalised(text)))


def is_number_prefix(text: str) -> bool:
    """Whether `text` can only be (the start of) a request number: a known prefix, then digits."""
    value = normalised(text)
    return bool(NUMBER_PREFIX.match(value)) and value[:3] in {*PREFIXES.values(), DEFAULT_PREFIX}
