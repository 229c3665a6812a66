"""健康检查 starts by itself on each contract's cycle, once per due time, and by hand as before."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import bootstrap, clock
from engine.desk import schedules
from engine.errors import InvalidInput
from engine.store.db import Database
from tests.conftest import BPMN_DIR
from tests.support.flows import Flow

T0 = dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def deployed(db: Database) -> Database:
    with db.transaction() as session:
        bootstrap.deploy_directory(session, BPMN_DIR)
        bootstrap.create_demo_users(session)
    return db


def test_monthly_checks_start_once_per_due_time(deployed: Database) -> None:
    with clock.frozen(T0) as advance:
        with deployed.transaction() as session:
            schedules.set_schedule(session, contract="HT-2026-017", organisation="市第一人民医院", cycle="P1M",
                                   first_at=T0 + dt.timedelta(days=1))
        with deployed.transaction() as session:
            assert schedules.start_due(session) == []
        advance(dt.timedelta(days=1, minutes=1))
        with deployed.transaction() as session:
            [started] = schedules.start_due(session)
        with deployed.transaction() as session:
            assert schedules.start_due(session) == []  # a second scheduler finds nothing to do
            [row] = schedules.list_schedules(session)
        assert row["next_due_at"].startswith("2026-12-02")  # one calendar month later
        advance(dt.timedelta(days=31))
        with deployed.transaction() as session:
            assert len(schedules.start_due(session)) == 1
    flow = Flow.__new__(Flow)
    flow.db, flow.id = deployed, started
    view = flow.view()
    assert view["process_id"] == "health_check" and view["started_by"] == "scheduler"
    assert flow.events("instance_started")[0]["payload"]["data"]["contract"] == "HT-2026-017"
    assert flow.open_elements() == ["prepare"]


def test_by_hand_still_works_and_bad_cycles_are_refused(deployed: Database) -> None:
    flow = Flow(deployed, "health_check", {"organisation": "市教育局", "contract": "HT-2026-020"}, user="engineer")
    assert flow.open_elements() == ["prepare"]
    for cycle in ("monthly", "PT1H"):
        with pytest.raises(InvalidInput), deployed.transaction() as session:
            schedules.set_schedule(session, contract="X", organisation="Y", cycle=cycle)
