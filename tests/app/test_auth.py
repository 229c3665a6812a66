"""Signing in and out, where each user lands, and the language switch (session and per user)."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import database
from engine import users
from tests.app.conftest import sign_in


def test_pages_need_a_signed_in_user(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/").location == "/login"
    for path in ("/inbox", "/portal/", "/tasks/1", "/admin/users", "/portal/requests/1"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/login?next="), path
    login = client.get("/login")
    assert login.status_code == 200 and "登录" in login.text and 'lang="zh-CN"' in login.text


@pytest.mark.parametrize("username, home", [
    ("requester", "/portal/"), ("service_desk", "/inbox"), ("engineer", "/inbox"), ("auditor", "/inbox"),
])
def test_each_user_lands_on_their_own_start_page(app: Flask, username: str, home: str) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": "opsflow-demo"})
    assert response.location == home
    assert client.get("/").location == home


def test_wrong_password_or_unknown_user_is_one_clear_message(app: Flask) -> None:
    client = app.test_client()
    for username, password in (("engineer", "wrong"), ("nobody", "opsflow-demo")):
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 401 and "用户名或密码错误。" in response.text
        assert f'value="{username}"' in response.text  # what was typed stays
    assert client.get("/inbox").status_code == 302


def test_next_goes_back_but_never_to_another_site(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/login?next=/admin/users", data={"username": "auditor", "password": "opsflow-demo"})
    assert response.location == "/admin/users"
    client = app.test_client()
    response = client.post("/login", data={"username": "auditor", "password": "opsflow-demo",
                                           "next": "https://evil.example/"})
    assert response.location == "/inbox"


def test_sign_out_ends_the_session(client_for: Callable[[str], FlaskClient]) -> None:
    client = client_for("engineer")
    assert client.get("/inbox").status_code == 200
    assert client.post("/logout").location == "/login"
    assert client.get("/inbox").status_code == 302


def test_anonymous_language_switch_lasts_for_the_session(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/locale", data={"locale": "en", "next": "/login"})
    assert response.location == "/login"
    page = client.get("/login")
    assert 'lang="en"' in page.text and "Sign in" in page.text and "登录" not in page.text
    assert "中文" in page.text  # the way back
    client.post("/locale", data={"locale": "zh_CN", "next": "/login"})
    assert "登录" in client.get("/login").text


def test_a_users_language_is_stored_and_follows_them(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    client = client_for("engineer")
    assert "待办任务" in client.get("/inbox").text
    assert client.post("/locale", data={"locale": "en", "next": "/inbox"}).location == "/inbox"
    assert "Inbox" in client.get("/inbox").text
    with database(app).transaction() as session:
        assert users.get_user(session, "engineer").locale == "en"
    other_browser = sign_in(app.test_client(), "engineer")
    page = other_browser.get("/inbox").text
    assert "Inbox" in page and "待办任务" not in page


def test_an_unknown_language_is_refused(client_for: Callable[[str], FlaskClient]) -> None:
    response = client_for("engineer").post("/locale", data={"locale": "fr"})
    assert response.status_code == 422
