"""Two service-desk agents work the same task at once: the first one's answer is saved; the second is
told in Chinese that someone else was faster, and what they typed is still on the page to copy.
Screenshots of both pages go to tests/e2e/artifacts/."""
from __future__ import annotations

from typing import Any

import pytest

from engine import bootstrap, users
from engine.process import runtime
from tests.e2e.test_service_desk_journey import Person
from tests.support.flows import REQUEST

SECOND_NOTES = "第二位坐席的记录：用户改约 15:00 回电，电话 13900000000"


@pytest.fixture
def accept_task(server_database: Any, monkeypatch: pytest.MonkeyPatch) -> int:
    """A second service-desk agent and one new request waiting at 受理并记录服务请求; returns the task id."""
    monkeypatch.setattr(users, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:1")
    with server_database.transaction() as session:
        users.create_user(session, username="service_desk2", password=bootstrap.DEMO_PASSWORD,
                          groups=["service_desk"], display_name="服务台二号")
        started = runtime.start_instance(session, process_id="service_desk", data=dict(REQUEST),
                                         actor=users.actor(session, "requester"))
    return next(t["id"] for t in started.new_tasks if t["element_id"] == "accept")


def test_second_submit_is_told_it_was_done_and_keeps_the_input(browser: Any, server: str, accept_task: int) -> None:
    first = Person(browser, server, "service_desk")
    second = Person(browser, server, "service_desk2")
    try:
        for person in (first, second):  # both open the task before either answers
            person.page.goto(f"{server}/tasks/{accept_task}")
            assert person.page.locator("form.form").count() == 1

        first.page.check("input[name=request_confirmed][value=true]")
        first.page.fill("#f-notes", "第一位坐席已电话确认")
        second.page.check("input[name=request_confirmed][value=true]")
        second.page.fill("#f-notes", SECOND_NOTES)

        first.submit()
        assert first.page.url.endswith("/inbox")
        assert first.page.locator(".flash-success", has_text="已保存").count() == 1
        first.shot("conflict-1-first-saved")

        with second.page.expect_response(f"{server}/tasks/{accept_task}") as answer:
            second.submit()
        assert answer.value.status == 409
        alert = second.page.locator("section.conflict[role=alert]")
        assert alert.locator("h2").inner_text() == "此任务已由其他人完成"
        assert "您填写的内容没有保存" in alert.inner_text()
        assert SECOND_NOTES in alert.inner_text()  # what they typed, to copy
        assert second.page.locator("form.form").count() == 0  # nothing left to send twice
        done_by = second.page.locator(".task-state").inner_text()  # and who did it
        assert "service_desk" in done_by and "service_desk2" not in done_by
        second.shot("conflict-2-second-told")
    finally:
        first.close()
        second.close()
