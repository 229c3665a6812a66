"""The users-and-groups list (process owners, managers, auditors, user administrators) and the users
administration pages of the user administrators, with the log auditors read too."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import database
from engine import users
from engine.store.models import UserAdminLog
from tests.app.conftest import PASSWORD, csrf_token_on, sign_in, visible_text


@pytest.mark.parametrize("username", ["process_owner", "service_manager", "auditor"])
def test_the_directory_lists_every_group_and_its_demo_user(username: str,
                                                           client_for: Callable[[str], FlaskClient]) -> None:
    page = client_for(username).get("/admin/users")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "用户和组" in text and "服务台" in text and "审计员" in text and "service_desk" in text
    users_part = client_for(username).get("/admin/users?group=engineer").text.split("<h2>用户")[1]
    assert "<code>engineer2</code>" in users_part and "<code>requester</code>" not in users_part


@pytest.mark.parametrize("username", ["requester", "engineer", "service_desk"])
def test_others_may_not_list_users(username: str, client_for: Callable[[str], FlaskClient]) -> None:
    response = client_for(username).get("/admin/users")
    assert response.status_code == 403 and "您没有权限执行此操作" in response.text
    assert "用户和组" not in response.text.split("</header>")[0]  # no menu link either


# --- users administration (engine.desk.user_admin behind pages for the user_admin group) ---------------

GOOD = "Secret-2026!"
NEW = {"username": "li.wei", "display_name": "李伟", "email": "li.wei@example.com", "groups": ["engineer", "vendor"],
       "password": GOOD}


def _log_rows(app: Flask) -> list[tuple[str, str, str, dict[str, Any]]]:
    with database(app).transaction() as session:
        return [(e.actor, e.action, e.username, e.detail)
                for e in session.scalars(select(UserAdminLog).order_by(UserAdminLog.id))]


def test_an_administrator_creates_a_user_who_then_signs_in(app: Flask,
                                                           client_for: Callable[[str], FlaskClient]) -> None:
    admin = client_for("user_admin")
    listing = admin.get("/admin/users").text
    assert 'href="/admin/users/new"' in listing and 'href="/admin/users/engineer/edit"' in listing
    form = admin.get("/admin/users/new")
    assert form.status_code == 200 and "新建用户" in form.text and "第三方工程师" in form.text
    created = admin.post("/admin/users/new", data=NEW)
    assert created.status_code == 302 and created.location == "/admin/users/li.wei/edit"
    page = admin.get(created.location).text
    assert "已创建用户 li.wei" in visible_text(page) and 'value="李伟"' in page
    newcomer = sign_in(app.test_client(), "li.wei", GOOD)
    inbox = newcomer.get("/inbox")
    assert inbox.status_code == 200 and "李伟" in inbox.text
    assert _log_rows(app) == [("user_admin", "user_created", "li.wei", {
        "after": {"display_name": "李伟", "email": "li.wei@example.com", "groups": ["engineer", "vendor"]}})]
    log = admin.get("/admin/log").text
    assert "创建用户" in log and "li.wei" in log and GOOD not in log


@pytest.mark.parametrize("changes, field, wording", [
    ({"username": "engineer"}, "username", "用户名 engineer 已被占用"),
    ({"groups": ["engineer", "wizards"]}, "groups", "没有组 wizards"),
    ({"groups": []}, "groups", "请至少选择一个组"),
    ({"password": ""}, "password", "请输入密码"),
    ({"password": "abc-1"}, "password", "密码太短"),
    ({"email": "nowhere"}, "email", "nowhere 不是电子邮件地址"),
])
def test_creating_shows_clear_errors_and_keeps_the_input(app: Flask, client_for: Callable[[str], FlaskClient],
                                                         changes: dict[str, Any], field: str, wording: str) -> None:
    page = client_for("user_admin").post("/admin/users/new", data={**NEW, **changes})
    assert page.status_code == 422
    error = page.text.split(f'id="e-{field}"')[1].split("</p>")[0]
    assert wording in visible_text(error)
    assert 'value="李伟"' in page.text and GOOD not in page.text  # typed input kept, the password never echoed
    assert _log_rows(app) == []


@pytest.mark.parametrize("username", ["process_owner", "service_manager", "engineer"])
def test_others_are_refused_and_offered_nothing(app: Flask, client_for: Callable[[str], FlaskClient],
                                                username: str) -> None:
    client = client_for(username)
    listing = client.get("/admin/users")
    assert "/admin/users/new" not in listing.text and "/edit" not in listing.text
    assert "/admin/log" not in listing.text
    for path in ("/admin/users/new", "/admin/users/engineer/edit", "/admin/log"):
        assert client.get(path).status_code == 403, path
    for path, data in (("/admin/users/new", NEW), ("/admin/users/engineer/edit", {"groups": ["engineer"]}),
                       ("/admin/users/engineer/password", {"password": GOOD}),
                       ("/admin/users/engineer/deactivate", {}), ("/admin/users/engineer/reactivate", {})):
        assert client.post(path, data=data).status_code == 403, path
    with database(app).transaction() as session:
        assert users.authenticate(session, username="engineer", password=PASSWORD) is not None
    assert _log_rows(app) == []


def test_auditors_read_the_log_but_change_nothing(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    client_for("user_admin").post("/admin/users/engineer/password", data={"password": GOOD})
    auditor = client_for("auditor")
    listing = auditor.get("/admin/users").text
    assert 'href="/admin/log"' in listing and "/admin/users/new" not in listing
    assert "重置密码" in auditor.get("/admin/log").text
    assert auditor.post("/admin/users/engineer/deactivate").status_code == 403
    assert auditor.get("/admin/users/engineer/edit").status_code == 403


def test_changing_groups_is_logged_before_and_after(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    admin = client_for("user_admin")
    saved = admin.post("/admin/users/engineer/edit", data={"display_name": "工程师", "email": "",
                                                           "groups": ["engineer", "tech_lead"]})
    assert saved.status_code == 302 and saved.location == "/admin/users/engineer/edit"
    assert _log_rows(app)[-1] == ("user_admin", "user_changed", "engineer", {
        "before": {"display_name": "技术支持 (demo)", "groups": ["engineer"]},
        "after": {"display_name": "工程师", "groups": ["engineer", "tech_lead"]}})
    page = admin.get("/admin/users/engineer/edit").text
    assert "技术负责人" in visible_text(page.split("管理日志")[-1])  # the change shows in the user's log


def test_a_password_reset_works_and_is_never_logged(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    admin = client_for("user_admin")
    weak = admin.post("/admin/users/engineer/password", data={"password": "engineer-1234"})
    assert weak.status_code == 422 and "密码不能包含用户名" in weak.text
    assert admin.post("/admin/users/engineer/password", data={"password": GOOD}).status_code == 302
    assert sign_in(app.test_client(), "engineer", GOOD).get("/inbox").status_code == 200
    with database(app).transaction() as session:
        assert users.authenticate(session, username="engineer", password=PASSWORD) is None
    assert _log_rows(app) == [("user_admin", "password_reset", "engineer", {})]
    assert GOOD not in admin.get("/admin/log").text


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(app: Flask,
                                                             client_for: Callable[[str], FlaskClient]) -> None:
    engineer = client_for("engineer")
    assert engineer.get("/inbox").status_code == 200
    admin = client_for("user_admin")
    done = admin.post("/admin/users/engineer/deactivate")
    assert done.status_code == 302
    assert "engineer 已停用" in visible_text(admin.get(done.location).text)
    assert engineer.get("/inbox").status_code == 302  # the open session ends at its next request
    groups = admin.get("/admin/users").text.split("<h2>用户")[0]
    assert 'engineer</span> <span class="muted">(已停用)' in groups and 'engineer2</span></td>' in groups
    refused = app.test_client().post("/login", data={"username": "engineer", "password": PASSWORD})
    assert refused.status_code == 401
    assert admin.post("/admin/users/engineer/reactivate").status_code == 302
    assert sign_in(app.test_client(), "engineer").get("/inbox").status_code == 200


def test_administrators_cannot_deactivate_themselves_nor_change_their_own_groups(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    admin = client_for("user_admin")
    assert "/admin/users/user_admin/deactivate" in admin.get("/admin/users/user_admin/edit").text
    refused = admin.post("/admin/users/user_admin/deactivate", follow_redirects=True)
    assert "user_admin 未停用：不能停用自己" in visible_text(refused.text)
    for groups in (["engineer"], ["user_admin", "process_owner"]):
        kept = admin.post("/admin/users/user_admin/edit", data={"display_name": "x", "groups": groups})
        assert kept.status_code == 422
        assert "user_admin 不能修改自己所在的组" in visible_text(kept.text.split('id="e-groups"')[1].split("</p>")[0])
    with database(app).transaction() as session:
        assert users.actor(session, "user_admin").groups == {"user_admin"}
    assert _log_rows(app) == []


def test_every_admin_form_carries_the_csrf_token(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    client.post("/login", data={"username": "user_admin", "password": PASSWORD,
                                "csrf_token": csrf_token_on(client, "/login")})
    for path in ("/admin/users/new", "/admin/users/engineer/edit"):
        page = client.get(path).text
        assert page.count('name="csrf_token"') == page.count('<form method="post"'), path
    assert client.post("/admin/users/new", data=NEW).status_code == 400
    assert client.post("/admin/users/engineer/deactivate").status_code == 400
    token = csrf_token_on(client, "/admin/users/new")
    assert client.post("/admin/users/new", data={**NEW, "csrf_token": token}).status_code == 302
