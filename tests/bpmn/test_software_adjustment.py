"""软件调整 (software_adjustment.bpmn): defects fixed at once, other changes approved by the lead their size needs."""
from __future__ import annotations

import pytest

from engine.store.db import Database
from tests.bpmn import helpers as h
from tests.bpmn.helpers import Step
from tests.support.flows import Flow

IMPLEMENT = Step("implement", h.resolution(resolved=True), "engineer")
VERIFIED = Step("verify", h.verify(verified=True), "requester")
NOT_VERIFIED = Step("verify", h.verify(verified=False), "requester")
DEPT_LEAD_APPROVES = Step("dept_lead_approval", h.adjustment_approval(approved=True), "dept_lead")
TO_DEPT_LEAD = ("gw_adjustment_kind", ["dept_lead_approval"])
DONE = ("gw_verified", ["end_done"])

# (kind, estimate_days, steps, gateway decisions, end event)
BRANCHES = {
    "defect_without_approval": (
        "defect", 3, [IMPLEMENT, VERIFIED],
        [("gw_adjustment_kind", ["implement"]), DONE], "end_done",
    ),
    "ambiguous_dept_lead": (
        "ambiguous", 20, [DEPT_LEAD_APPROVES, IMPLEMENT, VERIFIED],
        [TO_DEPT_LEAD, ("gw_dept_lead_approved", ["implement"]), DONE], "end_done",
    ),
    "new_10_days_dept_lead": (
        "new", 10, [DEPT_LEAD_APPROVES, IMPLEMENT, VERIFIED],
        [TO_DEPT_LEAD, ("gw_dept_lead_approved", ["implement"]), DONE], "end_done",
    ),
    "new_11_days_company_lead": (
        "new", 11, [Step("company_lead_approval", h.adjustment_approval(approved=True), "company_lead"),
                    IMPLEMENT, VERIFIED],
        [("gw_adjustment_kind", ["company_lead_approval"]), ("gw_company_lead_approved", ["implement"]), DONE],
        "end_done",
    ),
    "dept_lead_rejects": (
        "new", 5, [Step("dept_lead_approval", h.adjustment_approval(approved=False), "dept_lead")],
        [TO_DEPT_LEAD, ("gw_dept_lead_approved", ["end_rejected"])], "end_rejected",
    ),
    "company_lead_rejects": (
        "new", 30, [Step("company_lead_approval", h.adjustment_approval(approved=False), "company_lead")],
        [("gw_adjustment_kind", ["company_lead_approval"]), ("gw_company_lead_approved", ["end_rejected"])],
        "end_rejected",
    ),
    "verification_failed_once": (
        "defect", 1, [IMPLEMENT, NOT_VERIFIED, IMPLEMENT, VERIFIED],
        [("gw_adjustment_kind", ["implement"]), ("gw_verified", ["implement"]), DONE], "end_done",
    ),
}


@pytest.mark.parametrize(("kind", "estimate_days", "steps", "gateways", "end_event"), BRANCHES.values(),
                         ids=BRANCHES.keys())
def test_branch(bundled: Database, kind: str, estimate_days: int, steps: list[Step],
                gateways: list[tuple[str, list[str]]], end_event: str) -> None:
    flow = Flow(bundled, "software_adjustment", h.adjustment_request(kind, estimate_days), user="requester")
    h.drive(flow, steps)
    assert flow.completed_path() == [s.element_id for s in steps]
    assert flow.gateways() == gateways
    assert flow.status() == "completed"
    h.assert_history(flow, steps, end_event=end_event)
