"""A user administrator creates a user in the browser (a weak password first: told why, input kept); the
new user then signs in and sees their inbox. Screenshots go to tests/e2e/artifacts/."""
from __future__ import annotations

from typing import Any

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_service_desk_journey import Person

PASSWORD = "Wang-2026-ops"


def test_an_administrator_creates_a_user_who_then_signs_in(browser: Any, server: str) -> None:
    admin = Person(browser, server, "user_admin")
    newcomer = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        page = admin.page
        page.goto(f"{server}/admin/users")
        page.click("a:has-text('新建用户')")
        page.fill("#f-username", "wang.fang")
        page.fill("#f-display_name", "王芳")
        page.fill("#f-email", "wang.fang@example.com")
        page.check("input[name=groups][value=service_desk]")
        page.fill("#f-password", "short1")
        page.click("form.form button[type=submit]")
        assert "密码太短" in page.locator("#e-password").inner_text()
        assert page.input_value("#f-display_name") == "王芳"  # what was typed stays
        assert page.is_checked("input[name=groups][value=service_desk]")
        page.fill("#f-password", PASSWORD)
        page.click("form.form button[type=submit]")
        page.wait_for_load_state()
        assert page.url.endswith("/admin/users/wang.fang/edit")
        assert "已创建用户 wang.fang" in page.locator(".flash-success").inner_text()
        assert "创建用户" in page.locator("table.admin-log").inner_text()
        admin.shot("user-admin-1-created")

        signed_in = newcomer.new_page()
        signed_in.goto(f"{server}/login")
        signed_in.fill("#username", "wang.fang")
        signed_in.fill("#password", PASSWORD)
        signed_in.click("form[action='/login'] button[type=submit]")
        signed_in.wait_for_load_state()
        assert "/login" not in signed_in.url
        assert "王芳" in signed_in.locator("header .user").inner_text()
        signed_in.goto(f"{server}/inbox")
        assert signed_in.locator("h1").count() == 1
        signed_in.screenshot(path=str(ARTIFACTS / "user-admin-2-signed-in.png"), full_page=True)
    finally:
        newcomer.close()
        admin.close()
