"""No page scrolls sideways: the SLA policy table on a 1366×768 laptop (where it also stays inside the page's
column), and the inbox, the portal and the audit pages on a 390×844 phone. Long text wraps, and a table that
still does not fit a phone scrolls inside its own box; the page itself never does."""
from __future__ import annotations

from typing import Any

import pytest

from engine.store.db import Database
from tests.bpmn import helpers as h
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_modeler_journey import Person
from tests.support.flows import REQUEST, Flow

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
# the page is wider than the window when the document scrolls sideways
OVERFLOW = "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
# the right edges of the widest table and of the page's main column
TABLE_IN_MAIN = """() => [Math.max(...Array.from(document.querySelectorAll('main table'),
                                                (table) => Math.ceil(table.getBoundingClientRect().right))),
                          Math.floor(document.querySelector('main').getBoundingClientRect().right)]"""
# a long title without spaces, as people paste them (serial numbers, paths)
LONG_TITLE = "门诊HIS登录超时-服务器SRV-HIS-PROD-0001/var/log/his/app-2026-12-01.log报错ConnectionResetError"


@pytest.fixture
def requests(server_database: Database) -> list[Flow]:
    """Two requests of the requester: one waiting for the service desk, one worked to its remote fix."""
    waiting = Flow(server_database, "service_desk", dict(REQUEST, title=LONG_TITLE))
    worked = Flow(server_database, "service_desk", dict(REQUEST, title="打印机卡纸，第三层东侧"))
    worked.complete("accept", h.accept(), "service_desk")
    worked.complete("classify", h.classify(), "service_desk")
    return [waiting, worked]


def _widths(browser: Any, server: str, username: str, viewport: dict[str, int], paths: list[str],
            shot: str) -> dict[str, list[int]]:
    person = Person(browser, server, username)
    found = {}
    try:
        person.page.set_viewport_size(viewport)
        for number, path in enumerate(paths):
            response = person.page.goto(f"{server}{path}")
            assert response is not None and response.status == 200, path
            found[path] = person.page.evaluate(OVERFLOW)
            person.page.screenshot(path=str(ARTIFACTS / f"{shot}-{number}.png"), full_page=True)
    finally:
        person.close()
    return found


def _overflowing(found: dict[str, list[int]]) -> dict[str, list[int]]:
    return {path: [scroll, inner] for path, (scroll, inner) in found.items() if scroll > inner}


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_sla_policy_fits_a_laptop_screen(browser: Any, server: str, language: str) -> None:
    owner = Person(browser, server, "process_owner")
    found = {}
    try:
        assert owner.context.request.post(f"{server}/locale", form={"locale": language}).ok
        page = owner.page
        page.set_viewport_size(LAPTOP)
        page.goto(f"{server}/sla/policy")
        found["read"] = page.evaluate(OVERFLOW)
        found["table in main"] = page.evaluate(TABLE_IN_MAIN)
        # a saved change fills "last changed"; refused values put messages under the inputs
        page.fill("#f-I-respond_minutes", "25")
        page.click("tr[data-level='I'] button[type=submit]")
        page.wait_for_selector("tr[data-level='I'] [translate=no]")
        found["changed"] = page.evaluate(OVERFLOW)
        # the browser's own checks off, so the server's refusals are what shows
        page.evaluate("() => document.querySelectorAll('input').forEach((input) => "
                      "['min', 'max', 'required', 'pattern'].forEach((name) => input.removeAttribute(name)))")
        page.fill("#f-II-resolve_minutes", "-5")
        page.fill("#f-II-warn_ratio", "7")
        page.click("tr[data-level='II'] button[type=submit]")
        page.wait_for_selector("tr[data-level='II'] .field-error")
        found["refused"] = page.evaluate(OVERFLOW)
        found["refused table in main"] = page.evaluate(TABLE_IN_MAIN)
        owner.shot(f"l01-sla-policy-{language}")
    finally:
        owner.close()
    manager = _widths(browser, server, "service_manager", LAPTOP, ["/sla/policy"], "l01-sla-policy-read-only")
    assert _overflowing(found | manager) == {}


def test_inbox_portal_and_audit_fit_a_phone(browser: Any, server: str, requests: list[Flow]) -> None:
    waiting, worked = requests
    task = worked.task_id("remote_fix")
    pages = {
        "requester": ["/portal/", f"/portal/requests/{waiting.id}", "/portal/new"],
        "service_desk": ["/inbox", "/inbox?state=all", "/sla/at-risk"],
        "engineer": ["/inbox", f"/tasks/{task}"],
        "auditor": ["/audit/", f"/audit/instances/{worked.id}", "/audit/verify"],
    }
    found = {}
    for username, paths in pages.items():
        found.update({f"{username} {path}": width for path, width in
                      _widths(browser, server, username, PHONE, paths, f"l02-phone-{username}").items()})
    assert _overflowing(found) == {}
