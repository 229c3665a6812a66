"""CSRF protection on every form: a post without the page's token is refused, clearly, with the input kept."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import database
from engine import persistence
from tests.app.conftest import make_app
from tests.support.flows import REQUEST


@pytest.fixture
def csrf_app(tmp_path: Path, web_template: Path) -> Iterator[Flask]:
    persistence.workflow_cache.clear()
    flask_app = make_app(tmp_path, web_template, WTF_CSRF_ENABLED=True)
    yield flask_app
    database(flask_app).dispose()
    persistence.workflow_cache.clear()


def token(client: FlaskClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found[1]


def test_sign_in_without_the_token_is_refused(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    refused = client.post("/login", data={"username": "requester", "password": "opsflow-demo"})
    assert refused.status_code == 400 and "表单已过期或不是从本站提交的" in refused.text
    ok = client.post("/login", data={"username": "requester", "password": "opsflow-demo",
                                     "csrf_token": token(client, "/login")})
    assert ok.status_code == 302 and ok.location == "/portal/"


def test_every_form_carries_the_token_and_a_forged_post_keeps_what_was_typed(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    client.post("/login", data={"username": "requester", "password": "opsflow-demo",
                                "csrf_token": token(client, "/login")})
    page = client.get("/portal/new").text
    assert page.count('name="csrf_token"') == page.count("<form method=\"post\"")  # every post form
    forged = client.post("/portal/new", data={"_process": "service_desk", "_form": "request", **REQUEST})
    assert forged.status_code == 400
    assert "HIS 无法登录" in forged.text and "门诊 HIS 登录超时" in forged.text and "问题描述" in forged.text
    assert client.post("/portal/new", data={"_process": "service_desk", **REQUEST,
                                            "csrf_token": token(client, "/portal/new")}).status_code == 302
    assert client.post("/logout").status_code == 400  # even signing out needs the token
    assert client.post("/locale", data={"locale": "en"}).status_code == 400
