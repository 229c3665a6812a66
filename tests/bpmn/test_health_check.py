"""健康检查 (health_check.bpmn): five phases; hardware and software issues handled in parallel when both occur."""
from __future__ import annotations

import pytest

from engine.store.db import Database
from tests.bpmn import helpers as h
from tests.bpmn.helpers import Step
from tests.support.flows import Flow

PREPARE = Step("prepare", h.hc_prepare(), "engineer")
CLOSING = [
    Step("training", h.hc_training(), "engineer"),
    Step("summary_report", h.hc_summary(), "engineer"),
    Step("record_in_backoffice", h.record_in_backoffice(), "service_desk"),
]
HARDWARE = Step("handle_hardware", h.resolution(resolved=True, method="onsite"), "engineer")
SOFTWARE = Step("handle_software", h.resolution(resolved=True, method="remote"), "engineer")
JOINED = ("gw_issues_join", ["training"])

# (hardware_issues, software_issues, handling in the order completed, gateway decisions)
SEQUENTIAL = {
    "no_issues": (False, False, [], [("gw_issues_split", ["gw_issues_join"]), JOINED]),
    "hardware_only": (True, False, [HARDWARE], [("gw_issues_split", ["handle_hardware"]), JOINED]),
    "software_only": (False, True, [SOFTWARE], [("gw_issues_split", ["handle_software"]), JOINED]),
}


def collect(hardware_issues: bool, software_issues: bool) -> Step:
    return Step("collect", h.hc_collect(hardware_issues=hardware_issues, software_issues=software_issues), "engineer")


def start(db: Database) -> Flow:
    return Flow(db, "health_check", h.health_check_start(), user="engineer")


def finish(flow: Flow, steps: list[Step], gateways: list[tuple[str, list[str]]]) -> None:
    assert flow.completed_path() == [s.element_id for s in steps]
    assert flow.gateways() == gateways
    assert flow.status() == "completed"
    h.assert_history(flow, steps, end_event="end_done")


@pytest.mark.parametrize(("hardware", "software", "handling", "gateways"), SEQUENTIAL.values(), ids=SEQUENTIAL.keys())
def test_issues_handled(bundled: Database, hardware: bool, software: bool, handling: list[Step],
                        gateways: list[tuple[str, list[str]]]) -> None:
    steps = [PREPARE, collect(hardware, software), *handling, *CLOSING]
    flow = start(bundled)
    h.drive(flow, steps)
    finish(flow, steps, gateways)


BOTH_ORDERS = {"hardware_first": [HARDWARE, SOFTWARE], "software_first": [SOFTWARE, HARDWARE]}


@pytest.mark.parametrize("handling", BOTH_ORDERS.values(), ids=BOTH_ORDERS.keys())
def test_both_kinds_of_issue_are_handled_in_parallel(bundled: Database, handling: list[Step]) -> None:
    flow = start(bundled)
    h.drive(flow, [PREPARE, collect(True, True)])
    assert sorted((t["element_id"], t["group"]) for t in flow.open_tasks()) == [("handle_hardware", "engineer"),
                                                                                ("handle_software", "engineer")]
    first, second = handling
    flow.complete(first.element_id, first.data, first.user)
    # The join waits for the other branch; training must not start early.
    assert flow.open_elements() == [second.element_id]
    flow.complete(second.element_id, second.data, second.user)
    h.drive(flow, CLOSING)
    finish(flow, [PREPARE, collect(True, True), *handling, *CLOSING],
           [("gw_issues_split", ["handle_hardware", "handle_software"]), JOINED])
