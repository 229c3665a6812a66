"""第三方服务 (third_party.bpmn): the vendor resolves, vendor support solves it, or our engineer repairs on site."""
from __future__ import annotations

import pytest

from engine.store.db import Database
from tests.bpmn import helpers as h
from tests.bpmn.helpers import Step
from tests.support.flows import Flow

ACCEPT = Step("accept", h.accept(), "service_desk")
CONTACT = Step("contact_vendor", h.contact_vendor(), "service_desk")
SATISFIED = Step("satisfaction", h.satisfaction(remaining_problem=False), "requester")

BRANCHES = {
    "Y_vendor_resolves": (
        [Step("classify", h.classify(needs_third_party=True), "service_desk"), CONTACT,
         Step("vendor_onsite", h.resolution(resolved=True, method="vendor"), "vendor")],
        [("gw_needs_third_party", ["contact_vendor"]), ("gw_vendor_resolved", ["satisfaction"])],
    ),
    "Y_vendor_support": (
        [Step("classify", h.classify(needs_third_party=True), "service_desk"), CONTACT,
         Step("vendor_onsite", h.resolution(resolved=False, method="vendor"), "vendor"),
         Step("vendor_support", h.vendor_support(), "vendor")],
        [("gw_needs_third_party", ["contact_vendor"]), ("gw_vendor_resolved", ["vendor_support"])],
    ),
    "N_engineer_onsite": (
        [Step("classify", h.classify(needs_third_party=False), "service_desk"),
         Step("engineer_onsite", h.onsite_resolution(resolved=True), "engineer")],
        [("gw_needs_third_party", ["engineer_onsite"])],
    ),
    # needs_third_party is optional on the form: leaving it out means our own engineer goes.
    "N_when_not_answered": (
        [Step("classify", h.classify(), "service_desk"),
         Step("engineer_onsite", h.onsite_resolution(resolved=True), "engineer")],
        [("gw_needs_third_party", ["engineer_onsite"])],
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
