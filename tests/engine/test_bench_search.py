"""bench/search.py on a few hundred requests as a smoke test: every kind of search runs on SQLite and on
PostgreSQL (and the LIKE baseline with pg_trgm there), every whole number typed is found by the service desk,
and the last line is the RESULT line."""
from __future__ import annotations

import re

import pytest

from bench import search as bench_search
from tests.support import pg


def test_small_search_bench(postgres_server: pg.PostgresServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres_server.create_database("opsflow_bench_search_small")
    try:
        assert bench_search.main(["--requests", "300", "--url", url]) == 0
    finally:
        postgres_server.drop_database("opsflow_bench_search_small")
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"RESULT requests=300 p50_ms=[\d.]+ p95_ms=[\d.]+", lines[-1]), lines[-1]
    desk = [line for line in lines if " service_desk: search " in line]
    assert len(desk) == 2 and all("numbers found 80/80" in line for line in desk), lines
    assert all("LIKE baseline" in line for line in desk)
    assert any("postgresql service_desk: LIKE with a pg_trgm GIN index" in line for line in lines), lines
