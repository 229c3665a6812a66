"""CSRF protection on every form: a post without the page's token is refused, clearly, with the input kept."""
from __future__ import annotations

from flask import Flask

from tests.app.conftest import csrf_token_on
from tests.support.flows import REQUEST


def test_sign_in_without_the_token_is_refused(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    refused = client.post("/login", data={"username": "requester", "password": "opsflow-demo"})
    assert refused.status_code == 400 and "表单已过期或不是从本站提交的" in refused.text
    ok = client.post("/login", data={"username": "requester", "password": "opsflow-demo",
                                     "csrf_token": csrf_token_on(client, "/login")})
    assert ok.status_code == 302 and ok.location == "/portal/"


def test_every_form_carries_the_token_and_a_forged_post_keeps_what_was_typed(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    client.post("/login", data={"username": "requester", "password": "opsflow-demo",
                                "csrf_token": csrf_token_on(client, "/login")})
    page = client.get("/portal/new").text
    assert page.count('name="csrf_token"') == page.count("<form method=\"post\"")  # every post form
    forged = client.post("/portal/new", data={"_process": "service_desk", "_form": "request", **REQUEST})
    assert forged.status_code == 400
    assert "HIS 无法登录" in forged.text and "门诊 HIS 登录超时" in forged.text and "问题描述" in forged.text
    assert client.post("/portal/new", data={"_process": "service_desk", **REQUEST,
                                            "csrf_token": csrf_token_on(client, "/portal/new")}).status_code == 302
    assert client.post("/logout").status_code == 400  # even signing out needs the token
    assert client.post("/locale", data={"locale": "en"}).status_code == 400
