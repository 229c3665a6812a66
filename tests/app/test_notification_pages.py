"""Notification pages (the bell, /notifications, /notifications/settings), /api/v1/notifications, and the SMTP
settings checked at start-up."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import config
from app import database
from engine import tokens, users
from engine.desk import notifications
from tests.app.conftest import request_number, start_request, visible_text


def bell(client: FlaskClient) -> str:
    html = client.get("/notifications").get_data(as_text=True)
    found = re.search(r'id="notification-bell".*?</a>', html, re.S)
    assert found, "no bell in the navigation bar"
    return found.group(0)


def test_the_bell_counts_unread_and_the_list_links_and_marks_read(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    desk, requester = client_for("service_desk"), client_for("requester")
    assert 'class="count"' not in bell(desk)
    first = request_number(app, start_request(requester))
    second = request_number(app, start_request(requester))
    assert '<span class="count">2</span>' in bell(desk)
    assert 'class="count"' not in bell(requester)  # the requester raised them: nothing for them
    page = desk.get("/notifications")
    text = visible_text(page.get_data(as_text=True))
    assert f"【新请求】{second}" in text and f"【新请求】{first}" in text  # Chinese by default
    assert text.index(second) < text.index(first)  # newest first
    ids = [int(i) for i in re.findall(r'/notifications/(\d+)/read', page.get_data(as_text=True))]
    assert len(ids) == 2
    answer = desk.post(f"/notifications/{ids[0]}/read", data={"next": "/notifications?unread=1"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/notifications?unread=1")
    assert '<span class="count">1</span>' in bell(desk)
    unread_only = visible_text(desk.get("/notifications?unread=1").get_data(as_text=True))
    assert first in unread_only and second not in unread_only
    assert requester.post(f"/notifications/{ids[1]}/read").status_code == 404  # not theirs
    desk.post("/notifications/read-all")
    assert 'class="count"' not in bell(desk)
    assert 'href="/inbox"' in desk.get("/notifications").get_data(as_text=True)


def test_english_and_a_bad_parameter(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    desk = client_for("service_desk")
    desk.post("/locale", data={"locale": "en"})
    number = request_number(app, start_request(client_for("requester")))
    assert f"New request {number}" in visible_text(desk.get("/notifications").get_data(as_text=True))
    assert desk.get("/notifications?limit=0").status_code == 422


def test_settings_turn_kinds_off_per_channel(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    desk = client_for("service_desk")
    page = desk.get("/notifications/settings").get_data(as_text=True)
    assert "no e-mail address" in page or "没有登记电子邮箱" in page  # demo users have no address
    assert page.count('type="checkbox"') == 2 * len(notifications.KINDS)
    boxes = {f"{kind}.{channel}": "on" for kind in notifications.KINDS for channel in notifications.CHANNELS}
    del boxes["request_opened.in_app"]
    assert desk.post("/notifications/settings", data=boxes).status_code == 302
    with database(app).transaction() as session:
        chosen = notifications.preferences(session, actor=users.actor(session, "service_desk"))
    assert chosen["request_opened"] == {"email": True, "in_app": False} and chosen["sla_warning"]["in_app"]
    start_request(client_for("requester"))
    assert 'class="count"' not in bell(desk)  # turned off: nothing in the app


def make_token(app: Flask, username: str) -> str:
    with database(app).transaction() as session:
        owner = users.actor(session, username)
        return tokens.create_token(session, owner=owner, name="test", scopes=("api",), actor=owner)[1]


def test_the_api_lists_and_marks_read(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = start_request(client_for("requester"))
    client = app.test_client()

    def call(method: str, path: str, username: str = "service_desk") -> Any:
        return client.open(f"/api/v1/notifications{path}", method=method,
                           headers={"Authorization": f"Bearer {make_token(app, username)}"})

    listed = call("GET", "")
    assert listed.status_code == 200
    body = listed.get_json()
    assert (body["total"], body["unread"]) == (1, 1)
    (item,) = body["items"]
    assert (item["kind"], item["instance_id"], item["read_at"], item["link"]) == (
        "request_opened", instance_id, None, "/inbox")
    assert call("POST", f"/{item['id']}/read", "requester").status_code == 404  # not theirs
    marked = call("POST", f"/{item['id']}/read")
    assert marked.status_code == 200 and marked.get_json() == {"marked": 1, "unread": 0}
    assert call("GET", "?unread=true").get_json()["total"] == 0
    assert call("POST", "/read-all").get_json() == {"marked": 0, "unread": 0}
    assert call("GET", "?limit=1000").status_code == 422
    assert client.get("/api/v1/notifications").status_code == 401


@pytest.mark.parametrize(("variable", "value"), [("OPSFLOW_SMTP_PORT", "smtp"), ("OPSFLOW_SMTP_SECURITY", "tls"),
                                                 ("OPSFLOW_SMTP_FROM", "ops <ops@example.com>"),
                                                 ("OPSFLOW_BASE_URL", "ops.example.com")])
def test_bad_mail_settings_stop_the_start(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv("OPSFLOW_SMTP_HOST", "mail.example.com")
    monkeypatch.setenv(variable, value)
    with pytest.raises(config.ConfigError, match=variable):
        config.TestConfig.validate()
