"""应急服务 (emergency.bpmn): resolved at each rung of the escalation chain, then recorded and reported."""
from __future__ import annotations

import pytest

from engine.store.db import Database
from tests.bpmn import helpers as h
from tests.bpmn.helpers import Step
from tests.support.flows import Flow

INTAKE = [
    Step("accept", h.accept(), "service_desk"),
    Step("analyse_fault", h.analyse_fault(), "engineer"),
]
CLOSING = [
    Step("record_in_backoffice", h.record_in_backoffice(), "service_desk"),
    Step("fault_report", h.fault_report(), "engineer"),
]
REMOTE_FAILED = Step("remote_handle", h.resolution(resolved=False), "engineer")
ONSITE_FAILED = Step("onsite_with_parts", h.onsite_resolution(resolved=False), "engineer")
RESIDENT_FAILED = Step("resident_manager_report", h.resident_manager_report(resolved=False), "resident_manager")
PROJECT_FAILED = Step("project_manager_handle", h.resolution(resolved=False, method="onsite"), "project_manager")
GENERAL_MANAGER = Step("general_manager_report", h.general_manager_report(), "general_manager")
UP_TO_GENERAL_MANAGER = [REMOTE_FAILED, ONSITE_FAILED, RESIDENT_FAILED, PROJECT_FAILED, GENERAL_MANAGER]
GATEWAYS_TO_GENERAL_MANAGER = [
    ("gw_remote_resolved", ["onsite_with_parts"]), ("gw_onsite_resolved", ["resident_manager_report"]),
    ("gw_resident_manager_resolved", ["project_manager_handle"]),
    ("gw_project_manager_resolved", ["general_manager_report"])]
DIRECTED_FIXED = Step("resolve_as_directed", h.resolution(resolved=True, method="onsite"), "engineer")
DIRECTED_FAILED = Step("resolve_as_directed", h.resolution(resolved=False, method="onsite"), "engineer")

BRANCHES = {
    "remote_handle": (
        [Step("remote_handle", h.resolution(resolved=True), "engineer")],
        [("gw_remote_resolved", ["record_in_backoffice"])],
    ),
    "onsite_with_parts": (
        [REMOTE_FAILED, Step("onsite_with_parts", h.onsite_resolution(resolved=True), "engineer")],
        [("gw_remote_resolved", ["onsite_with_parts"]), ("gw_onsite_resolved", ["record_in_backoffice"])],
    ),
    "resident_manager_report": (
        [REMOTE_FAILED, ONSITE_FAILED,
         Step("resident_manager_report", h.resident_manager_report(resolved=True), "resident_manager")],
        [("gw_remote_resolved", ["onsite_with_parts"]), ("gw_onsite_resolved", ["resident_manager_report"]),
         ("gw_resident_manager_resolved", ["record_in_backoffice"])],
    ),
    "project_manager_handle": (
        [REMOTE_FAILED, ONSITE_FAILED, RESIDENT_FAILED,
         Step("project_manager_handle", h.resolution(resolved=True, method="onsite"), "project_manager")],
        [("gw_remote_resolved", ["onsite_with_parts"]), ("gw_onsite_resolved", ["resident_manager_report"]),
         ("gw_resident_manager_resolved", ["project_manager_handle"]),
         ("gw_project_manager_resolved", ["record_in_backoffice"])],
    ),
    # After the general manager's instructions the engineers still have to resolve it before it is recorded.
    "general_manager_report": (
        [*UP_TO_GENERAL_MANAGER, DIRECTED_FIXED],
        [*GATEWAYS_TO_GENERAL_MANAGER, ("gw_directed_resolved", ["record_in_backoffice"])],
    ),
    # Still unresolved: back to the general manager for new instructions, never recorded unresolved.
    "general_manager_report_twice": (
        [*UP_TO_GENERAL_MANAGER, DIRECTED_FAILED, GENERAL_MANAGER, DIRECTED_FIXED],
        [*GATEWAYS_TO_GENERAL_MANAGER, ("gw_directed_resolved", ["general_manager_report"]),
         ("gw_directed_resolved", ["record_in_backoffice"])],
    ),
}


@pytest.mark.parametrize(("handling", "gateways"), BRANCHES.values(), ids=BRANCHES.keys())
def test_resolved_at(bundled: Database, handling: list[Step], gateways: list[tuple[str, list[str]]]) -> None:
    steps = [*INTAKE, *handling, *CLOSING]
    flow = Flow(bundled, "emergency", h.request(), user="requester")
    h.drive(flow, steps)
    assert flow.completed_path() == [s.element_id for s in steps]
    assert flow.gateways() == gateways
    assert flow.status() == "completed"
    h.assert_history(flow, steps, end_event="end_done")
    # Whichever rung resolved it, the case was recorded with a resolution time (the fault report's deadline follows it).
    h.assert_resolved(flow)
