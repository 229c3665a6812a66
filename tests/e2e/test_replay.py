"""An auditor replays a finished service-desk request on its diagram in a real browser: the path taken
(satisfaction entered twice, after a remaining problem went through root-cause analysis), then the step
control — first, forward, back, last and the slider — each changing the event shown and the elements
highlighted. Screenshots go to tests/e2e/artifacts/replay-*.png."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from app import database
from engine.process import persistence
from tests.bpmn import helpers as h
from tests.e2e.conftest import ARTIFACTS, make_app, web_template  # noqa: F401  (the shared fixture)
from tests.e2e.test_service_desk_journey import Person
from tests.support.flows import Flow

# The request, one remote fix, a satisfaction call that reports a remaining problem, the follow-up, and
# a second satisfaction call that closes it.
STEPS = [
    ("accept", h.accept(), "service_desk"),
    ("classify", h.classify(), "service_desk"),
    ("remote_fix", h.resolution(resolved=True), "engineer"),
    ("satisfaction", h.satisfaction(remaining_problem=True), "requester"),
    ("root_cause", h.root_cause(), "service_manager"),
    ("expert_support_followup", h.resolution(resolved=True), "engineer"),
    ("satisfaction", h.satisfaction(remaining_problem=False), "requester"),
]


@pytest.fixture
def finished(tmp_path: Path, web_template: Path) -> Iterator[tuple[str, int]]:  # noqa: F811
    """The app serving on 127.0.0.1 with one finished service-desk request; yields (base URL, its number)."""
    persistence.workflow_cache.clear()
    app = make_app(tmp_path, web_template)
    flow = Flow(database(app), "service_desk")
    for element_id, data, user in STEPS[:-1]:
        flow.complete(element_id, data, user)
    flow.allow_closing()  # before the satisfaction call that closes it
    flow.complete(*STEPS[-1])
    assert flow.status() == "completed"
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="opsflow-e2e-replay", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}", flow.id
    http.shutdown()
    thread.join(timeout=10)
    database(app).dispose()
    persistence.workflow_cache.clear()


def state(page: Any) -> dict[str, str]:
    """What the replay shows now: the step, the event panel, the open and visited elements."""
    root = page.locator("#replay")
    return {"step": root.get_attribute("data-step") or "", "seq": root.get_attribute("data-seq") or "",
            "active": root.get_attribute("data-active") or "", "visited": root.get_attribute("data-visited") or "",
            "kind": page.inner_text("#replay-event [data-field=kind]"),
            "name": page.inner_text("#replay-event [data-field=name]"),
            "position": page.inner_text("#replay-position")}


def marked(page: Any, marker: str) -> set[str]:
    """Element ids carrying a bpmn-js marker (canvas.addMarker puts the class on the element's group)."""
    return set(page.eval_on_selector_all(f"g.djs-element.{marker}", "els => els.map(e => e.dataset.elementId)"))


def go(page: Any, button: str) -> None:
    page.click(f"#replay [data-go={button}]")


def test_an_auditor_steps_through_the_replay(browser: Any, finished: tuple[str, int]) -> None:
    base, instance_id = finished
    auditor = Person(browser, base, "auditor")
    page = auditor.page
    try:
        page.goto(f"{base}/audit/instances/{instance_id}")
        assert page.get_attribute("#verdict", "data-ok") == "true"
        assert page.locator("main form[method=post]").count() == 0
        auditor.shot("replay-01-history")
        page.click("a.replay-link")
        page.wait_for_selector("#replay-diagram[data-rendered]")
        steps = page.get_attribute("#replay-diagram", "data-rendered")
        assert steps not in (None, "error"), "the diagram did not render"
        total = int(steps)

        # It opens on the last step: the whole path, satisfaction entered twice, nothing open any more.
        last = state(page)
        assert last["step"] == str(total - 1) and last["position"] == f"{total} / {total}"
        assert last["kind"] == "流程结束" and last["active"] == ""
        assert {"accept", "classify", "remote_fix", "satisfaction", "root_cause",
                "expert_support_followup"} <= set(last["visited"].split())
        assert page.inner_text(".visit-count[data-element=satisfaction]") == "×2"
        assert page.locator(".visit-count[data-element=accept]").count() == 0  # entered once: no counter
        assert {"satisfaction", "root_cause"} <= marked(page, "replay-visited")
        assert "flow_gw_remaining_problem_root_cause" in marked(page, "replay-flow")
        assert "flow_gw_remote_resolved_dispatch_onsite" not in marked(page, "replay-flow")  # not taken
        assert page.is_disabled("#replay [data-go=forward]") and page.is_disabled("#replay [data-go=last]")
        auditor.shot("replay-02-last-step")

        # First: the request was just raised; 受理 is open and highlighted, its SLA timers wait.
        go(page, "first")
        first = state(page)
        assert first["step"] == "0" and first["kind"] == "提出请求" and first["position"] == f"1 / {total}"
        assert "accept" in first["active"].split() and marked(page, "replay-active") == {"accept"}
        assert "accept_sla_warn" in marked(page, "replay-waiting")
        assert page.locator("#replay-diagram .visit-count").count() == 0
        assert "紧急程度" in page.inner_text("#replay-data")
        assert page.is_disabled("#replay [data-go=back]")
        auditor.shot("replay-03-first-step")

        # Forward three times: 受理 completed, 事件分类 opened and completed; the event and highlight follow.
        seen = []
        for _ in range(3):
            go(page, "forward")
            seen.append(state(page))
        assert [s["step"] for s in seen] == ["1", "2", "3"]
        assert [s["kind"] for s in seen] == ["任务待办", "任务完成", "任务待办"]
        assert [s["name"] for s in seen] == ["受理并记录服务请求", "受理并记录服务请求", "事件分类"]
        assert marked(page, "replay-active") == {"classify"} and "replay-event" in page.get_attribute(
            'g.djs-element[data-element-id="classify"]', "class")
        assert "accept" in marked(page, "replay-visited") and "需求已确认" in page.inner_text("#replay-data")
        auditor.shot("replay-04-forward")

        # Back once: the completion of 受理 again.
        go(page, "back")
        back = state(page)
        assert back["step"] == "2" and back["kind"] == "任务完成" and back["name"] == "受理并记录服务请求"
        assert marked(page, "replay-active") == {"classify"}

        # Last again, then the slider to the first decision of the remote-fix gateway.
        go(page, "last")
        assert state(page)["step"] == str(total - 1)
        page.eval_on_selector("#replay-slider", """(slider, index) => {
            slider.value = String(index); slider.dispatchEvent(new Event("input", {bubbles: true})); }""", 6)
        slid = state(page)
        assert slid["step"] == "6" and slid["position"] == f"7 / {total}"
        assert slid != back and slid["active"] != last["active"]
        page.focus("#replay-slider")
        page.keyboard.press("ArrowRight")  # the slider's own keys move it too
        assert state(page)["step"] == "7"
        auditor.shot("replay-05-slider")
    finally:
        auditor.close()
