"""Migration complaint_0001 adds request_chase (backfilled from the request_chased events already in the
history), complaint and complaint_person; its downgrade drops them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from engine.store import schema
from tests.engine.test_case_migration import Schema, _plain, url  # noqa: F401  (the fixture)

BEFORE = "kpi_0001"
T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
NEW_TABLES = {"request_chase", "complaint", "complaint_person"}


def _event(instance_id: int, seq: int, kind: str, actor: str, minutes: int, payload: dict[str, object]) -> dict:
    return {"instance_id": instance_id, "seq": seq, "kind": kind, "element_id": None, "task_record_id": None,
            "actor": actor, "at": T0 + dt.timedelta(minutes=minutes), "payload": payload, "prev_hash": "",
            "hash": f"{instance_id}-{seq}"}


def test_chases_already_in_the_history_are_backfilled_and_the_tables_go_on_downgrade(url: str) -> None:  # noqa: F811
    schema.upgrade(url, BEFORE)
    with Schema(url) as db, db.engine.begin() as connection:
        connection.execute(insert(db.table("process_definition")), {
            "id": 1, "process_id": "service_desk", "version": 1, "name": "服务台", "sources": [], "sha256": "x",
            "deployed_at": T0})
        connection.execute(insert(db.table("process_instance")), [
            {"id": i, "definition_id": 1, "process_id": "service_desk", "status": "running", "workflow_state": "",
             "started_at": T0, "lock_version": 1, "last_event_seq": 0, "last_event_hash": ""} for i in (1, 2)])
        connection.execute(insert(db.table("history_event")), [
            _event(1, 1, "instance_started", "requester", 0, {}),
            _event(1, 2, "request_chased", "requester", 40, {"count": 1, "note": "还没人来"}),
            _event(2, 1, "request_chased", "service_desk", 50, {"count": 1, "note": None}),
            _event(1, 3, "request_chased", "service_desk", 90, {"count": 2, "note": "客户来电"}),
        ])
    schema.upgrade(url)
    with Schema(url) as db:
        assert NEW_TABLES <= set(db.metadata.tables)
        chases = db.rows("request_chase", ("instance_id", "number", "chased_by", "chased_at", "note"), "id")
    assert sorted(chases, key=lambda c: (c["instance_id"], c["number"])) == [
        _plain({"instance_id": 1, "number": 1, "chased_by": "requester", "chased_at": T0 + dt.timedelta(minutes=40),
                "note": "还没人来"}),
        _plain({"instance_id": 1, "number": 2, "chased_by": "service_desk",
                "chased_at": T0 + dt.timedelta(minutes=90), "note": "客户来电"}),
        _plain({"instance_id": 2, "number": 1, "chased_by": "service_desk",
                "chased_at": T0 + dt.timedelta(minutes=50), "note": None}),
    ]
    schema.downgrade(url, BEFORE)
    with Schema(url) as db:
        assert not NEW_TABLES & set(db.metadata.tables)
