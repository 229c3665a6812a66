"""Migration search_0001 numbers the existing instances in id order (per prefix and year in China), sets the
counters to go on from there, writes every request's search words; its downgrade drops it all."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, inspect

from engine.store import schema
from tests.engine.test_case_migration import Schema, url  # noqa: F401  (the fixture)

BEFORE = "slacal_0001"
T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
NEW_TABLES = {"request_counter", "request_search", "saved_filter"}


def test_existing_requests_get_numbers_and_search_words_and_lose_them_on_downgrade(url: str) -> None:  # noqa: F811
    schema.upgrade(url, BEFORE)
    instances = [(1, "service_desk", T0), (2, "emergency", T0), (3, "service_desk", T0),
                 # 2026-12-31 16:30 UTC is 2027 in China
                 (4, "service_desk", dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)), (5, "knowledge_review", T0)]
    with Schema(url) as db, db.engine.begin() as connection:
        connection.execute(insert(db.table("process_definition")), {
            "id": 1, "process_id": "service_desk", "version": 1, "name": "服务台", "sources": [], "sha256": "x",
            "deployed_at": T0})
        connection.execute(insert(db.table("process_instance")), [
            {"id": i, "definition_id": 1, "process_id": process, "status": "running", "workflow_state": "",
             "title": f"打印机卡纸 {i}", "started_by": "requester", "started_at": at, "lock_version": 1,
             "last_event_seq": 1, "last_event_hash": ""} for i, process, at in instances])
        connection.execute(insert(db.table("history_event")), [
            {"instance_id": 1, "seq": 1, "kind": "instance_started", "element_id": None, "task_record_id": None,
             "actor": "requester", "at": T0, "prev_hash": "", "hash": "h",
             "payload": {"data": {"description": "核心交换机端口掉线", "organisation": "区教育局"}}}])
    schema.upgrade(url)
    with Schema(url) as db:
        assert NEW_TABLES <= set(db.metadata.tables)
        numbers = db.rows("process_instance", ("id", "number"), "id")
        counters = db.rows("request_counter", ("prefix", "year", "last"), "prefix")
        words = {row["instance_id"]: row["words"] for row in db.rows("request_search", ("instance_id", "words"),
                                                                      "instance_id")}
    assert [n["number"] for n in numbers] == ["INC-2026-000001", "EMG-2026-000001", "INC-2026-000002",
                                              "INC-2027-000001", "REQ-2026-000001"]
    assert sorted((c["prefix"], c["year"], c["last"]) for c in counters) == [
        ("EMG", 2026, 1), ("INC", 2026, 2), ("INC", 2027, 1), ("REQ", 2026, 1)]
    assert set(words) == {1, 2, 3, 4, 5}
    assert {"交换机", "掉线", "教育局", "打印机", "requester"} <= set(words[1].split())
    schema.downgrade(url, BEFORE)
    with Schema(url) as db:
        assert not NEW_TABLES & set(db.metadata.tables)
        assert "number" not in {c["name"] for c in inspect(db.engine).get_columns("process_instance")}
        if db.engine.dialect.name == "sqlite":
            assert "request_fts" not in set(inspect(db.engine).get_table_names())
