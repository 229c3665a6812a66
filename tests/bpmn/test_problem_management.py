"""问题管理 (problem_management.bpmn): consultations recorded at once; defects analysed, confirmed, fixed, verified."""
from __future__ import annotations

import pytest

from engine.store.db import Database
from tests.bpmn import helpers as h
from tests.bpmn.helpers import Step
from tests.support.flows import Flow


def analyse(problem_type: str) -> Step:
    return Step("problem_analyse", h.problem_analyse(problem_type), "engineer")


def confirm(approved: bool) -> Step:
    return Step("problem_confirm", h.problem_confirm(supervisor_approved=approved), "service_manager")


def verify(verified: bool) -> Step:
    return Step("verify", h.verify(verified=verified), "service_desk")


IMPLEMENT = Step("implement", h.resolution(resolved=True), "engineer")
REPORT_AND_REPLY = [
    Step("problem_report", h.problem_report(), "service_manager"),
    Step("problem_reply", h.problem_reply(), "service_manager"),
]
DEFECT = ("gw_kind", ["problem_analyse"])
TO_CONFIRM = ("gw_problem_type", ["problem_confirm"])
APPROVED = ("gw_approved", ["implement"])
VERIFIED = ("gw_verified", ["problem_report"])

# kind submitted -> (steps, gateway decisions, end event)
BRANCHES = {
    "consultation": (
        "consultation",
        [Step("consultation_record", h.consultation_record(), "service_desk")],
        [("gw_kind", ["consultation_record"])],
        "end_consultation",
    ),
    "defect_operation": (
        "defect",
        [analyse("operation"), Step("explain_and_convert", h.explain_and_convert(), "service_desk")],
        [DEFECT, ("gw_problem_type", ["explain_and_convert"])],
        "end_converted",
    ),
    "defect_technical": (
        "defect",
        [analyse("technical"), confirm(True), IMPLEMENT, verify(True), *REPORT_AND_REPLY],
        [DEFECT, TO_CONFIRM, APPROVED, VERIFIED],
        "end_done",
    ),
    "defect_business": (
        "defect",
        [analyse("business"), confirm(True), IMPLEMENT, verify(True), *REPORT_AND_REPLY],
        [DEFECT, TO_CONFIRM, APPROVED, VERIFIED],
        "end_done",
    ),
    "confirmation_rejected_then_approved": (
        "defect",
        [analyse("technical"), confirm(False), analyse("technical"), confirm(True), IMPLEMENT, verify(True),
         *REPORT_AND_REPLY],
        [DEFECT, TO_CONFIRM, ("gw_approved", ["problem_analyse"]), TO_CONFIRM, APPROVED, VERIFIED],
        "end_done",
    ),
    "verification_failed_once": (
        "defect",
        [analyse("business"), confirm(True), IMPLEMENT, verify(False), IMPLEMENT, verify(True), *REPORT_AND_REPLY],
        [DEFECT, TO_CONFIRM, APPROVED, ("gw_verified", ["implement"]), VERIFIED],
        "end_done",
    ),
}


@pytest.mark.parametrize(("kind", "steps", "gateways", "end_event"), BRANCHES.values(), ids=BRANCHES.keys())
def test_branch(bundled: Database, kind: str, steps: list[Step], gateways: list[tuple[str, list[str]]],
                end_event: str) -> None:
    flow = Flow(bundled, "problem_management", h.problem_submit(kind), user="requester")
    h.drive(flow, steps)
    assert flow.completed_path() == [s.element_id for s in steps]
    assert flow.gateways() == gateways
    assert flow.status() == "completed"
    h.assert_history(flow, steps, end_event=end_event)
