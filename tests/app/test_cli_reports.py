"""`flask opsflow report-schedule` and `report-new`: service reports planned from the shell."""
from __future__ import annotations

from pathlib import Path

from tests.support.cli import cli_app, run, run_json


def test_report_schedules_and_reports_by_hand(tmp_path: Path) -> None:
    app = cli_app(tmp_path)
    assert run(app, "setup").exit_code == 0
    assert run(app, "report-schedule").stdout.strip() == "no report schedules"
    [row] = run_json(app, "report-schedule", "inspection", "--cycle", "quarterly", "--contract", "HT-2026-017",
                     "--customer", "市第一人民医院", "--first", "2026-11-15")
    assert (row["report_class"], row["cycle"], row["contract"], row["next_period_start"]) == (
        "inspection", "quarterly", "HT-2026-017", "2026-09-30T16:00:00+00:00")  # 2026-10-01 00:00 in Shanghai
    assert "HT-2026-017          next 2026-10-01 active" in run(app, "report-schedule").stdout
    refused = run(app, "report-schedule", "regular", "--user", "engineer")
    assert refused.exit_code == 1 and "engineer may not schedule service reports" in refused.stderr
    made = run_json(app, "report-new", "major_event", "--from", "2026-11-10", "--to", "2026-11-13",
                    "--customer", "市教育局")
    assert made["title"] == "市教育局 2026 年 11 月 重大事件保障报告"
    view = run_json(app, "show", str(made["instance_id"]))
    assert [t["element_id"] for t in view["open_tasks"]] == ["commentary"]
