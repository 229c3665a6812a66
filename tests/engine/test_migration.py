"""Moving running instances to a newer version: preview, opt-in migration, history and replay."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import users
from engine.audit import verification as audit
from engine.errors import Conflict, Forbidden
from engine.process import definitions, migration
from engine.store.db import Database
from tests.support.flows import Flow

MINI = (Path(__file__).parent / "diagrams" / "mini.bpmn").read_bytes()
FIXED = {"resolved": True, "method": "remote", "actions": "远程修复"}
# Version 2 puts an approval between a resolved fix and the callback.
APPROVAL = MINI.replace(
    b'<bpmn:sequenceFlow id="flow_ok" sourceRef="gw_resolved" targetRef="satisfaction">',
    b'<bpmn:sequenceFlow id="flow_ok" sourceRef="gw_resolved" targetRef="approve">').replace(
    b'<bpmn:endEvent id="end_done"',
    '<bpmn:userTask id="approve" name="主管审批" camunda:formKey="adjustment_approval" '
    'camunda:candidateGroups="service_manager"/>'
    '<bpmn:sequenceFlow id="flow_approved" sourceRef="approve" targetRef="satisfaction"/>'
    '<bpmn:endEvent id="end_done"'.encode())
# Version 3 renamed remote_fix: instances waiting there have nowhere to go.
WITHOUT_REMOTE_FIX = APPROVAL.replace(b"remote_fix", b"remote_support")


@pytest.fixture
def versions(db: Database, make_user) -> Database:
    for name, groups in [("requester", ["requester"]), ("eng", ["engineer"]), ("boss", ["service_manager"]),
                         ("owner", ["process_owner"])]:
        make_user(name, *groups)
    with db.transaction() as session:
        definitions.deploy(session, [definitions.SourceFile("mini.bpmn", MINI)])
    return db


def deploy(db: Database, content: bytes) -> int:
    with db.transaction() as session:
        return definitions.deploy(session, [definitions.SourceFile("mini.bpmn", content)]).version


def test_preview_then_migrate_moves_the_token_onto_the_new_path(versions: Database) -> None:
    old = Flow(versions, "mini")
    assert deploy(versions, APPROVAL) == 2
    stays = Flow(versions, "mini")  # started on v2 already
    with versions.transaction() as session:
        preview = migration.preview_migration(session, instance_id=old.id, to_version=2)
    assert preview["can_migrate"] and preview["missing"] == []
    assert [(w["element_id"], w["exists"]) for w in preview["waiting"]] == [("remote_fix", True)]
    with pytest.raises(Forbidden), versions.transaction() as session:
        migration.migrate_instance(session, instance_id=old.id, to_version=2, actor=users.actor(session, "eng"))
    with versions.transaction() as session:
        migration.migrate_instance(session, instance_id=old.id, to_version=2, actor=users.actor(session, "owner"))
    assert old.view()["version"] == 2
    old.complete("remote_fix", FIXED, "eng")
    assert old.open_elements() == ["approve"]  # the new step, reached by the migrated instance
    old.complete("approve", {"approved": True}, "boss")
    old.complete("satisfaction", {"score": 5, "remaining_problem": False}, "requester")
    assert old.status() == "completed" and stays.view()["version"] == 2
    migrated = old.events("instance_migrated")[0]["payload"]
    assert (migrated["from_version"], migrated["to_version"]) == (1, 2)
    with versions.transaction() as session:
        verdict = audit.verify_instance(session, old.id)
    assert verdict.ok, verdict.first_divergence


def test_an_instance_cannot_move_where_its_elements_are_gone(versions: Database) -> None:
    flow = Flow(versions, "mini")
    deploy(versions, APPROVAL)
    assert deploy(versions, WITHOUT_REMOTE_FIX) == 3
    with versions.transaction() as session:
        preview = migration.preview_migration(session, instance_id=flow.id, to_version=3)
    assert not preview["can_migrate"] and "remote_fix" in preview["missing"]
    assert preview["waiting"] == [{"task_id": flow.task_id("remote_fix"), "element_id": "remote_fix",
                                   "exists": False, "changes": {}}]
    with pytest.raises(Conflict, match=r"lacks elements this instance uses: .*remote_fix"), \
            versions.transaction() as session:
        migration.migrate_instance(session, instance_id=flow.id, to_version=3, actor=users.actor(session, "owner"))
    assert flow.view()["version"] == 1
