"""engine.store.direct writes exactly what SQLAlchemy's Connection.execute writes, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, bindparam, insert, select, update

from engine.store.db import Database
from engine.store.direct import DirectStatement
from engine.store.models import UTCDateTime

_metadata = MetaData()
_scratch = Table("direct_scratch", _metadata,
                 Column("id", Integer, primary_key=True), Column("label", String(50)),
                 Column("at", UTCDateTime()), Column("payload", JSON()), Column("flag", Boolean()),
                 Column("counter", Integer, default=0))

ROWS = [
    {"label": "甲", "at": dt.datetime(2026, 11, 22, 8, 30, 1, 123456, tzinfo=dt.UTC),
     "payload": {"data": {"score": 5, "名字": "张三"}, "list": [1, None]}, "flag": True, "counter": 1},
    {"label": "乙", "at": dt.datetime(2026, 11, 22, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
     "payload": {}, "flag": False, "counter": 2},
    {"label": None, "at": None, "payload": None, "flag": None, "counter": 3},
]


@pytest.fixture
def scratch(db: Database) -> Iterator[Database]:
    _metadata.create_all(db.engine)
    yield db
    _metadata.drop_all(db.engine)


def _read(db: Database, counters: range) -> list[tuple[Any, ...]]:
    """(label, at, payload, flag, counter) of the rows with these counters, in counter order."""
    with db.transaction() as session:
        return [tuple(row)[1:] for row in session.connection().execute(
            select(_scratch).where(_scratch.c.counter.in_(list(counters))).order_by(_scratch.c.counter))]


def test_rows_written_directly_read_back_like_rows_written_by_sqlalchemy(scratch: Database) -> None:
    with scratch.transaction() as session:
        session.connection().execute(insert(_scratch), ROWS)
        DirectStatement(insert(_scratch)).run(session, [{**row, "counter": row["counter"] + 10} for row in ROWS])
    by_sqlalchemy, direct = _read(scratch, range(1, 4)), _read(scratch, range(11, 14))
    assert [r[:-1] for r in direct] == [r[:-1] for r in by_sqlalchemy]
    assert direct[0][1] == ROWS[0]["at"] and direct[1][1] == ROWS[1]["at"]  # aware UTC either way
    assert direct[0][2] == ROWS[0]["payload"] and direct[0][3] is True
    with scratch.transaction() as session:  # stored alike too: SQLAlchemy writes None as JSON null, not NULL
        stored = session.connection().execute(
            select(_scratch.c.counter).where(_scratch.c.payload.is_(None)).order_by(_scratch.c.counter)).scalars()
        assert list(stored) == []


def test_updates_count_rows_and_use_the_statements_own_literals(scratch: Database) -> None:
    bump = DirectStatement(update(_scratch).where(_scratch.c.counter == bindparam("old"), _scratch.c.flag.is_(True))
                           .values(label="done", counter=bindparam("new")))
    with scratch.transaction() as session:
        session.connection().execute(insert(_scratch), ROWS)
        assert bump.run(session, {"old": 1, "new": 7}).rowcount == 1
        assert bump.run(session, {"old": 2, "new": 8}).rowcount == 0  # flag is False: not matched
        assert bump.run(session, [{"old": 7, "new": 9}, {"old": 3, "new": 10}]).rowcount == 1
        labels = dict(session.connection().execute(select(_scratch.c.counter, _scratch.c.label)).all())
    assert labels == {9: "done", 2: "乙", 3: None}


def test_returning_gives_one_row_per_parameter_set(scratch: Database) -> None:
    add = DirectStatement(insert(_scratch).returning(_scratch.c.label, _scratch.c.id))
    with scratch.transaction() as session:
        rows = add.run(session, [{**row, "label": f"r{i}"} for i, row in enumerate(ROWS)]).rows
        stored = dict(session.connection().execute(select(_scratch.c.label, _scratch.c.id)).all())
    assert dict(rows) == stored and len(rows) == 3


def test_what_it_cannot_do_is_refused_not_guessed(scratch: Database) -> None:
    with scratch.transaction() as session:
        with pytest.raises(ValueError, match="expanding IN"):
            DirectStatement(update(_scratch).where(_scratch.c.id.in_(bindparam("ids", expanding=True)))
                            .values(label="x")).run(session, {"ids": [1, 2]})
        with pytest.raises(ValueError, match="counter"):  # a Python-side default SQLAlchemy would compute
            DirectStatement(insert(_scratch)).run(session, {"label": "x"})
