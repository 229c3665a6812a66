"""bench/reports.py --quick as a smoke test: the generated history, the dashboard's queries on both databases,
the PDF of a summary and the RESULT line the coordinator reads."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from bench import reports
from engine.desk import case
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
def test_the_pdf_shows_the_figures_in_chinese(tmp_path: object) -> None:
    summary = {"period": {"label": "2026-11"}, "headline": {"opened": 12}, "trend": [],
               "sla": [{"fault_level": "I", "target": "resolve", "met": 3, "missed": 1, "rate": 0.75}],
               "breakdowns": {"zone": [{"value": "东区", "opened": 12, "resolved": 10, "resolve_rate": 0.9}]}}
    shown = subprocess.run(["pdftotext", "-", "-"], input=reports.render_pdf(summary), capture_output=True,
                           check=True).stdout.decode()
    assert "服务报告 2026-11" in shown and "东区" in shown and "SLA 达成情况" in shown
