"""Workflow state: incremental saving writes exactly what a full save would, and loads back."""
from __future__ import annotations

import json
from pathlib import Path

from engine.process import definitions, persistence
from engine.store.db import Database
from engine.store.models import ProcessInstance
from tests.support.flows import Flow

MINI = (Path(__file__).parent / "diagrams" / "mini.bpmn").read_bytes()
NOT_FIXED = {"resolved": False, "method": "phone", "actions": "电话指导未果"}
FIXED = {"resolved": True, "method": "onsite", "actions": "更换硬盘"}


def test_incremental_save_matches_a_full_save_and_loads_back(sqlite_db: Database, ) -> None:
    from engine import users
    with sqlite_db.transaction() as session:
        users.create_user(session, username="requester", password="pw", groups=["requester"])
        users.create_user(session, username="eng", password="pw", groups=["engineer"])
        definitions.deploy(session, [definitions.SourceFile("mini.bpmn", MINI)])
    flow = Flow(sqlite_db, "mini")
    for turn in range(6):
        flow.complete("remote_fix", NOT_FIXED, "eng")
        flow.complete("remote_fix", FIXED, "eng")
        flow.complete("satisfaction", {"score": 3, "remaining_problem": turn < 5}, "requester")
        with sqlite_db.transaction() as session:
            instance = session.get(ProcessInstance, flow.id)
            parsed = definitions.parsed(instance.definition)
            fresh = persistence.load(instance.workflow_state, parsed)
            # A freshly loaded workflow has no cached fragments: its dump is a full one.
            assert json.loads(persistence.dump(fresh)) == json.loads(instance.workflow_state)
            assert persistence.dump(persistence.load(persistence.dump(fresh), parsed)) == persistence.dump(fresh)
    assert flow.status() == "completed"
    assert flow.completed_path().count("satisfaction") == 6


def test_cache_is_used_between_steps_and_invalidated_by_version(sqlite_db: Database) -> None:
    from engine import users
    with sqlite_db.transaction() as session:
        users.create_user(session, username="requester", password="pw", groups=["requester"])
        users.create_user(session, username="eng", password="pw", groups=["engineer"])
        definitions.deploy(session, [definitions.SourceFile("mini.bpmn", MINI)])
    cache = persistence.workflow_cache
    flow = Flow(sqlite_db, "mini")
    hits = cache.hits
    flow.complete("remote_fix", NOT_FIXED, "eng")
    assert cache.hits == hits + 1
    cache.clear()
    misses = cache.misses
    flow.complete("remote_fix", FIXED, "eng")
    assert cache.misses == misses + 1 and flow.open_elements() == ["satisfaction"]
