"""投诉处理 (complaint.bpmn): started by the desk's rules from a request (here: the complaint channel),
first-responsible person named, handled, called back until the customer is satisfied; every person
counted once per role (complaint_person)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.desk import complaint
from engine.store.complaint_models import Complaint, ComplaintPerson
from engine.store.db import Database
from tests.bpmn import helpers as h
from tests.bpmn.helpers import Step
from tests.support.flows import Flow, flow_of

NAMED = Step("name_responsible", h.complaint_responsible("engineer"), "service_manager")
HANDLED = Step("handle", h.complaint_handling(), "service_manager")
SATISFIED = Step("callback", h.complaint_callback(satisfied=True), "service_desk")
UNSATISFIED = Step("callback", h.complaint_callback(satisfied=False), "service_desk")

BRANCHES = {
    "satisfied_at_the_first_callback": (
        [NAMED, HANDLED, SATISFIED], [("gw_satisfied", ["end_done"])], 1),
    # 不满意: handled again, called back again, until the customer is satisfied.
    "unsatisfied_then_handled_again": (
        [NAMED, HANDLED, UNSATISFIED, HANDLED, UNSATISFIED, HANDLED, SATISFIED],
        [("gw_satisfied", ["handle"]), ("gw_satisfied", ["handle"]), ("gw_satisfied", ["end_done"])], 3),
}


def complaint_from_channel(db: Database) -> tuple[Flow, Flow]:
    request = Flow(db, "service_desk", {**h.request(), "channel": "complaint"}, user="requester")
    with db.transaction() as session:
        complaint_id = complaint.complaint_of(session, request.id)
    assert complaint_id is not None
    return request, flow_of(db, complaint_id)


@pytest.mark.parametrize(("steps", "gateways", "callbacks"), BRANCHES.values(), ids=BRANCHES.keys())
def test_branch(bundled: Database, steps: list[Step], gateways: list[tuple[str, list[str]]], callbacks: int) -> None:
    request, flow = complaint_from_channel(bundled)
    assert flow.view()["started_by"] == "requester"  # the customer's complaint: they follow it in the portal
    h.drive(flow, steps)
    assert flow.completed_path() == [s.element_id for s in steps]
    assert flow.gateways() == gateways
    assert flow.status() == "completed"
    h.assert_history(flow, steps, end_event="end_done")
    assert flow.events("instance_started")[0]["payload"]["data"]["request_id"] == request.id
    assert request.status() == "running"  # the request itself is still to be fixed
    with bundled.transaction() as session:
        row = session.scalars(select(Complaint).where(Complaint.instance_id == flow.id)).one()
        assert (row.request_instance_id, row.reason, row.first_responsible, row.callbacks) == (
            request.id, "channel", "engineer", callbacks)
        assert row.satisfied_at is not None
        people = session.execute(select(ComplaintPerson.username, ComplaintPerson.role)
                                 .where(ComplaintPerson.complaint_id == row.id)).all()
    # Handled three times by the same person: counted once as handler.
    assert sorted(people) == [("engineer", "first_responsible"), ("service_manager", "handler")]


def test_unsatisfied_leaves_it_open_at_handling(bundled: Database) -> None:
    _request, flow = complaint_from_channel(bundled)
    h.drive(flow, [NAMED, HANDLED, UNSATISFIED])
    assert flow.status() == "running" and flow.open_elements() == ["handle"]
    with bundled.transaction() as session:
        row = session.scalars(select(Complaint).where(Complaint.instance_id == flow.id)).one()
        assert (row.callbacks, row.satisfied_at) == (1, None)
