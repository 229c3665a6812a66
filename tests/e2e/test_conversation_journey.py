"""The conversation on a request in a real browser (issue 15): the service desk, on the request's task page,
writes an internal note and a reply to the customer; the requester sees the reply in the portal and not the
note, and answers; the desk sees the answer on the task page; the auditor sees both kinds in the history.
Screenshots go to tests/e2e/artifacts/."""
from __future__ import annotations

import re
from typing import Any

from tests.e2e.test_service_desk_journey import Person

NOTE = "内部：该院区交换机固件版本过旧，先查配置"
REPLY = "您好，我们已收到，工程师今天下午远程处理，请保持电话畅通。"
ANSWER = "好的，下午两点以后我都在办公室。"


def test_agent_notes_and_replies_requester_sees_the_reply_and_answers(browser: Any, server: str) -> None:
    requester = Person(browser, server, "requester")
    desk = Person(browser, server, "service_desk")
    auditor = Person(browser, server, "auditor")
    try:
        # 用户: raises a request; nothing said on it yet
        page = requester.page
        page.goto(f"{server}/portal/new")
        page.select_option("#f-channel", "phone")
        page.fill("#f-requester_name", "王五")
        page.fill("#f-contact_phone", "13700000000")
        page.fill("#f-organisation", "市中心医院信息科")
        page.fill("#f-system", "HIS")
        page.fill("#f-title", "门诊挂号很慢")
        page.fill("#f-description", "上午开始门诊挂号每笔要一分钟")
        page.check("input[name=urgency][value=high]")
        page.click("form.form button[type=submit]")
        page.wait_for_url(re.compile(r"/portal/requests/\d+$"))
        request_url = page.url
        assert "暂无消息" in page.inner_text("#conversation")
        assert page.locator("#conversation input[name=visibility][value=internal]").count() == 0

        # 服务台: on the task page, an internal note, then a reply
        desk.open_task("受理并记录服务请求")
        task_url = desk.page.url
        panel = desk.page.locator("#conversation")
        panel.locator("textarea[name=body]").fill(NOTE)
        panel.locator("input[name=visibility][value=internal]").check()
        panel.locator("button[type=submit]").click()
        desk.page.wait_for_load_state()
        assert "已添加内部备注" in desk.page.inner_text("main")
        panel = desk.page.locator("#conversation")
        panel.locator("textarea[name=body]").fill(REPLY)
        assert panel.locator("input[name=visibility][value=reply]").is_checked()  # a reply unless chosen
        panel.locator("button[type=submit]").click()
        desk.page.wait_for_load_state()
        assert desk.page.url.split("#")[0] == task_url
        shown = desk.page.inner_text("#conversation")
        assert NOTE in shown and REPLY in shown and "内部备注" in shown
        assert desk.page.locator("#conversation li.comment-internal").count() == 1
        desk.shot("v01-desk-note-and-reply")

        # 用户: sees the reply, not the note, and answers
        page.goto(request_url)
        shown = page.inner_text("#conversation")
        assert REPLY in shown and NOTE not in shown and "内部备注" not in shown
        assert NOTE not in page.content()
        page.fill("#conversation textarea[name=body]", ANSWER)
        page.click("#conversation button[type=submit]")
        page.wait_for_load_state()
        assert "回复已发送" in page.inner_text("main")
        assert ANSWER in page.inner_text("#conversation")
        requester.shot("v02-requester-answers")

        # 服务台: the answer is on the task page, after the reply
        desk.page.goto(task_url)
        shown = desk.page.inner_text("#conversation")
        assert ANSWER in shown and shown.index(REPLY) < shown.index(ANSWER)
        desk.shot("v03-desk-sees-the-answer")

        # 审计员: every comment in the history, internal ones marked; read only
        instance_id = request_url.rsplit("/", 1)[1]
        auditor.page.goto(f"{server}/audit/instances/{instance_id}")
        rows = auditor.page.locator("tr.event[data-kind=comment_added]")
        assert rows.count() == 3
        history = auditor.page.inner_text("table.history")
        assert NOTE in history and REPLY in history and ANSWER in history
        auditor.page.goto(task_url)
        assert auditor.page.locator("#conversation").count() == 1
        assert auditor.page.locator("#conversation form").count() == 0
        auditor.shot("v04-auditor-history")
    finally:
        for person in (requester, desk, auditor):
            person.close()
