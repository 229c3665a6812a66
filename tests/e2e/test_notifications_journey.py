"""Notifications in the browser: a new request lights the service desk's bell; the list leads to the inbox and
marks read; the settings page turns a kind off, and the next request no longer rings."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.store.db import Database
from engine.store.models import ProcessInstance
from tests.e2e.test_modeler_journey import Person
from tests.support.flows import REQUEST, Flow


def test_the_bell_the_list_and_the_settings(browser: Any, server: str, server_database: Database) -> None:
    desk = Person(browser, server, "service_desk")
    try:
        desk.page.goto(f"{server}/inbox")
        assert desk.page.locator("#notification-bell .count").count() == 0
        first = Flow(server_database, "service_desk", dict(REQUEST, title="打印机卡纸"))
        with server_database.transaction() as session:
            number = session.scalar(select(ProcessInstance.number).where(ProcessInstance.id == first.id))
        assert number and number.startswith("INC-")
        desk.page.reload()
        assert desk.page.inner_text("#notification-bell .count") == "1"
        desk.page.click("#notification-bell")
        desk.page.wait_for_url(f"{server}/notifications")
        row = desk.page.locator("table.notifications tr.unread")
        assert row.count() == 1 and number in row.inner_text() and "打印机卡纸" in row.inner_text()
        desk.shot("notifications-list")
        desk.page.click("#mark-all-read button")
        desk.page.wait_for_load_state()
        assert desk.page.locator("#notification-bell .count").count() == 0
        assert desk.page.locator("table.notifications tr.read").count() == 1
        desk.page.click(f"table.notifications a:has-text('{number}')")
        desk.page.wait_for_url(f"{server}/inbox")
        desk.page.goto(f"{server}/notifications/settings")
        desk.page.uncheck("input[name='request_opened.in_app']")
        desk.page.click("#notification-settings button[type=submit]")
        desk.page.wait_for_url(f"{server}/notifications/settings")
        assert not desk.page.is_checked("input[name='request_opened.in_app']")
        assert desk.page.is_checked("input[name='sla_warning.in_app']")
        desk.shot("notifications-settings")
        Flow(server_database, "service_desk", dict(REQUEST, title="网络中断"))
        desk.page.goto(f"{server}/inbox")
        assert desk.page.locator("#notification-bell .count").count() == 0
    finally:
        desk.close()
