"""Pages offer exactly what engine.access allows: the same policy hides the links and buttons it would refuse."""
from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import database
from engine import access, users
from tests.app.conftest import at_remote_fix

# The navigation's links, by the rule that decides each.
NAV = {"start": "/portal/", "use_inbox": "/inbox", "read_sla": "/sla/at-risk", "read_diagrams": "/modeler/",
       "audit": "/audit/", "list_users": "/admin/users"}


@pytest.mark.parametrize("username", sorted(users.GROUPS))
def test_the_navigation_offers_what_the_policy_allows(app: Flask, client_for: Callable[[str], FlaskClient],
                                                      username: str) -> None:
    client = client_for(username)
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    nav = page.text[page.text.index("<nav>"):page.text.index("</nav>")]
    with database(app).transaction() as session:
        who = users.actor(session, username)
    offered = {rule for rule, path in NAV.items() if f'href="{path}"' in nav}
    assert offered == {rule for rule in NAV if getattr(access, f"may_{rule}")(who)}
    for rule, path in NAV.items():  # each page it leaves out would refuse them (the portal and the inbox
        if rule not in offered | {"start", "use_inbox"}:  # only list what they may work: nothing)
            assert client.get(path).status_code == 403, (username, path)


def test_claim_buttons_follow_the_policy_row_by_row(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    engineer = client_for("engineer")
    (_, mine), (_, open_one) = at_remote_fix(app, client_for), at_remote_fix(app, client_for)
    assert engineer.post(f"/tasks/{mine}/claim").status_code == 302
    for client, expected in ((engineer, {open_one}), (client_for("engineer2"), {open_one}),
                             (client_for("auditor"), set())):
        listed = client.get("/inbox?state=all").text
        buttons = {int(i) for i in re.findall(r'action="/tasks/(\d+)/claim"', listed)}
        assert buttons == expected
