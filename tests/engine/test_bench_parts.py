"""bench/parts.py --quick as a smoke test: 20 agents on PostgreSQL, nothing oversold, no errors."""
from __future__ import annotations

import re

import pytest

from bench import parts as bench_parts
from tests.support import pg


def test_quick_parts_bench_sells_nothing_twice(postgres_server: pg.PostgresServer,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres_server.create_database("opsflow_bench_parts_quick")
    try:
        assert bench_parts.main(["--quick", "--url", url]) == 0
    finally:
        postgres_server.drop_database("opsflow_bench_parts_quick")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    found = re.fullmatch(r"RESULT issues=(\d+) per_s=(\d+) oversold=(\d+) errors=(\d+)", last)
    assert found, last
    issues, per_s, oversold, errors = map(int, found.groups())
    assert issues == 160 and per_s > 0 and oversold == 0 and errors == 0
