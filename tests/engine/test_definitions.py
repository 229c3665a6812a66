"""Deploying diagrams: versions, safe XML, and refusals that name the element at fault."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.errors import InvalidDiagram
from engine.process import definitions
from engine.store.db import Database
from tests.support.flows import Flow

DIAGRAMS = Path(__file__).parent / "diagrams"
MINI = (DIAGRAMS / "mini.bpmn").read_bytes()


def deploy(db: Database, content: bytes, filename: str = "test.bpmn", **kwargs) -> definitions.DeployResult:
    with db.transaction() as session:
        return definitions.deploy(session, [definitions.SourceFile(filename, content)], **kwargs)


def refusal(db: Database, content: bytes) -> InvalidDiagram:
    with pytest.raises(InvalidDiagram) as info:
        deploy(db, content)
    return info.value


def test_each_deploy_is_the_next_version_and_keeps_the_xml(db: Database) -> None:
    first = deploy(db, MINI, user="owner", comment="first")
    second = deploy(db, MINI.replace("迷你流程".encode(), "迷你流程二".encode()), user="owner", comment="renamed")
    assert (first.version, second.version) == (1, 2)
    with db.transaction() as session:
        stored = definitions.get_definition(session, "mini", 1)
        newest = definitions.get_definition(session, "mini")
        assert stored.sources[0]["xml"].encode() == MINI
        assert (stored.deployed_by, stored.comment) == ("owner", "first")
        assert newest.version == 2 and newest.name == "迷你流程二"


def test_unchanged_redeploy_can_be_skipped(db: Database) -> None:
    deploy(db, MINI)
    again = deploy(db, MINI, skip_unchanged=True)
    assert (again.version, again.created) == (1, False)


def test_running_instance_stays_on_its_version(db: Database, make_user) -> None:
    make_user("requester", "requester")
    make_user("eng", "engineer")
    deploy(db, MINI)
    old = Flow(db, "mini")
    # Version 2 sends a resolved fix straight to the end: the callback and its gateway are gone.
    v2 = re.sub(rb'\s*<bpmn:(userTask id="satisfaction"|exclusiveGateway id="gw_remaining"|sequenceFlow id="flow_'
                rb'(callback|done)")[^>]*/>|\s*<bpmn:sequenceFlow id="flow_again".*?</bpmn:sequenceFlow>', b"", MINI,
                flags=re.S).replace(b'targetRef="satisfaction">', b'targetRef="end_done">')
    assert deploy(db, v2).version == 2
    new = Flow(db, "mini")
    done = {"resolved": True, "method": "phone", "actions": "重启服务"}
    old.complete("remote_fix", done, "eng")
    new.complete("remote_fix", done, "eng")
    assert old.open_elements() == ["satisfaction"] and old.view()["version"] == 1
    assert new.status() == "completed" and new.view()["version"] == 2


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p">&lol2;</bpmn:process>
</bpmn:definitions>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p" name="&xxe;"/>
</bpmn:definitions>"""


@pytest.mark.parametrize("content, expected", [
    (BILLION_LAUGHS, "DOCTYPE"),
    (EXTERNAL_ENTITY, "DOCTYPE"),
    (b"<bpmn:definitions", "not well-formed XML"),
    (b"<html/>", "not bpmn:definitions"),
    (MINI.replace(b'isExecutable="true"', b'isExecutable="false"'), 'isExecutable="false"'),
])
def test_unsafe_or_unrunnable_files_are_refused(sqlite_db: Database, content: bytes, expected: str) -> None:
    assert expected in str(refusal(sqlite_db, content))


def test_files_over_the_size_limit_are_refused(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(definitions, "MAX_FILE_BYTES", 1000)
    assert "the limit is 1000 bytes" in str(refusal(sqlite_db, MINI))


@pytest.mark.parametrize("old, new, element, message", [
    (b' camunda:candidateGroups="engineer"', b"", "remote_fix", "no candidate group"),
    (b' camunda:formKey="resolution"', b"", "remote_fix", "no form key"),
    (b'camunda:formKey="resolution"', b'camunda:formKey="no_such_form"', "remote_fix",
     "'no_such_form' has no definition"),
    (b' default="flow_retry"', b"", "gw_resolved", "without a condition"),
    (b"resolved == True", b"__import__('os').system('id')", "flow_ok", "not allowed"),
    (b"resolved == True", b"resolved ==", "flow_ok", "does not parse"),
    (b"resolved == True", b"().__class__.__bases__", "flow_ok", "Attribute is not allowed"),
])
def test_diagram_problems_name_the_element(sqlite_db: Database, old: bytes, new: bytes, element: str,
                                           message: str) -> None:
    assert old in MINI
    error = refusal(sqlite_db, MINI.replace(old, new, 1))
    assert [p.element_id for p in error.problems] == [element]
    assert message in error.problems[0].message
    assert element in str(error)


def test_spiffworkflow_parse_errors_become_problems(sqlite_db: Database) -> None:
    broken = MINI.replace(b'targetRef="gw_resolved"', b'targetRef="nowhere"')
    error = refusal(sqlite_db, broken)
    assert "nowhere" in str(error) or "flow_fix" in str(error)
