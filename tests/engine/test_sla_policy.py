"""SLA policy durations: whole minutes as a rule, seconds for drills and tests, stored in seconds."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.desk import sla
from engine.store import schema
from engine.store.db import make_engine


@pytest.mark.parametrize("given, seconds", [
    (30, 1800), ("30", 1800), (" 30 ", 1800), ("30m", 1800), ("30 min", 1800), ("90s", 90), ("90 S", 90),
    (dt.timedelta(seconds=45), 45), ("-5", -300),
])
def test_durations_read_as_minutes_unless_given_in_seconds(given: int | str | dt.timedelta, seconds: int) -> None:
    assert sla.duration_seconds(given) == seconds


@pytest.mark.parametrize("given", ["", "abc", "1.5", "90x", "90 seconds", "P1D", True])
def test_anything_else_is_not_a_duration(given: str | bool) -> None:
    with pytest.raises(ValueError):
        sla.duration_seconds(given)


def test_stored_durations_read_back_as_they_are_given() -> None:
    assert [sla.duration_text(s) for s in (60, 1800, 90, 59)] == ["1", "30", "90s", "59s"]
    assert [sla.minutes_of(s) for s in (1800, 90, None)] == [30, 1.5, None]


def test_the_migration_turns_minutes_into_seconds_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sla.db'}"
    schema.upgrade(url, "20261122_0005")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            before = connection.execute(text("SELECT respond_minutes, plan_minutes, emergency_plan_after_minutes "
                                             "FROM sla_policy WHERE fault_level = 'I'")).one()
        assert tuple(before) == (30, 120, 720)
        schema.upgrade(url, "20261122_0007")  # the migration this is about (later ones key the table by process)
        with engine.begin() as connection:
            after = connection.execute(text("SELECT respond_seconds, plan_seconds, emergency_plan_after_seconds "
                                            "FROM sla_policy WHERE fault_level = 'I'")).one()
            assert tuple(after) == (1800, 7200, 43200)
            connection.execute(text("UPDATE sla_policy SET respond_seconds = 90 WHERE fault_level = 'I'"))
        schema.downgrade(url, "20261122_0005")
        with engine.begin() as connection:
            back = connection.execute(text("SELECT respond_minutes, plan_minutes, emergency_plan_after_minutes "
                                           "FROM sla_policy WHERE fault_level = 'I'")).one()
        assert tuple(back) == (2, 120, 720)  # 90 s rounds up to 2 minutes, never down to 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_per_process_migration_keeps_the_service_desks_rows_and_goes_back(
        tmp_path: Path, request: pytest.FixtureRequest, dialect: str) -> None:
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'per_process.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database("opsflow_sla_migration")
    schema.upgrade(url, "complaint_0001")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE sla_policy SET resolve_seconds = 7200 WHERE fault_level = 'II'"))
        schema.upgrade(url, "slacal_0001")
        with engine.begin() as connection:
            rows = connection.execute(text("SELECT process_id, fault_level, resolve_seconds, calendar FROM sla_policy "
                                           "WHERE fault_level = 'II' ORDER BY process_id")).all()
        assert [tuple(r) for r in rows] == [
            (p, "II", 7200, "7x24") for p in ("emergency", "other_service", "problem_management", "service_desk",
                                              "software_adjustment", "third_party")]
        schema.downgrade(url, "complaint_0001")
        with engine.begin() as connection:
            back = connection.execute(text("SELECT fault_level, resolve_seconds FROM sla_policy ORDER BY 1")).all()
        assert [tuple(r) for r in back] == [("I", 86400), ("II", 7200), ("III", 259200), ("IV", 432000)]
        schema.upgrade(url, "slacal_0001")  # and forth again (key names free for the next move)
    finally:
        engine.dispose()
        if dialect == "postgresql":
            server.drop_database("opsflow_sla_migration")
