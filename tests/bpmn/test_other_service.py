"""其他服务 (other_service.bpmn): work outside the agreed scope runs only with the requester's permission."""
from __future__ import annotations

import pytest

from engine.store.db import Database
from tests.bpmn import helpers as h
from tests.bpmn.helpers import Step
from tests.support.flows import Flow

UP_TO_PERMISSION = [
    Step("record_analyse", h.record_analyse(), "service_desk"),
    Step("onsite_check", h.onsite_check(), "engineer"),
    Step("feasible_plan", h.feasible_plan(), "engineer"),
    Step("ask_permission", h.ask_permission(), "project_manager"),
]
PERMITTED = Step("customer_permission", h.customer_permission(permitted=True), "requester")
EXECUTED = Step("execute_plan", h.resolution(resolved=True, method="onsite"), "engineer")
RECORDED = Step("record_in_backoffice", h.record_in_backoffice(), "service_desk")

BRANCHES = {
    "permitted": (
        [PERMITTED, EXECUTED, RECORDED],
        [("gw_permitted", ["execute_plan"]), ("gw_executed_resolved", ["record_in_backoffice"])],
        "end_done",
    ),
    # 执行方案 answered 未解决: a revised plan, permission asked again, then executed; never recorded unresolved.
    "not_resolved_then_revised": (
        [PERMITTED, Step("execute_plan", h.resolution(resolved=False, method="onsite"), "engineer"),
         Step("feasible_plan", h.feasible_plan(), "engineer"),
         Step("ask_permission", h.ask_permission(), "project_manager"),
         PERMITTED, EXECUTED, RECORDED],
        [("gw_permitted", ["execute_plan"]), ("gw_executed_resolved", ["feasible_plan"]),
         ("gw_permitted", ["execute_plan"]), ("gw_executed_resolved", ["record_in_backoffice"])],
        "end_done",
    ),
    "refused": (
        [Step("customer_permission", h.customer_permission(permitted=False), "requester")],
        [("gw_permitted", ["end_refused"])],
        "end_refused",
    ),
}


@pytest.mark.parametrize(("decision", "gateways", "end_event"), BRANCHES.values(), ids=BRANCHES.keys())
def test_branch(bundled: Database, decision: list[Step], gateways: list[tuple[str, list[str]]],
                end_event: str) -> None:
    steps = [*UP_TO_PERMISSION, *decision]
    flow = Flow(bundled, "other_service", h.request(), user="requester")
    h.drive(flow, steps)
    assert flow.completed_path() == [s.element_id for s in steps]
    assert flow.gateways() == gateways
    assert flow.status() == "completed"
    h.assert_history(flow, steps, end_event=end_event)
    if end_event == "end_done":
        h.assert_resolved(flow)
