"""Error pages and JSON errors: a busy database, and detail lines in the user's language (never the
engine's English message, times in the display time zone)."""
from __future__ import annotations

import ast
import datetime as dt
import html as html_module
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter

from app.web.error_details import DETAILS
from app.web.requests import digits_up_to
from engine.errors import Conflict
from tests.app.conftest import csrf_token_on, make_app, open_task, sign_in, start_request, visible_text
from tests.support.locks import write_locked

ROOT = Path(__file__).resolve().parents[2]


def detail_line(html: str) -> str:
    found = re.search(r'<p class="detail">(.*?)</p>', html, re.S)
    assert found, "no detail line on the page"
    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", "", found[1]))).strip()


def test_a_locked_database_answers_503_with_a_message_not_a_crash(tmp_path: Path, web_template: Path) -> None:
    app = make_app(tmp_path, web_template, DATABASE_BUSY_TIMEOUT_MS=200, PROPAGATE_EXCEPTIONS=False)
    client = sign_in(app.test_client(), "engineer")
    with write_locked(tmp_path / "web.db"):
        page = client.get("/inbox")
        api = client.get("/inbox", headers={"Accept": "application/json"})
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "数据库正忙" in visible_text(page.text)
    assert detail_line(page.text) == "详细信息： 数据库正忙（被另一个进程锁定），请稍后重试。"
    assert api.status_code == 503 and api.json["code"] == "database_busy"
    assert api.json["message"] == "the database is busy (locked by another process); try again"
    assert client.get("/inbox").status_code == 200  # free again: works


def test_404_and_403_details_are_chinese_then_english_when_chosen(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    accept = open_task(app, start_request(client_for("requester")), "accept")
    engineer = client_for("engineer")
    missing, hidden = engineer.get("/tasks/9999"), engineer.get(f"/tasks/{accept}")
    assert missing.status_code == 404 and detail_line(missing.text) == "详细信息： 任务 9999 不存在。"
    assert hidden.status_code == 403
    assert detail_line(hidden.text) == (
        f"详细信息： 任务 {accept}（受理并记录服务请求）属于服务台组；engineer 无权查看。")
    assert "does not exist" not in missing.text and "may not see it" not in hidden.text
    engineer.post("/locale", data={"locale": "en"})
    assert detail_line(engineer.get("/tasks/9999").text) == "Details: Task 9999 does not exist."
    assert detail_line(engineer.get(f"/tasks/{accept}").text) == (
        f"Details: Task {accept} (受理并记录服务请求) is for the group Service desk; engineer may not see it.")


def test_http_errors_are_worded_too(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    page = client_for("engineer").get("/no/such/page")
    assert page.status_code == 404 and detail_line(page.text) == "详细信息： /no/such/page 没有页面。"
    assert "requested URL" not in page.text


def test_a_409_page_names_the_time_in_the_display_time_zone(app: Flask,
                                                           client_for: Callable[[str], FlaskClient]) -> None:
    completed_at = dt.datetime(2026, 3, 2, 4, 5, tzinfo=dt.UTC)  # 12:05 in Asia/Shanghai

    def finished() -> None:
        raise Conflict("task 7 (受理并记录) was already completed by service_desk at 2026-03-02 04:05:00 UTC",
                       reason="task_completed", params={"task_id": 7, "task": "受理并记录",
                                                        "completed_by": "service_desk", "completed_at": completed_at})

    app.add_url_rule("/raises-conflict", view_func=finished)
    client = client_for("engineer")
    page = client.get("/raises-conflict")
    assert page.status_code == 409
    assert detail_line(page.text) == "详细信息： 任务 7（受理并记录）已由 service_desk 于 2026-03-02 12:05 完成。"
    assert "UTC" not in page.text and "already completed" not in page.text
    api = client.get("/raises-conflict", headers={"Accept": "application/json"})
    assert api.json["reason"] == "task_completed" and api.json["params"]["completed_at"] == completed_at.isoformat()


@pytest.mark.parametrize("locale, expected", [
    ("zh_CN", "表单提交时缺少安全令牌。"),
    ("en", "The form was sent without its security token."),
])
def test_csrf_failures_say_why_in_the_users_language(csrf_app: Flask, locale: str, expected: str) -> None:
    client = csrf_app.test_client()
    client.post("/locale", data={"locale": locale, "csrf_token": csrf_token_on(client, "/login")})
    refused = client.post("/login", data={"username": "requester", "password": "opsflow-demo"})
    assert refused.status_code == 400 and detail_line(refused.text).endswith(expected)
    assert "CSRF token" not in refused.text


def _reasons_raised() -> list[tuple[str, str, set[str] | None]]:
    """(file, reason, parameter names or None when not literal) of every `reason=` in engine/ and app/."""
    found = []
    for path in [*(ROOT / "engine").rglob("*.py"), *(ROOT / "app").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if "reason" not in keywords:
                continue
            params = keywords.get("params")
            names = ({k.value for k in params.keys if isinstance(k, ast.Constant)}
                     if isinstance(params, ast.Dict) else set() if params is None else None)
            values = [keywords["reason"]] if not isinstance(keywords["reason"], ast.IfExp) else [
                keywords["reason"].body, keywords["reason"].orelse]
            found += [(str(path.relative_to(ROOT)), v.value, names) for v in values if isinstance(v, ast.Constant)]
    return found


def test_every_reason_raised_has_wording_that_its_parameters_fill() -> None:
    raised = _reasons_raised()
    assert len(raised) > 20
    for where, reason, names in raised:
        assert reason in DETAILS, f"{where}: reason {reason!r} has no wording in app/web/error_details.py"
        if names is not None:
            wanted = set(re.findall(r"%\((\w+)\)s", DETAILS[reason]._args[0]))
            assert wanted <= names, f"{where}: {reason!r} needs {sorted(wanted - names)}"


def test_an_id_beyond_the_id_column_is_a_missing_page_on_every_route(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    """PostgreSQL's id columns are 32-bit and SQLite's 64-bit: a larger number in any URL is 404, not a 500 from
    the driver (seen on /tasks/<id> before the converter was bounded)."""
    client = client_for("service_desk")
    huge = str(2**63)
    checked = []
    for rule in app.url_map.iter_rules():
        ids = [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]
        if not ids or "GET" not in (rule.methods or set()):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<[^>]*:?{name}>", huge if name in ids else "x", path)
        answer = client.get(path)
        checked.append(path)
        assert answer.status_code == 404, (path, answer.status_code)
    assert any(path.startswith(f"/tasks/{huge}") for path in checked)
    assert any(path.startswith(f"/api/v1/tasks/{huge}") for path in checked)


@pytest.mark.parametrize("limit", [0, 7, 10, 99, 100, 7301, 2**31 - 1])
def test_the_id_pattern_takes_exactly_the_numbers_up_to_its_bound(limit: int) -> None:
    pattern = re.compile(digits_up_to(limit) + r"\Z")
    numbers = [*range(0, 1200), limit - 1, limit, limit + 1, limit * 10, 2**63]
    assert [n for n in numbers if pattern.match(str(n))] == [n for n in numbers if 0 <= n <= limit]
