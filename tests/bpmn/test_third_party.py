"""第三方服务 (third_party.bpmn): the vendor resolves, vendor support's solution is applied and verified, or
our engineer repairs on site; nothing unresolved reaches the callback; a problem left at the callback is handled
again."""
from __future__ import annotations

import pytest

from engine.store.db import Database
from tests.bpmn import helpers as h
from tests.bpmn.helpers import Step
from tests.support.flows import Flow

ACCEPT = Step("accept", h.accept(), "service_desk")
CONTACT = Step("contact_vendor", h.contact_vendor(), "service_desk")
# 满意度回访 is the service desk's call (the requester may answer it in the portal: tests/bpmn/test_callback.py).
SATISFIED = Step("satisfaction", h.satisfaction(remaining_problem=False), "service_desk")
STILL_A_PROBLEM = Step("satisfaction", h.satisfaction(remaining_problem=True), "service_desk")
NEW_REQUEST = ("gw_handed_over", ["accept"])
VENDOR = Step("classify", h.classify(needs_third_party=True), "service_desk")
OWN_ENGINEER = Step("classify", h.classify(needs_third_party=False), "service_desk")
VENDOR_FAILED = Step("vendor_onsite", h.resolution(resolved=False, method="vendor"), "vendor")
SUPPORT = Step("vendor_support", h.vendor_support(), "vendor")
ENGINEER_FIXED = Step("engineer_onsite", h.onsite_resolution(resolved=True), "engineer")
ENGINEER_FAILED = Step("engineer_onsite", h.onsite_resolution(resolved=False), "engineer")
NO_REMAINING = ("gw_remaining_problem", ["end_done"])

BRANCHES = {
    "Y_vendor_resolves": (
        [VENDOR, CONTACT, Step("vendor_onsite", h.resolution(resolved=True, method="vendor"), "vendor")],
        [NEW_REQUEST,
         ("gw_needs_third_party", ["contact_vendor"]), ("gw_vendor_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    # The vendor's solution is applied and verified by our engineer before the callback.
    "Y_vendor_support": (
        [VENDOR, CONTACT, VENDOR_FAILED, SUPPORT,
         Step("verify_vendor_solution", h.verify_vendor_solution(resolved=True), "engineer")],
        [NEW_REQUEST, ("gw_needs_third_party", ["contact_vendor"]), ("gw_vendor_resolved", ["vendor_support"]),
         ("gw_vendor_solution_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    # A solution that does not work goes back to vendor support for another.
    "Y_vendor_solution_fails_once": (
        [VENDOR, CONTACT, VENDOR_FAILED, SUPPORT,
         Step("verify_vendor_solution", h.verify_vendor_solution(resolved=False), "engineer"), SUPPORT,
         Step("verify_vendor_solution", h.verify_vendor_solution(resolved=True), "engineer")],
        [NEW_REQUEST, ("gw_needs_third_party", ["contact_vendor"]), ("gw_vendor_resolved", ["vendor_support"]),
         ("gw_vendor_solution_resolved", ["vendor_support"]), ("gw_vendor_solution_resolved", ["satisfaction"]),
         NO_REMAINING],
    ),
    "N_engineer_onsite": (
        [OWN_ENGINEER, ENGINEER_FIXED],
        [NEW_REQUEST,
         ("gw_needs_third_party", ["engineer_onsite"]), ("gw_engineer_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    # needs_third_party is optional on the form: leaving it out means our own engineer goes.
    "N_when_not_answered": (
        [Step("classify", h.classify(), "service_desk"), ENGINEER_FIXED],
        [NEW_REQUEST,
         ("gw_needs_third_party", ["engineer_onsite"]), ("gw_engineer_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    # What our engineer cannot repair goes to the vendor instead of to the callback.
    "N_engineer_fails_then_vendor": (
        [OWN_ENGINEER, ENGINEER_FAILED, CONTACT,
         Step("vendor_onsite", h.resolution(resolved=True, method="vendor"), "vendor")],
        [NEW_REQUEST, ("gw_needs_third_party", ["engineer_onsite"]), ("gw_engineer_resolved", ["contact_vendor"]),
         ("gw_vendor_resolved", ["satisfaction"]), NO_REMAINING],
    ),
    # 遗留问题 at the callback: handled again, then called back again.
    "remaining_problem_handled_again": (
        [OWN_ENGINEER, ENGINEER_FIXED, STILL_A_PROBLEM, ENGINEER_FIXED],
        [NEW_REQUEST, ("gw_needs_third_party", ["engineer_onsite"]), ("gw_engineer_resolved", ["satisfaction"]),
         ("gw_remaining_problem", ["engineer_onsite"]), ("gw_engineer_resolved", ["satisfaction"]), NO_REMAINING],
    ),
}


@pytest.mark.parametrize(("handling", "gateways"), BRANCHES.values(), ids=BRANCHES.keys())
def test_branch(bundled: Database, handling: list[Step], gateways: list[tuple[str, list[str]]]) -> None:
    steps = [ACCEPT, *handling, SATISFIED]
    flow = Flow(bundled, "third_party", h.request(), user="requester")
    flow.allow_closing()
    h.drive(flow, steps)
    assert flow.completed_path() == [s.element_id for s in steps]
    assert flow.gateways() == gateways
    assert flow.status() == "completed"
    h.assert_history(flow, steps, end_event="end_done")
    h.assert_resolved(flow)
