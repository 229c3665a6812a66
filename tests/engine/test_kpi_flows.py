"""Real requests through the engine leave on the case record what the KPIs read (engine.desk.case, kpi):
reopened loops, paused SLA, re-grades, and the backfill of migration kpi_0001 from the history."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from engine import clock, users
from engine.desk import case, kpi, sla
from engine.store import schema
from engine.store.db import Database
from engine.store.models import ServiceCase
from tests.support.flows import REQUEST, Flow

T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
RESOLVED = {"resolved": True, "method": "remote", "actions": "远程重启服务"}
UNRESOLVED = {"resolved": False, "method": "remote", "actions": "远程无法处理"}
NOVEMBER = kpi.Period.parse("2026-11")
REPORT_COLUMNS = ("process_id", "customer", "engineer", "assigned_group", "respond_met", "resolve_met",
                  "respond_seconds", "resolve_seconds", "resolve_attempts", "reopen_count", "paused_seconds")


def _case(db: Database, flow: Flow) -> dict[str, object]:
    with db.transaction() as session:
        return dict(case.get(session, flow.id)._mapping)


def _classified(db: Database, level: str = "III") -> Flow:
    flow = Flow(db, "service_desk", {**REQUEST, "zone": "东区"})
    flow.complete("accept", {"request_confirmed": True}, "service_desk")
    # A fault classified as level I goes on as an 应急 request (issue 11): re-grade an open case to I instead.
    flow.complete("classify", {"category": "fault", "fault_level": "II" if level == "I" else level}, "service_desk")
    if level == "I":
        with db.transaction() as session:
            sla.change_fault_level(session, instance_id=flow.id, level="I", actor=users.actor(session, "service_desk"))
    return flow


def test_a_reopened_loop_counts_attempts_and_reopenings(bundled: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = _classified(bundled)
        advance(H)
        flow.complete("remote_fix", RESOLVED, "engineer")
        flow.complete("satisfaction", {"score": 2, "remaining_problem": True}, "requester")
        flow.complete("root_cause", {"cause": "磁盘老化", "corrective_action": "更换磁盘"}, "service_manager")
        advance(H)
        flow.complete("expert_support_followup", {**RESOLVED, "method": "onsite"}, "engineer")
        flow.allow_closing()
        flow.complete("satisfaction", {"score": 5, "remaining_problem": False}, "requester")
        row = _case(bundled, flow)
        with bundled.transaction() as session:
            figures = kpi.headline(session, NOVEMBER)
    assert (row["resolve_attempts"], row["reopen_count"], row["resolve_seconds"]) == (2, 1, 3600)
    assert (row["process_id"], row["customer"], row["engineer"], row["assigned_group"]) == \
        ("service_desk", REQUEST["organisation"], "engineer", "engineer")
    assert (row["respond_met"], row["resolve_met"], row["respond_seconds"]) == (True, True, 0)
    assert (figures["reopened"], figures["first_contact"], figures["resolved"], figures["satisfaction_average"]) == \
        (1, 0, 1, 5.0)


def test_first_contact_resolution_and_an_unresolved_attempt(bundled: Database) -> None:
    with clock.frozen(T0):
        first = _classified(bundled)
        first.complete("remote_fix", RESOLVED, "engineer")
        second = _classified(bundled)
        second.complete("remote_fix", UNRESOLVED, "engineer")
        with bundled.transaction() as session:
            figures = kpi.headline(session, NOVEMBER)
            listed = [row["instance_id"] for row in kpi.cases(session, NOVEMBER, "first_contact")]
    assert _case(bundled, second)["resolve_attempts"] == 1 and _case(bundled, second)["resolved_at"] is None
    assert _case(bundled, second)["assigned_group"] == "engineer"
    assert (figures["first_contact"], figures["resolved"], figures["opened"]) == (1, 1, 2) and listed == [first.id]


def test_a_pause_gives_the_target_that_much_longer(bundled: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = _classified(bundled, "I")  # level I: resolve within 24 h
        # A pause as the SLA calendar records it (case.stage_pause during its change): 10 hours.
        with bundled.transaction() as session:
            session.execute(update(ServiceCase).where(ServiceCase.instance_id == flow.id).values(paused_seconds=36000))
        advance(30 * H)
        flow.complete("remote_fix", RESOLVED, "engineer")
        paused = _case(bundled, flow)
        late = _classified(bundled, "I")
        advance(30 * H)
        late.complete("remote_fix", RESOLVED, "engineer")
    assert (paused["resolve_met"], paused["resolve_seconds"]) == (True, 30 * 3600)
    assert _case(bundled, late)["resolve_met"] is False


def test_a_regrade_decides_the_outcome_against_the_new_deadline(bundled: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = _classified(bundled, "III")  # level III: resolve within 3 days
        advance(30 * H)
        flow.complete("remote_fix", RESOLVED, "engineer")
        assert _case(bundled, flow)["resolve_met"] is True
        with bundled.transaction() as session:  # re-graded to I while the callback is open: 24 h
            sla.change_fault_level(session, instance_id=flow.id, level="I", actor=users.actor(session, "service_desk"))
        regraded = _case(bundled, flow)
        with bundled.transaction() as session:
            rows = {(row["fault_level"], row["target"]): row["missed"] for row in kpi.sla(session, NOVEMBER)}
    assert (regraded["fault_level"], regraded["resolve_met"], regraded["resolved_at"]) == ("I", False, T0 + 30 * H)
    assert rows[("I", "resolve")] == 1


def test_chases_count_through_the_counter(bundled: Database) -> None:
    with clock.frozen(T0) as advance:
        flow = _classified(bundled)
        for _ in range(3):
            with bundled.transaction() as session:
                case.chase_request(session, instance_id=flow.id, actor=users.actor(session, "requester"))
            advance(H)  # one chase per interval (engine.desk.complaint, 30 minutes by default)
    row = _case(bundled, flow)
    assert (row["chase_count"], row["is_complaint"]) == (3, True)


def test_the_migration_fills_existing_cases_from_their_history(bundled: Database) -> None:
    with clock.frozen(T0) as advance:
        reopened = _classified(bundled)
        advance(2 * H)
        reopened.complete("remote_fix", RESOLVED, "engineer")
        reopened.complete("satisfaction", {"score": 2, "remaining_problem": True}, "requester")
        reopened.complete("root_cause", {"cause": "磁盘老化", "corrective_action": "更换磁盘"}, "service_manager")
        unresolved = _classified(bundled)
        unresolved.complete("remote_fix", UNRESOLVED, "engineer")
    flows = (reopened, unresolved)
    written = [_case(bundled, flow) for flow in flows]
    assert written[0]["reopen_count"] == 1 and written[0]["assigned_group"] == "service_manager"
    url = bundled.engine.url.render_as_string(hide_password=False)
    bundled.engine.dispose()
    schema.downgrade(url, "reportdoc_0001")
    schema.upgrade(url)
    assert [{name: _case(bundled, flow)[name] for name in REPORT_COLUMNS} for flow in flows] == \
        [{name: row[name] for name in REPORT_COLUMNS} for row in written]


def test_closed_cases_rolled_up_by_the_job_keep_their_figures(bundled: Database) -> None:
    from engine.process import hooks

    assert kpi.ROLLUP_JOB in hooks.jobs  # engine.desk.install registers it
    with clock.frozen(T0) as advance:
        closed = _classified(bundled, "II")
        advance(H)
        closed.complete("remote_fix", RESOLVED, "engineer")
        closed.allow_closing()
        closed.complete("satisfaction", {"score": 4, "remaining_problem": False}, "requester")
        _classified(bundled, "I")  # still open: read from service_case
        with bundled.transaction() as session:
            before = kpi.summary(session, NOVEMBER)
        with bundled.transaction() as session:
            assert kpi.ROLLUP_JOB.run(session) == 1
        with bundled.transaction() as session:
            after = kpi.summary(session, NOVEMBER)
            filtered = kpi.headline(session, NOVEMBER, kpi.Filters.of({"zone": "东区"}))
    assert after == before and after["headline"]["opened"] == 2 and after["satisfaction"][4] == 1
    assert filtered["opened"] == 2 and filtered["resolved"] == 1
