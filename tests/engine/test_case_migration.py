"""Migration 20261122_0006 moves deadlines, resolution and chasing from process_instance into service_case,
and its downgrade moves them back, on databases that already hold instances with task records."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, insert, select

from engine.store import schema
from engine.store.db import make_engine
from tests.support import pg

BEFORE = "20261122_0005"
T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
MOVED = ("respond_due_at", "plan_due_at", "resolve_due_at", "emergency_plan_due_at", "fault_report_due_at",
         "resolved_at", "chase_count", "is_complaint")
# Two instances as revision 0005 stored them: one chased into a complaint and resolved, one fresh.
INSTANCES = [
    {"id": 1, "fault_level": "I", "started_at": T0, "ended_at": None, "respond_due_at": T0 + dt.timedelta(minutes=30),
     "plan_due_at": T0 + dt.timedelta(hours=2), "resolve_due_at": T0 + dt.timedelta(hours=24),
     "emergency_plan_due_at": T0 + dt.timedelta(hours=16), "fault_report_due_at": T0 + dt.timedelta(hours=30),
     "resolved_at": T0 + dt.timedelta(hours=6), "chase_count": 3, "is_complaint": True},
    {"id": 2, "fault_level": None, "started_at": T0, "ended_at": T0 + dt.timedelta(days=1), "respond_due_at": None,
     "plan_due_at": None, "resolve_due_at": None, "emergency_plan_due_at": None, "fault_report_due_at": None,
     "resolved_at": None, "chase_count": 0, "is_complaint": False},
]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server: pg.PostgresServer = request.getfixturevalue("postgres_server")
    yield server.create_database("opsflow_case_migration")
    server.drop_database("opsflow_case_migration")


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Times in UTC (SQLite gives them back naive), flags as booleans."""
    def plain(key: str, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return bool(value) if key == "is_complaint" else value
    return {key: plain(key, value) for key, value in row.items()}


class Schema:
    """The database as it stands, reflected (no model of ours describes an old revision)."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        self.metadata = MetaData()
        self.metadata.reflect(self.engine)

    def __enter__(self) -> Schema:
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()

    def table(self, name: str) -> Table:
        return self.metadata.tables[name]

    def rows(self, name: str, columns: tuple[str, ...], order: str) -> list[dict[str, Any]]:
        table = self.table(name)
        with self.engine.connect() as connection:
            return [_plain(dict(r._mapping)) for r in connection.execute(
                select(*(table.c[c] for c in columns)).order_by(table.c[order]))]


def _fill(url: str) -> None:
    """Rows as the app wrote them at revision 0005, with task records referring to them."""
    with Schema(url) as db, db.engine.begin() as connection:
        connection.execute(insert(db.table("process_definition")), {
            "id": 1, "process_id": "service_desk", "version": 1, "name": "服务台", "sources": [], "sha256": "x",
            "deployed_at": T0})
        connection.execute(insert(db.table("process_instance")), [
            {**row, "definition_id": 1, "process_id": "service_desk", "status": "running", "workflow_state": "",
             "lock_version": 1, "last_event_seq": 0, "last_event_hash": ""} for row in INSTANCES])
        connection.execute(insert(db.table("task_record")), [
            {"instance_id": row["id"], "spiff_task_id": f"{row['id']:036d}", "element_id": "accept", "name": "受理",
             "state": "ready", "created_at": T0} for row in INSTANCES])


def test_the_case_columns_move_to_service_case_and_back(url: str) -> None:
    schema.upgrade(url, BEFORE)
    _fill(url)
    schema.upgrade(url)
    with Schema(url) as db:
        assert not set(MOVED) & set(db.table("process_instance").c.keys())
        cases = db.rows("service_case", ("instance_id", "fault_level", "opened_at", "closed_at", *MOVED), "instance_id")
    assert cases == [_plain({"instance_id": row["id"], "fault_level": row["fault_level"],
                             "opened_at": row["started_at"], "closed_at": row["ended_at"],
                             **{name: row[name] for name in MOVED}}) for row in INSTANCES]
    schema.downgrade(url, BEFORE)
    with Schema(url) as db:
        assert "service_case" not in db.metadata.tables
        assert db.rows("process_instance", tuple(INSTANCES[0]), "id") == [_plain(row) for row in INSTANCES]
    schema.upgrade(url)  # and forward again
    with Schema(url) as db:
        assert len(db.rows("service_case", ("instance_id",), "instance_id")) == len(INSTANCES)
