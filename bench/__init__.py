"""Benchmarks. They run the engine as the app does: with the service desk's rules on the core's hooks."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine import desk

desk.install()


@contextmanager
def postgres_database(url: str | None, skip: bool, name: str) -> Iterator[str | None]:
    """The PostgreSQL database a benchmark fills: `url` as given, else `name` on a private server started as
    the tests do (tests/support/pg.py); None when PostgreSQL is skipped."""
    if skip:
        yield None
    elif url:
        yield url
    else:
        from tests.support.pg import start_postgres

        with start_postgres() as server:
            yield server.create_database(name)
