"""The users-and-groups list: process owners, managers and auditors only."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.app.conftest import visible_text


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
