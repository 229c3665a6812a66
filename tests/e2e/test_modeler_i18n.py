"""bpmn-js in the modeler speaks the user's language: palette, context pad and replace menu in Chinese for a
Chinese user, bpmn-js's own English for an English one (a `translate` module, app/static/modeler.js)."""
from __future__ import annotations

from typing import Any

from tests.e2e.test_modeler_journey import SELECT, Person, _ready


def _bpmn_js_texts(person: Person) -> dict[str, Any]:
    page = person.page
    _ready(person, "/modeler/service_desk")
    palette = page.get_attribute(".djs-palette .entry[data-action='create.task']", "aria-label")
    page.evaluate(SELECT, "remote_fix")
    page.wait_for_selector(".djs-context-pad .entry[data-action='append.end-event']")
    context_pad = page.get_attribute(".djs-context-pad .entry[data-action='append.end-event']", "title")
    page.click(".djs-context-pad .entry[data-action='replace']")
    page.wait_for_selector(".djs-popup .entry")
    replace_menu = page.locator(".djs-popup .entry").all_inner_texts()
    return {"palette": palette, "context pad": context_pad, "replace menu": replace_menu}


def test_palette_context_pad_and_replace_menu_in_chinese(browser: Any, server: str) -> None:
    owner = Person(browser, server, "process_owner")
    try:
        found = _bpmn_js_texts(owner)
        owner.shot("m11-replace-menu-in-chinese")
    finally:
        owner.close()
    assert found["palette"] == "创建任务"
    assert found["context pad"] == "追加结束事件"
    assert "服务任务" in found["replace menu"] and "脚本任务" in found["replace menu"]
    assert not any("task" in entry.lower() for entry in found["replace menu"]), found["replace menu"]


def test_palette_context_pad_and_replace_menu_in_english(browser: Any, server: str) -> None:
    owner = Person(browser, server, "process_owner")
    try:
        assert owner.context.request.post(f"{server}/locale", form={"locale": "en"}, max_redirects=0).status == 302
        found = _bpmn_js_texts(owner)
    finally:
        owner.close()
    assert found["palette"] == "Create task"
    assert found["context pad"] == "Append end event"
    assert "Service task" in found["replace menu"] and "Script task" in found["replace menu"]
