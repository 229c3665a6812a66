"""Service KPIs (engine.desk.kpi) against hand-computed case records, on SQLite and PostgreSQL.

The cases are written as rows (what engine.desk.case keeps); tests/engine/test_kpi_flows.py checks that
real requests moving through the engine leave the values these figures read.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert

from engine.desk import case, kpi
from engine.errors import InvalidInput
from engine.store.db import Database
from engine.store.models import ProcessDefinition, ProcessInstance, ServiceCase

H = dt.timedelta(hours=1)
# 2026-11 in Asia/Shanghai: 2026-10-31T16:00Z .. 2026-11-30T16:00Z.
NOVEMBER = kpi.Period.parse("2026-11")
T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 local
NOW = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)


def _case(instance_id: int, opened: dt.datetime, **values: Any) -> dict[str, Any]:
    row = {"instance_id": instance_id, "opened_at": opened, "process_id": "service_desk", "fault_level": "II",
           "chase_count": 0, "is_complaint": False, "paused_seconds": 0, "resolve_attempts": 0, "reopen_count": 0,
           "respond_due_at": opened + H, "resolve_due_at": opened + 72 * H, **values}
    return {**row, **case.outcomes(row)}


# Hand-computed below; `now` is NOW.
CASES = [
    # 1: responded in 30 min, resolved in 10 h at the first attempt, closed, score 5 — first-contact.
    _case(1, T0, responded_at=T0 + H / 2, resolved_at=T0 + 10 * H, closed_at=T0 + 11 * H, satisfaction=5,
          resolve_attempts=1, zone="东区", customer="市医院", category="fault", engineer="li",
          assigned_group="engineer"),
    # 2: responded late (2 h), resolved at the 2nd attempt after 20 h, reopened once, score 3, chased twice.
    _case(2, T0 + 24 * H, responded_at=T0 + 26 * H, resolved_at=T0 + 44 * H, closed_at=T0 + 60 * H,
          satisfaction=3, resolve_attempts=2, reopen_count=1, chase_count=2, zone="东区", customer="市医院",
          category="fault", engineer="wang", assigned_group="engineer"),
    # 3: level I, resolved late (30 h > 24 h) but 10 h of paused SLA make it met; score 4.
    _case(3, T0 + 48 * H, fault_level="I", resolve_due_at=T0 + 72 * H, respond_due_at=T0 + 48.5 * H,
          responded_at=T0 + 48.25 * H, resolved_at=T0 + 78 * H, closed_at=T0 + 80 * H, paused_seconds=10 * 3600,
          satisfaction=4, resolve_attempts=1, zone="西区", customer="教育局", category="request",
          engineer="li", assigned_group="engineer"),
    # 4: level I, resolved late (40 h > 24 h), no pause; a complaint after 3 chases; still open (score pending).
    _case(4, T0 + 72 * H, fault_level="I", resolve_due_at=T0 + 96 * H, respond_due_at=T0 + 72.5 * H,
          responded_at=T0 + 72.25 * H, resolved_at=T0 + 112 * H, resolve_attempts=1, chase_count=3,
          is_complaint=True, zone="西区", customer="教育局", category="fault", engineer="wang",
          assigned_group="service_manager"),
    # 5: open, never responded, both deadlines passed by NOW: missed twice; opened 2026-11-10 → 9 days old.
    _case(5, dt.datetime(2026, 11, 10, 4, 0, tzinfo=dt.UTC), zone=None, customer="市医院", category="fault"),
    # 6: open, responded in time, resolve deadline still ahead of NOW: undecided; opened 2 h before NOW.
    _case(6, NOW - 2 * H, responded_at=NOW - 1.5 * H, customer="市医院", category="fault"),
    # 7: 2026-11-30T17:00Z is 2026-12-01 local: outside November.
    _case(7, dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC), customer="市医院"),
    # 8: 2026-10-31T17:00Z is 2026-11-01 01:00 local: inside November (first local day); health check, no SLA.
    _case(8, dt.datetime(2026, 10, 31, 17, 0, tzinfo=dt.UTC), process_id="health_check", fault_level=None,
          respond_due_at=None, resolve_due_at=None, closed_at=dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC),
          customer="教育局"),
]
NOVEMBER_IDS = {1, 2, 3, 4, 5, 6, 8}


@pytest.fixture(params=["live", "rolled_up"])
def cases_db(db: Database, request: pytest.FixtureRequest) -> Database:
    """The cases; "rolled_up": the closed ones (1, 2, 3, 8) summed into case_rollup first: every figure
    must come out the same."""
    with db.transaction() as session:
        session.add(ProcessDefinition(id=1, process_id="service_desk", version=1, name="服务台", sources=[],
                                      sha256="x"))
        session.flush()
        for row in CASES:
            session.add(ProcessInstance(id=row["instance_id"], definition_id=1, process_id=row["process_id"],
                                        title=f"case {row['instance_id']}", started_at=row["opened_at"],
                                        workflow_state="{}", status="running"))
        session.flush()
        full = [{name: row.get(name) for name in cast(Table, ServiceCase.__table__).c.keys()} for row in CASES]
        session.execute(insert(cast(Table, ServiceCase.__table__)), full)
    if request.param == "rolled_up":
        with db.transaction() as session:
            assert kpi.roll_up(session, now=NOW, limit=3) == 3  # the oldest three: 1, 2, 3
        with db.transaction() as session:
            assert kpi.roll_up(session, now=NOW) == 1  # case 8
        with db.transaction() as session:
            assert kpi.roll_up(session, now=NOW) == 0  # each closed case is added once
    return db


def test_headline_figures(cases_db: Database) -> None:
    with cases_db.transaction() as session:
        figures = kpi.headline(session, NOVEMBER, now=NOW)
    assert figures["opened"] == 7
    assert figures["resolved"] == 4 and figures["resolution_rate"] == round(4 / 7, 4)
    assert figures["mttr_seconds"] == (10 + 20 + 30 + 40) * 3600 / 4  # wall-clock, pauses included
    # Response: 30 min, 2 h, 15 min, 15 min, 30 min (case 6).
    assert figures["mean_respond_seconds"] == round((30 + 120 + 15 + 15 + 30) * 60 / 5, 2)
    assert figures["first_contact"] == 3 and figures["first_contact_rate"] == 0.75  # 1, 3, 4 of 4 resolved
    assert figures["satisfaction_average"] == 4.0 and figures["rated"] == 3
    assert (figures["chases"], figures["chased"], figures["complaints"], figures["reopened"]) == (5, 2, 1, 1)
    assert figures["backlog"] == 3  # 4, 5, 6
    # Respond: met 1, 3, 4, 6; missed 2 (late) and 5 (open, past due).
    assert (figures["respond_met"], figures["respond_missed"], figures["respond_rate"]) == (4, 2, round(4 / 6, 4))
    # Resolve: met 1, 2, 3 (thanks to the pause); missed 4 (late), 5 (open, past due); 6 undecided.
    assert (figures["resolve_met"], figures["resolve_missed"], figures["resolve_rate"]) == (3, 2, 0.6)


def test_sla_attainment_per_level_and_target(cases_db: Database) -> None:
    with cases_db.transaction() as session:
        rows = kpi.sla(session, NOVEMBER, now=NOW)
    table = {(row["fault_level"], row["target"]): (row["met"], row["missed"], row["rate"]) for row in rows}
    assert table == {
        ("I", "respond"): (2, 0, 1.0), ("I", "resolve"): (1, 1, 0.5),
        ("II", "respond"): (2, 2, 0.5), ("II", "resolve"): (2, 1, round(2 / 3, 4)),
        (None, "respond"): (0, 0, None), (None, "resolve"): (0, 0, None),
    }


def test_satisfaction_distribution(cases_db: Database) -> None:
    with cases_db.transaction() as session:
        assert kpi.satisfaction(session, NOVEMBER) == {1: 0, 2: 0, 3: 1, 4: 1, 5: 1}


def test_breakdown_by_attribute_keeps_unrecorded_values(cases_db: Database) -> None:
    with cases_db.transaction() as session:
        zones = kpi.breakdown(session, NOVEMBER, "zone", now=NOW)
        engineers = kpi.breakdown(session, NOVEMBER, "engineer", now=NOW)
        processes = kpi.breakdown(session, NOVEMBER, "process_id", now=NOW)
        with pytest.raises(InvalidInput, match="cannot break down by 'title'"):
            kpi.breakdown(session, NOVEMBER, "title")
    assert [(row["value"], row["opened"], row["resolved"]) for row in zones] == [
        (None, 3, 0), ("东区", 2, 2), ("西区", 2, 2)]
    by_engineer = {row["value"]: row for row in engineers}
    assert by_engineer["li"]["mttr_seconds"] == 20 * 3600 and by_engineer["wang"]["mttr_seconds"] == 30 * 3600
    assert by_engineer["wang"]["backlog"] == 1 and by_engineer[None]["opened"] == 3
    assert [(row["value"], row["opened"]) for row in processes] == [("service_desk", 6), ("health_check", 1)]


def test_trend_by_local_day_week_and_month(cases_db: Database) -> None:
    with cases_db.transaction() as session:
        days = kpi.trend(session, NOVEMBER, now=NOW)
        weeks = kpi.trend(session, NOVEMBER, unit="week", now=NOW)
        months = kpi.trend(session, kpi.Period.parse("2026"), now=NOW)
    assert [(row["bucket"], row["opened"]) for row in days] == [
        ("2026-11-01", 1), ("2026-11-02", 1), ("2026-11-03", 1), ("2026-11-04", 1), ("2026-11-05", 1),
        ("2026-11-10", 1), ("2026-11-20", 1)]
    assert days[1] == {"bucket": "2026-11-02", "opened": 1, "resolved": 1, "resolve_met": 1, "resolve_missed": 0}
    # Weeks start on Monday: 11-01 is a Sunday (week of 10-26); 11-02..05 the week of 11-02.
    assert [(row["bucket"], row["opened"]) for row in weeks] == [
        ("2026-10-26", 1), ("2026-11-02", 4), ("2026-11-09", 1), ("2026-11-16", 1)]
    assert [(row["bucket"], row["opened"]) for row in months] == [("2026-11", 7), ("2026-12", 1)]


def test_backlog_by_age(cases_db: Database) -> None:
    with cases_db.transaction() as session:
        ages = kpi.backlog(session, NOVEMBER, now=NOW)
    # Case 4 opened 2026-11-05 01:00Z: 15 days; case 5: 10 days; case 6: 2 hours.
    assert ages == {"lt_1d": 1, "1_3d": 0, "3_7d": 0, "7_30d": 2, "gt_30d": 0}


def test_filters_narrow_every_figure(cases_db: Database) -> None:
    east = kpi.Filters.of({"zone": "东区", "process_id": "", "fault_level": None})
    with cases_db.transaction() as session:
        figures = kpi.headline(session, NOVEMBER, east, now=NOW)
        level_one = kpi.headline(session, NOVEMBER, kpi.Filters.of({"fault_level": "I", "customer": "教育局"}), now=NOW)
        with pytest.raises(InvalidInput, match="unknown filters: title"):
            kpi.Filters.of({"title": "x"})
    assert (figures["opened"], figures["resolved"], figures["reopened"], figures["satisfaction_average"]) == \
        (2, 2, 1, 4.0)
    assert (level_one["opened"], level_one["resolve_met"], level_one["resolve_missed"]) == (2, 1, 1)


def test_drill_down_lists_exactly_the_cases_counted(cases_db: Database) -> None:
    with cases_db.transaction() as session:
        figures = kpi.headline(session, NOVEMBER, now=NOW)
        for name in ("opened", "resolved", "first_contact", "respond_met", "respond_missed", "resolve_met",
                     "resolve_missed", "rated", "chased", "complaints", "reopened", "backlog"):
            listed = kpi.cases(session, NOVEMBER, name, now=NOW)
            assert len(listed) == figures[name] == kpi.count_cases(session, NOVEMBER, name, now=NOW), name
        assert {row["instance_id"] for row in kpi.cases(session, NOVEMBER, "opened", now=NOW)} == NOVEMBER_IDS
        assert [row["instance_id"] for row in kpi.cases(session, NOVEMBER, "resolve_missed", now=NOW)] == [5, 4]
        assert [row["instance_id"] for row in kpi.cases(session, NOVEMBER, "opened", now=NOW, dimension="zone",
                                                         value="")] == [6, 5, 8]
        assert [row["instance_id"] for row in kpi.cases(session, NOVEMBER, "satisfaction_4", now=NOW)] == [3]
        assert [row["instance_id"] for row in kpi.cases(session, NOVEMBER, "age_7_30d", now=NOW)] == [5, 4]
        assert kpi.cases(session, NOVEMBER, "opened", now=NOW)[0]["title"] == "case 6"
        with pytest.raises(InvalidInput, match="unknown figure 'everything'"):
            kpi.cases(session, NOVEMBER, "everything")


def test_summary_is_plain_data_for_other_readers(cases_db: Database) -> None:
    import json

    with cases_db.transaction() as session:
        summary = kpi.summary(session, NOVEMBER, now=NOW)
    assert json.loads(json.dumps(summary)) == {**summary, "satisfaction": {str(k): v for k, v in
                                                                          summary["satisfaction"].items()}}
    assert summary["headline"]["opened"] == 7 and set(summary["breakdowns"]) == set(kpi.DIMENSIONS)
    assert summary["period"]["unit"] == "day" and summary["backlog"]["7_30d"] == 2


def test_periods_are_local_days() -> None:
    assert NOVEMBER.start == dt.datetime(2026, 10, 31, 16, tzinfo=dt.UTC)
    assert NOVEMBER.end == dt.datetime(2026, 11, 30, 16, tzinfo=dt.UTC)
    assert kpi.Period.parse("2026-12").end == dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC)
    assert kpi.Period.parse("2026-11-01..2026-11-15").end == dt.datetime(2026, 11, 15, 16, tzinfo=dt.UTC)
    assert kpi.Period.parse("2026-11-03").unit == "day" and kpi.Period.parse("2026").unit == "month"
    with pytest.raises(InvalidInput, match="period 'last year' is not a year"):
        kpi.Period.parse("last year")
    with pytest.raises(InvalidInput, match="ends before it begins"):
        kpi.Period.parse("2026-11-15..2026-11-01")


def test_a_trend_bucket_narrows_the_period_to_its_days() -> None:
    assert NOVEMBER.narrowed("2026-10-26", "week").label == "2026-11-01..2026-11-01"
    assert NOVEMBER.narrowed("2026-11-02", "week").label == "2026-11-02..2026-11-08"
    assert NOVEMBER.narrowed("2026-11-03", "day").start == dt.datetime(2026, 11, 2, 16, tzinfo=dt.UTC)
    assert kpi.Period.parse("2026").narrowed("2026-02", "month").label == "2026-02-01..2026-02-28"
    assert NOVEMBER.days() == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def test_the_rollup_keeps_each_day_and_value(cases_db: Database) -> None:
    from sqlalchemy import select

    from engine.store.kpi_models import CaseRollup

    with cases_db.transaction() as session:
        kpi.roll_up(session, now=NOW)  # the live variant's first run; nothing left for the other
        rows = {(row.day.isoformat(), row.dimension, row.value): (row.opened, row.resolve_met, row.satisfaction_sum)
                for row in session.scalars(select(CaseRollup))}
    assert rows[("2026-11-01", "*", "*")] == (1, 0, 0)  # case 8, opened 2026-11-01 01:00 local
    assert rows[("2026-11-02", "zone", "东区")] == (1, 1, 5)  # case 1
    assert rows[("2026-11-04", "zone", "西区")] == (1, 1, 4)  # case 3, met thanks to its pause
    assert rows[("2026-11-01", "zone", "")] == (1, 0, 0)  # not recorded
    assert len({key for key in rows if key[1] == "*"}) == 4
