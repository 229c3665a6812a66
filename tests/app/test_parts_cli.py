"""`flask opsflow parts …`: the store kept from the shell, a case's parts booked out, the monthly report."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from tests.support.cli import cli_app, run, run_json
from tests.support.flows import REQUEST


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    flask_app = cli_app(tmp_path)
    assert run(flask_app, "setup").exit_code == 0
    return flask_app


def ok(app: Flask, *args: str) -> str:
    result = run(app, "parts", *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_keep_the_store_and_book_a_case_out_from_the_shell(app: Flask) -> None:
    ok(app, "add-centre", "SZ", "深圳服务中心")
    ok(app, "add-supplier", "华为代理商", "--contact", "陈经理")
    ok(app, "evaluate", "华为代理商", "4", "--comment", "到货及时")
    ok(app, "add", "PSU-650", "交换机电源", "--model", "S5720", "--supplier", "华为代理商", "--price", "350")
    ok(app, "receive", "PSU-650", "SZ", "3")
    ok(app, "minimum", "PSU-650", "SZ", "3")
    ok(app, "write-off", "PSU-650", "SZ", "1", "--note", "运输损坏")
    assert "BELOW MINIMUM" in ok(app, "stock")
    [task] = run_json(app, "parts", "replenishment")
    assert (task["part"], task["to_order"]) == ("PSU-650", 1)

    refused = run(app, "parts", "write-off", "PSU-650", "SZ", "5", "--note", "x")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == ("error: Not enough of part “PSU-650 交换机电源” at 深圳服务中心: 5 needed, "
                                      "only 2 left.")
    refused = run(app, "parts", "receive", "PSU-650", "SZ", "1", "--user", "engineer")
    assert refused.exit_code == 1 and "may not change the spare-parts store" in refused.stderr

    instance_id = run_json(app, "start", "service_desk", "--data", json.dumps(REQUEST), "--user", "requester")["id"]
    ok(app, "request-approval", str(instance_id), "PSU-650", "SZ", "1", "--reason", "电源故障")
    ok(app, "decide", "1", "--note", "同意")
    assert run_json(app, "parts", "approvals")[0]["status"] == "approved"
    ok(app, "return", "PSU-650", "SZ", "1", "--case", str(instance_id))
    ok(app, "check", "SZ", "PSU-650=2", "--note", "盘点")
    kinds = [m["kind"] for m in run_json(app, "parts", "ledger")]
    assert kinds == ["adjust", "return", "write_off", "receive"]
    assert run_json(app, "parts", "suppliers")[0]["mean_score"] == 4.0

    report = run_json(app, "parts", "report", "--start")
    assert report["run"]["instance_id"] and [r["written_off"] for r in report["rows"]] == [1]
    again = run(app, "parts", "report", "--start")
    assert again.exit_code == 2 and "started already" in again.stderr
