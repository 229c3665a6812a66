"""bench/reports.py --quick as a smoke test: the generated history, the dashboard's queries on both databases,
the service report's PDF and the RESULT line the coordinator reads."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench import reports
from engine.desk import case, report_figures
from engine.store import schema
from engine.store.db import Database
from tests.support import pg


def test_generated_cases_are_as_the_engine_leaves_them() -> None:
    for _instance, row in reports.generate(2000, years=1):
        values = dict(zip(reports.CASE_COLUMNS, row, strict=True))
        derived = case.outcomes(values)
        assert {name: values[name] for name in derived if name != "resolve_seconds"} == \
            {name: value for name, value in derived.items() if name != "resolve_seconds"}
        if values["resolved_at"] is not None:
            assert derived["resolve_seconds"] == values["resolve_seconds"]


def test_quick_run_prints_the_result_line(capsys: pytest.CaptureFixture[str],
                                          postgres_server: pg.PostgresServer) -> None:
    url = postgres_server.create_database("opsflow_bench_reports_smoke")
    try:
        assert reports.main(["--quick", "--url", url, "--repeats", "1"]) == 0
    finally:
        postgres_server.drop_database("opsflow_bench_reports_smoke")
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"RESULT cases=20000 month_ms=\d+ year_ms=\d+ pdf_ms=\d+", lines[-1]), lines[-1]
    assert lines[0].startswith("sqlite: cases=5000 month_cases=") and lines[1].startswith("postgresql: cases=20000")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext is not installed")
def test_the_timed_pdf_is_the_service_reports_with_the_generated_figures(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reports.db'}"
    schema.upgrade(url)
    database = Database(url)
    try:
        reports.fill(database, 3000, years=1)
        with database.transaction() as session:
            figures = report_figures.figures(session, reports.kpi.Period.parse(reports.MONTH).start,
                                             reports.kpi.Period.parse(reports.MONTH).end, {})
            pdf = reports.report_pdf_of(session, reports.kpi.Period.parse(reports.MONTH))
    finally:
        database.dispose()
    shown = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert figures["opened"] > 0 and f"定期运维报告 {reports.MONTH}" in shown and "本月运行平稳" in shown
