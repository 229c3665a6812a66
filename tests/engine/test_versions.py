"""Versions of a process: the list with running instances, element diffs, rollback as a new version."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InvalidDiagram, NotFound
from engine.process import definitions, validation, versions
from engine.store.db import Database
from tests.support.flows import Flow

MINI = (Path(__file__).parent / "diagrams" / "mini.bpmn").read_bytes()
SATISFACTION_NAME = "满意度回访".encode()
BOUNDARY = (b'<bpmn:boundaryEvent id="fix_late" name="\xe8\xb6\x85\xe6\x97\xb6" attachedToRef="remote_fix" '
            b'cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeDuration>"PT4H"</bpmn:timeDuration>'
            b'</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
            b'<bpmn:endEvent id="end_late" name="x"/>'
            b'<bpmn:sequenceFlow id="flow_late" sourceRef="fix_late" targetRef="end_late"/>')
FLOW_AGAIN = (b'<bpmn:sequenceFlow id="flow_again" sourceRef="gw_remaining" targetRef="remote_fix">\n'
              b'      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">remaining_problem == True'
              b'</bpmn:conditionExpression>\n    </bpmn:sequenceFlow>')


def v2_of(xml: bytes) -> bytes:
    """remote_fix gets a second group and a boundary timer, a condition tightens, the loop back is gone."""
    assert FLOW_AGAIN in xml
    return (xml.replace(b'camunda:candidateGroups="engineer"', b'camunda:candidateGroups="engineer,tech_lead"')
            .replace(b"resolved == True", b"resolved == True and method != 'vendor'")
            .replace(SATISFACTION_NAME, "回访".encode())
            .replace(FLOW_AGAIN, BOUNDARY))


def deploy(db: Database, content: bytes, **kwargs) -> definitions.DeployResult:
    with db.transaction() as session:
        return definitions.deploy(session, [definitions.SourceFile("mini.bpmn", content)], **kwargs)


@pytest.fixture
def two_versions(db: Database, make_user) -> Database:
    make_user("requester", "requester")
    make_user("eng", "engineer")
    deploy(db, MINI, user="alice", comment="first")
    deploy(db, v2_of(MINI), user="bob", comment="tighter")
    return db


def test_diff_names_each_element_that_changed(two_versions: Database) -> None:
    with two_versions.transaction() as session:
        result = versions.diff(session, "mini", 1, 2)
    assert (result["process_id"], result["from_version"], result["to_version"]) == ("mini", 1, 2)
    assert result["added"] == [{"id": "fix_late", "type": "boundaryEvent", "name": "超时"},
                               {"id": "end_late", "type": "endEvent", "name": "x"},
                               {"id": "flow_late", "type": "sequenceFlow", "name": None}]
    assert result["removed"] == [{"id": "flow_again", "type": "sequenceFlow", "name": None}]
    changed = {e["id"]: {c["field"]: (c["from"], c["to"]) for c in e["changes"]} for e in result["changed"]}
    assert changed == {
        "remote_fix": {"candidate_groups": ("engineer", "engineer,tech_lead"),
                       "incoming": (["flow_again", "flow_retry", "flow_start"], ["flow_retry", "flow_start"])},
        "satisfaction": {"name": ("满意度回访", "回访")},
        "gw_remaining": {"outgoing": (["flow_again", "flow_done"], ["flow_done"])},
        "flow_ok": {"condition": ("resolved == True", "resolved == True and method != 'vendor'")},
    }
    # the process, start, gw_resolved, end_done and five flows are untouched
    assert result["unchanged"] == 9


def test_diff_the_other_way_round_swaps_added_and_removed(two_versions: Database) -> None:
    with two_versions.transaction() as session:
        forward, backward = versions.diff(session, "mini", 1, 2), versions.diff(session, "mini", 2, 1)
    assert backward["added"] == forward["removed"] and backward["removed"] == forward["added"]
    assert {e["id"] for e in backward["changed"]} == {e["id"] for e in forward["changed"]}


def test_diff_sees_timers_forms_attributes_and_properties() -> None:
    v2 = v2_of(MINI)
    v3 = (v2.replace(b'"PT4H"', b'"PT8H"').replace(b'camunda:formKey="satisfaction"', b'camunda:formKey="verify"')
          .replace(b'cancelActivity="false"', b'cancelActivity="true"')
          .replace(b'camunda:assignee="${initiator}"/>', b'camunda:assignee="${initiator}"><bpmn:extensionElements>'
                   b'<camunda:properties><camunda:property name="sla_target" value="resolve"/></camunda:properties>'
                   b"</bpmn:extensionElements></bpmn:userTask>", 1))
    before, after = (versions.describe([{"filename": "m.bpmn", "xml": x.decode()}]) for x in (v2, v3))
    result = versions.diff_descriptions(before, after)
    changed = {e["id"]: {c["field"]: (c["from"], c["to"]) for c in e["changes"]} for e in result["changed"]}
    assert changed == {
        "fix_late": {"timer": ("timeDuration: \"PT4H\"", "timeDuration: \"PT8H\""),
                     "attribute:cancelActivity": ("false", "true")},
        "satisfaction": {"form_key": ("satisfaction", "verify"), "property:sla_target": (None, "resolve")},
    }


DI = (b'<bpmndi:BPMNDiagram id="diagram" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
      b'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"><bpmndi:BPMNPlane id="plane" bpmnElement="mini">'
      b'<bpmndi:BPMNShape id="remote_fix_di" bpmnElement="remote_fix"><dc:Bounds x="X" y="80" width="100" '
      b'height="80"/></bpmndi:BPMNShape></bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>')


def test_moving_shapes_or_reformatting_is_not_a_change() -> None:
    here = MINI.replace(b"</bpmn:definitions>", DI.replace(b'x="X"', b'x="100"'))
    there = MINI.replace(b"</bpmn:definitions>", DI.replace(b'x="X"', b'x="900"')).replace(b"\n    ", b"\n  ")
    result = versions.diff_descriptions(*(versions.describe([{"filename": "m.bpmn", "xml": x.decode()}])
                                          for x in (here, there)))
    assert (result["added"], result["removed"], result["changed"], result["unchanged"]) == ([], [], [], 14)


def test_versions_list_who_when_why_and_what_still_runs(two_versions: Database) -> None:
    db = two_versions
    done, still_open = Flow(db, "mini"), Flow(db, "mini")  # both on version 2
    deploy(db, v2_of(MINI))  # identical content is still a new version when not skipped
    Flow(db, "mini")
    done.complete("remote_fix", {"resolved": True, "method": "phone", "actions": "重启"}, "eng")
    done.complete("satisfaction", {"score": 5, "remaining_problem": False}, "requester")
    assert done.status() == "completed" and still_open.status() == "running"
    with db.transaction() as session:
        rows = versions.versions(session, "mini")
    assert [(r["version"], r["deployed_by"], r["comment"], r["running_instances"], r["is_newest"]) for r in rows] == [
        (3, None, None, 1, True), (2, "bob", "tighter", 1, False), (1, "alice", "first", 0, False)]
    assert all(r["process_id"] == "mini" and r["name"] == "迷你流程" and r["deployed_at"].endswith("+00:00")
               for r in rows)
    assert rows[0]["sha256"] == rows[1]["sha256"] != rows[2]["sha256"]


def test_rollback_deploys_the_old_xml_as_the_newest_version(two_versions: Database) -> None:
    db = two_versions
    on_v2 = Flow(db, "mini")
    with db.transaction() as session:
        result = versions.rollback(session, "mini", 1, user="carol", comment="v2 lost the call-back loop")
    assert (result.process_id, result.version, result.created) == ("mini", 3, True)
    with db.transaction() as session:
        assert versions.diff(session, "mini", 1, 3)["changed"] == []
        assert definitions.get_definition(session, "mini", 3).sources == definitions.get_definition(
            session, "mini", 1).sources
        newest = versions.versions(session, "mini")[0]
    assert (newest["deployed_by"], newest["comment"]) == ("carol", "rollback to version 1: v2 lost the call-back loop")
    assert on_v2.view()["version"] == 2  # running work stays on its version
    assert Flow(db, "mini").view()["version"] == 3


def test_rollback_checks_the_old_version_again(two_versions: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Forms removed since version 1 was deployed: it could not be worked any more.
    monkeypatch.setattr(validation.forms, "form_keys", lambda: frozenset({"request", "satisfaction"}))
    with pytest.raises(InvalidDiagram) as info, two_versions.transaction() as session:
        versions.rollback(session, "mini", 1)
    assert [p.element_id for p in info.value.problems] == ["remote_fix"]
    assert "form key 'resolution' has no definition" in info.value.problems[0].message


@pytest.mark.parametrize("call", [
    lambda s: versions.versions(s, "nope"),
    lambda s: versions.diff(s, "mini", 1, 9),
    lambda s: versions.diff(s, "mini", 0, 1),
    lambda s: versions.rollback(s, "mini", 7),
    lambda s: versions.diff(s, "nope", 1, 2),
])
def test_unknown_processes_and_versions_are_not_found(two_versions: Database, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound), two_versions.transaction() as session:
        call(session)
