"""The modeler's engine side: drafts per process and user, deploying the modeler's diagram (with the
processes it calls), and the instances a process owner may migrate."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine import users
from engine.errors import Forbidden, InvalidDiagram, NotFound
from engine.process import definitions, drafts
from engine.store.db import Database
from tests.support.flows import Flow

MINI = (Path(__file__).parent / "diagrams" / "mini.bpmn").read_text(encoding="utf-8")
# A process that only calls mini: deployable from the modeler, which adds mini's newest version as a file.
CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="caller_defs"
    targetNamespace="http://opsflow.dev/test">
  <bpmn:process id="caller" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:callActivity id="call_mini" calledElement="mini"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call_mini"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call_mini" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def modeled(db: Database, make_user) -> Database:
    make_user("owner", "process_owner")
    make_user("other_owner", "process_owner")
    make_user("eng", "engineer")
    make_user("requester", "requester")
    with db.transaction() as session:
        definitions.deploy(session, [definitions.SourceFile("mini.bpmn", MINI.encode())], user="setup")
    return db


def test_a_draft_per_process_and_user_replaced_by_each_save(modeled: Database) -> None:
    with modeled.transaction() as session:
        owner, other = (users.actor(session, name) for name in ("owner", "other_owner"))
        drafts.save_draft(session, process_id="mini", xml=MINI, actor=owner, base_version=1)
        drafts.save_draft(session, process_id="mini", xml=MINI.replace("迷你流程", "迷你流程二"), actor=owner)
        drafts.save_draft(session, process_id="mini", xml=MINI, actor=other)
    with modeled.transaction() as session:
        mine = drafts.get_draft(session, process_id="mini", username="owner")
        assert mine is not None and "迷你流程二" in mine["xml"] and mine["base_version"] is None
        assert [d["process_id"] for d in drafts.list_drafts(session, username="owner")] == ["mini"]
        page = drafts.modeler_page(session, process_id="mini", version=None, username="owner", use_draft=True)
        assert page["from_draft"] and "迷你流程二" in page["xml"] and page["newest_version"] == 1
        assert drafts.discard_draft(session, process_id="mini", actor=owner)
        assert not drafts.discard_draft(session, process_id="mini", actor=owner)
        assert drafts.get_draft(session, process_id="mini", username="other_owner") is not None


def test_only_process_owners_keep_drafts_and_deploy(modeled: Database) -> None:
    with pytest.raises(Forbidden), modeled.transaction() as session:
        drafts.save_draft(session, process_id="mini", xml=MINI, actor=users.actor(session, "eng"))
    with pytest.raises(Forbidden), modeled.transaction() as session:
        drafts.deploy_diagram(session, process_id="mini", xml=MINI, comment="x", actor=users.actor(session, "eng"))


def test_a_draft_must_be_safe_xml_but_may_be_an_invalid_diagram(modeled: Database) -> None:
    with pytest.raises(InvalidDiagram), modeled.transaction() as session:
        drafts.save_draft(session, process_id="mini", xml='<!DOCTYPE x [<!ENTITY e "e">]><x/>',
                          actor=users.actor(session, "owner"))
    unfinished = MINI.replace(' camunda:candidateGroups="engineer"', "")
    with modeled.transaction() as session:
        drafts.save_draft(session, process_id="mini", xml=unfinished, actor=users.actor(session, "owner"))
        problems = drafts.validate_diagram(session, process_id="mini", xml=unfinished)
    assert [p.element_id for p in problems] == ["remote_fix"]


def test_deploy_makes_version_n_plus_1_under_the_same_file_name_and_drops_the_draft(modeled: Database) -> None:
    with modeled.transaction() as session:
        owner = users.actor(session, "owner")
        drafts.save_draft(session, process_id="mini", xml=MINI, actor=owner)
        result = drafts.deploy_diagram(session, process_id="mini", xml=MINI.replace("迷你流程", "迷你"),
                                       comment="改名", actor=owner)
    assert result.version == 2
    with modeled.transaction() as session:
        newest = definitions.get_definition(session, "mini")
        assert newest.sources[0]["filename"] == "mini.bpmn" and newest.deployed_by == "owner"
        assert newest.comment == "改名" and drafts.get_draft(session, process_id="mini", username="owner") is None


def test_a_called_process_comes_along_from_its_newest_version(modeled: Database) -> None:
    with modeled.transaction() as session:
        assert drafts.validate_diagram(session, process_id="caller", xml=CALLER) == []
        result = drafts.deploy_diagram(session, process_id="caller", xml=CALLER, comment="新流程",
                                       actor=users.actor(session, "owner"))
        deployed = definitions.get_definition(session, "caller")
        assert result.version == 1 and [s["filename"] for s in deployed.sources] == ["caller.bpmn", "mini.bpmn"]
        missing = CALLER.replace('calledElement="mini"', 'calledElement="nowhere"')
        assert [p.element_id for p in drafts.validate_diagram(session, process_id="caller", xml=missing)] == [
            "call_mini"]


def test_running_instances_on_older_versions_and_migration_per_process(modeled: Database) -> None:
    old = Flow(modeled, "mini")
    with modeled.transaction() as session:
        owner = users.actor(session, "owner")
        drafts.deploy_diagram(session, process_id="mini", xml=MINI.replace("迷你流程", "迷你"), comment="v2",
                              actor=owner)
    new = Flow(modeled, "mini")
    with modeled.transaction() as session:
        listing = drafts.running_instances(session, process_id="mini")
        assert listing["newest_version"] == 2 and listing["count"] == 1
        assert [(i["id"], i["version"], [w["element_id"] for w in i["waiting"]]) for i in listing["instances"]] == [
            (old.id, 1, ["remote_fix"])]
        assert drafts.preview_migration(session, process_id="mini", instance_id=old.id, to_version=2)["can_migrate"]
        with pytest.raises(NotFound):
            drafts.preview_migration(session, process_id="other", instance_id=old.id, to_version=2)
        overview = drafts.overview(session, username="owner")["processes"]
        assert overview == [{"process_id": "mini", "newest_version": 2, "running_newest": 1, "running_older": 1}]
    with modeled.transaction() as session:
        drafts.migrate_instance(session, process_id="mini", instance_id=old.id, to_version=2, actor=owner)
    assert old.view()["version"] == 2 and new.view()["version"] == 2
