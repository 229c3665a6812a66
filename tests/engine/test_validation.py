"""Checking diagrams: the BPMN schema, opsflow's rules, SpiffWorkflow's parse; validate and deploy agree."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from lxml import etree

from engine.errors import InvalidDiagram, Problem
from engine.process import definitions, validation
from engine.store.db import Database

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = Path(__file__).parent / "diagrams"
MINI = (DIAGRAMS / "mini.bpmn").read_bytes()

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'id="defs" targetNamespace="http://opsflow.dev/test">\n')


def process(body: str, process_id: str = "p", executable: str = "true") -> str:
    return f'<bpmn:process id="{process_id}" name="测试" isExecutable="{executable}">\n{body}\n</bpmn:process>\n'


def document(*processes: str, extra: str = "") -> bytes:
    return (HEAD + extra + "".join(processes) + "</bpmn:definitions>\n").encode()


def straight(middle: str = "", *, flows: str = "") -> str:
    """start -> work (user task) -> end, plus whatever a test adds."""
    return f"""
    <bpmn:startEvent id="start" name="开始" camunda:formKey="request"/>
    <bpmn:userTask id="work" name="处理" camunda:formKey="resolution" camunda:candidateGroups="engineer"/>
    <bpmn:endEvent id="end" name="结束"/>
    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f_end" sourceRef="work" targetRef="end"/>
    {middle}{flows}"""


def check(content: bytes, filename: str = "test.bpmn", **kwargs) -> list[Problem]:
    return definitions.validate([definitions.SourceFile(filename, content)], **kwargs)


def where(problems: list[Problem]) -> list[str | None]:
    return [p.element_id for p in problems]


def deploy(db: Database, *files: tuple[str, bytes], **kwargs) -> definitions.DeployResult:
    with db.transaction() as session:
        return definitions.deploy(session, [definitions.SourceFile(n, c) for n, c in files], **kwargs)


def refusal(db: Database, *files: tuple[str, bytes], **kwargs) -> InvalidDiagram:
    with pytest.raises(InvalidDiagram) as info:
        deploy(db, *files, **kwargs)
    return info.value


# --- diagrams that must pass -------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted((ROOT / "bpmn").glob("*.bpmn")) + sorted(DIAGRAMS.glob("*.bpmn")),
                         ids=lambda p: p.name)
def test_bundled_and_test_diagrams_are_valid(path: Path) -> None:
    tree = definitions.load_xml(definitions.SourceFile(path.name, path.read_bytes()))
    assert validation.schema_problems(tree, path.name) == []
    assert check(path.read_bytes(), path.name) == []


def test_a_user_task_with_only_an_assignee_is_enough() -> None:
    content = MINI.replace(b'camunda:candidateGroups="engineer"', b'camunda:assignee="${initiator}"')
    assert check(content) == []


# --- opsflow's rules: validate and deploy report the same problems ------------------------------

ORPHAN = (b'<bpmn:endEvent id="end_done" name="\xe6\x9c\x8d\xe5\x8a\xa1\xe7\xbb\x93\xe6\x9d\x9f"/>',
          b'<bpmn:endEvent id="end_done" name="x"/><bpmn:userTask id="orphan" name="x" camunda:formKey="accept" '
          b'camunda:candidateGroups="engineer"/><bpmn:sequenceFlow id="flow_orphan" sourceRef="orphan" '
          b'targetRef="end_done"/>')


@pytest.mark.parametrize("old, new, expected", [
    (b'camunda:candidateGroups="engineer"', b'camunda:candidateGroups="engineer,nobody"',
     [("remote_fix", "candidate group 'nobody' is not an opsflow group")]),
    (b'camunda:candidateGroups="engineer"', b'camunda:candidateGroups="${group}"',
     [("remote_fix", "candidate group '${group}' is an expression")]),
    (b'camunda:assignee="${initiator}"', b'camunda:assignee="${boss}"',
     [("satisfaction", "assignee '${boss}' is an expression")]),
    (b'<bpmn:exclusiveGateway id="gw_resolved" name="\xe8\xa7\xa3\xe5\x86\xb3?" default="flow_retry"/>',
     b'<bpmn:inclusiveGateway id="gw_resolved" name="x"/>',
     [("gw_resolved", "without a condition that are not the default flow: flow_retry")]),
    (b'default="flow_retry"', b'default="flow_done"',
     [("gw_resolved", "default flow 'flow_done' does not leave this gateway"),
      ("gw_resolved", "without a condition that are not the default flow: flow_retry")]),
    (b'default="flow_done"', b'default="flow_again"',
     [("flow_again", "the default flow of a gateway must not have a condition"),
      ("gw_remaining", "without a condition that are not the default flow: flow_done")]),
    (b'<bpmn:sequenceFlow id="flow_callback" sourceRef="satisfaction" targetRef="gw_remaining"/>', b"",
     [("satisfaction", "dead end: this bpmn:userTask has no outgoing sequence flow"),
      ("gw_remaining", "unreachable: no path from a start event leads to this bpmn:exclusiveGateway"),
      ("end_done", "unreachable")]),
    (*ORPHAN, [("orphan", "unreachable: no path from a start event leads to this bpmn:userTask")]),
    (b"resolved == True", b"${resolved}", [("flow_ok", "'${resolved}' looks like a JUEL/FEEL expression")]),
    (b"resolved == True", b"=resolved", [("flow_ok", "looks like a JUEL/FEEL expression")]),
    (b"resolved == True", b"open('/etc/passwd')", [("flow_ok", "function 'open' is not allowed")]),
    (b'<bpmn:userTask id="remote_fix" name="\xe8\xbf\x9c\xe7\xa8\x8b\xe8\xa7\xa3\xe5\x86\xb3" '
     b'camunda:formKey="resolution" camunda:candidateGroups="engineer"/>',
     b'<bpmn:serviceTask id="remote_fix" name="x" camunda:class="com.example.Fix"/>',
     [("remote_fix", "bpmn:serviceTask is not supported: service tasks call external systems")]),
    (b'camunda:formKey="resolution" camunda:candidateGroups="engineer"',
     b'xmlns:flowable="http://flowable.org/bpmn" flowable:candidateGroups="management" flowable:formKey="f"',
     [("remote_fix", "no candidate group (camunda:candidateGroups) or assignee (found "
                     "flowable:candidateGroups='management'; opsflow reads camunda:candidateGroups)"),
      ("remote_fix", "no form key (camunda:formKey) (found flowable:formKey='f'")]),
])
def test_rule_problems_name_the_element(sqlite_db: Database, old: bytes, new: bytes,
                                        expected: list[tuple[str, str]]) -> None:
    assert old in MINI
    content = MINI.replace(old, new, 1)
    problems = check(content)
    assert len(problems) == len(expected), problems
    for problem, (element, message) in zip(problems, expected, strict=True):
        assert problem.element_id == element and message in problem.message, problem
        assert problem.filename == "test.bpmn"
    # deploy refuses with exactly the problems validate reports
    assert refusal(sqlite_db, ("test.bpmn", content)).problems == problems


def test_unsupported_elements_say_what_and_why() -> None:
    body = straight("""
    <bpmn:businessRuleTask id="decide" name="决策" camunda:decisionRef="invoice-classification"/>
    <bpmn:intermediateCatchEvent id="wait_mail" name="等邮件"><bpmn:messageEventDefinition/>
    </bpmn:intermediateCatchEvent>
    <bpmn:manualTask id="by_hand" name="手工"/>""", flows="""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="wait_mail"/>
    <bpmn:sequenceFlow id="f3" sourceRef="wait_mail" targetRef="by_hand"/>
    <bpmn:sequenceFlow id="f4" sourceRef="by_hand" targetRef="end"/>""")
    problems = check(document(process(body)))
    assert [(p.element_id, p.message.split(":")[0]) for p in problems] == [
        ("decide", "bpmn"), ("wait_mail", "message events are not supported (bpmn"), ("by_hand", "bpmn")]
    assert "DMN decision 'invoice-classification' (camunda:decisionRef)" in problems[0].message
    assert "bpmn:messageEventDefinition on bpmn:intermediateCatchEvent" in problems[1].message
    assert "use a bpmn:userTask" in problems[2].message


def test_a_data_store_is_named_not_reported_as_a_spiffworkflow_crash() -> None:
    content = document(process(straight()), extra='<bpmn:dataStore id="crm" name="CRM"/>\n')
    assert [(p.element_id, p.message) for p in check(content)] == [
        ("crm", "bpmn:dataStore is not supported: opsflow keeps process data in form fields")]


# --- structure: boundary events, sub-processes, links --------------------------------------------

BOUNDARY = """
    <bpmn:boundaryEvent id="late" name="超时" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT4H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="chase" name="催办" camunda:formKey="escalate" camunda:candidateGroups="service_manager"/>
    <bpmn:endEvent id="end_chased" name="已催办"/>"""


def test_boundary_events_are_reached_through_their_task(sqlite_db: Database) -> None:
    content = document(process(straight(BOUNDARY, flows="""
    <bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="chase"/>
    <bpmn:sequenceFlow id="f_chased" sourceRef="chase" targetRef="end_chased"/>""")))
    assert check(content) == []
    assert deploy(sqlite_db, ("b.bpmn", content)).version == 1


def test_a_boundary_event_without_a_way_on_is_a_dead_end() -> None:
    content = document(process(straight(BOUNDARY, flows="""
    <bpmn:sequenceFlow id="f_chased" sourceRef="chase" targetRef="end_chased"/>""")))
    assert [(p.element_id, p.message.split(":")[0]) for p in check(content)] == [
        ("late", "dead end"), ("chase", "unreachable"), ("end_chased", "unreachable")]


def test_a_boundary_event_on_a_missing_task_is_named() -> None:
    content = document(process(straight(BOUNDARY.replace('attachedToRef="work"', 'attachedToRef="ghost"'), flows="""
    <bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="chase"/>
    <bpmn:sequenceFlow id="f_chased" sourceRef="chase" targetRef="end_chased"/>""")))
    problems = check(content)
    assert problems[0] == Problem("late", "boundary event is attached to 'ghost', which is not an activity of the "
                                          "same (sub-)process", "test.bpmn")
    assert {p.element_id for p in problems} == {"late", "chase", "end_chased"}


def test_event_sub_processes_need_no_incoming_flow(sqlite_db: Database) -> None:
    content = document(process(straight("""
    <bpmn:subProcess id="on_timeout" name="超时处理" triggeredByEvent="true">
      <bpmn:startEvent id="timeout" name="超时" isInterrupting="false">
        <bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>
      </bpmn:startEvent>
      <bpmn:userTask id="warn" name="预警" camunda:formKey="escalate" camunda:candidateGroups="service_manager"/>
      <bpmn:endEvent id="warned" name="已预警"/>
      <bpmn:sequenceFlow id="t1" sourceRef="timeout" targetRef="warn"/>
      <bpmn:sequenceFlow id="t2" sourceRef="warn" targetRef="warned"/>
    </bpmn:subProcess>""")))
    assert check(content) == []
    assert deploy(sqlite_db, ("e.bpmn", content)).version == 1


def test_inside_an_embedded_sub_process_the_same_rules_hold() -> None:
    content = document(process("""
    <bpmn:startEvent id="start" name="开始"/>
    <bpmn:subProcess id="inner" name="内部">
      <bpmn:userTask id="step" name="步骤" camunda:formKey="accept" camunda:candidateGroups="service_desk"/>
      <bpmn:userTask id="stray" name="孤立" camunda:formKey="accept" camunda:candidateGroups="service_desk"/>
    </bpmn:subProcess>
    <bpmn:endEvent id="end" name="结束"/>
    <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="inner"/>
    <bpmn:sequenceFlow id="b" sourceRef="inner" targetRef="end"/>"""))
    problems = check(content)
    assert [(p.element_id, p.message) for p in problems] == [("inner", "this sub-process has no start event")]


def test_flows_may_not_cross_a_sub_process_border() -> None:
    content = document(process("""
    <bpmn:startEvent id="start" name="开始"/>
    <bpmn:subProcess id="inner" name="内部">
      <bpmn:startEvent id="inner_start" name="开始"/>
      <bpmn:endEvent id="inner_end" name="结束"/>
      <bpmn:sequenceFlow id="i1" sourceRef="inner_start" targetRef="inner_end"/>
    </bpmn:subProcess>
    <bpmn:endEvent id="end" name="结束"/>
    <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="inner_end"/>
    <bpmn:sequenceFlow id="b" sourceRef="inner" targetRef="end"/>"""))
    problems = check(content)
    assert problems[0] == Problem("a", "sequence flow target 'inner_end' is not a flow node of the same "
                                       "(sub-)process", "test.bpmn")
    assert "inner" in [p.element_id for p in problems if p.message.startswith("unreachable")]


def test_link_events_carry_the_path_on(sqlite_db: Database) -> None:
    content = document(process("""
    <bpmn:startEvent id="start" name="开始"/>
    <bpmn:intermediateThrowEvent id="go" name="去 A"><bpmn:linkEventDefinition name="A"/></bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="land" name="A"><bpmn:linkEventDefinition name="A"/></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end" name="结束"/>
    <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="go"/>
    <bpmn:sequenceFlow id="b" sourceRef="land" targetRef="end"/>"""))
    assert check(content) == []
    unlinked = content.replace(b'<bpmn:linkEventDefinition name="A"/></bpmn:intermediateCatchEvent>',
                               b'<bpmn:linkEventDefinition name="B"/></bpmn:intermediateCatchEvent>')
    assert where(check(unlinked)) == ["land", "end"]


def test_a_process_without_a_start_event_is_refused() -> None:
    content = document(process('<bpmn:endEvent id="end" name="结束"/>'))
    assert check(content) == [Problem("p", "the process has no start event", "test.bpmn")]


# --- expressions: timers, scripts, loops ---------------------------------------------------------

def timer_diagram(kind: str, expression: str) -> bytes:
    return document(process(straight(BOUNDARY.replace(
        '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT4H"</bpmn:timeDuration>',
        f"<bpmn:{kind}>{expression}</bpmn:{kind}>"), flows="""
    <bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="chase"/>
    <bpmn:sequenceFlow id="f_chased" sourceRef="chase" targetRef="end_chased"/>""")))


@pytest.mark.parametrize("kind, expression", [
    ("timeDuration", '"PT30M"'),
    ("timeDuration", '"P1DT2H"'),
    ("timeDuration", 'f"PT{sla_respond_minutes}M"'),
    ("timeDuration", "sla_resolve_due"),
    ("timeDate", '"2026-12-01T08:00:00+08:00"'),
    ("timeDate", "sla_resolve_warn"),
    ("timeCycle", '"R3/PT1H"'),
    ("timeCycle", '"R/2026-12-01T08:00:00+08:00/P1D"'),
    # ISO 8601 written without quotes, as other modelers write it, is that text (issue 10 item 9).
    ("timeDuration", "PT30M"),
    ("timeDuration", "P1D"),
    ("timeCycle", "R3/PT1H"),
    ("timeCycle", "R/PT10M"),
    ("timeDate", "2026-12-01T08:00:00"),
    ("timeDate", "2026-12-01T10:00:00Z"),
])
def test_timer_expressions_that_work(kind: str, expression: str) -> None:
    assert check(timer_diagram(kind, expression)) == []


@pytest.mark.parametrize("kind, expression, message", [
    ("timeDuration", "PT1H30", "timer timeDuration 'PT1H30' is not a valid ISO 8601 duration (e.g. PT30M, P1DT2H)"),
    ("timeDate", "2026-13-01T08:00:00", "'2026-13-01T08:00:00' is not a valid ISO 8601 date"),
    ("timeCycle", "R3/PT1X", "is not a valid ISO 8601 cycle"),
    ("timeCycle", '"R/PT0S"', "timer timeCycle 'R/PT0S' has a period of zero, so it would fall due at the same "
                              "instant forever; give a period longer than zero (e.g. R/PT1H)"),
    ("timeCycle", "R/PT0S", "timer timeCycle 'R/PT0S' has a period of zero"),
    ("timeCycle", '"R5/PT0M"', "has a period of zero"),
    ("timeCycle", '"R/2026-12-01T08:00:00+08:00/P0D"', "has a period of zero"),
    ("timeCycle", '"R0/PT1H"', "timer timeCycle 'R0/PT1H' repeats 0 times, so it never fires"),
    ("timeDuration", '"PT30X"', "timer timeDuration 'PT30X' is not a valid ISO 8601 duration (e.g. PT30M, P1DT2H)"),
    ("timeDuration", '"30M"', "'30M' is not a valid ISO 8601 duration"),
    ("timeDuration", '"P"', "'P' is not a valid ISO 8601 duration"),
    ("timeDate", '"2026-13-01"', "'2026-13-01' is not a valid ISO 8601 date"),
    ("timeDate", '"PT1H"', "'PT1H' is not a valid ISO 8601 date"),
    ("timeCycle", '"PT1H"', "'PT1H' is not a valid ISO 8601 cycle"),
    ("timeCycle", '"R3/PT1X"', "is not a valid ISO 8601 cycle"),
    ("timeCycle", '"R3"', "is not a valid ISO 8601 cycle"),
    ("timeDuration", "30", "timer timeDuration '30' must give ISO 8601 text"),
    ("timeDuration", "${due}", "looks like a JUEL/FEEL expression; opsflow expressions are Python over form fields "
                               '(e.g. "PT30M" or f"PT{minutes}M")'),
    ("timeDuration", "__import__('os')", "timer timeDuration: function '__import__' is not allowed"),
    ("timeDuration", "", "timer timeDuration is empty"),
])
def test_timer_expressions_that_cannot_work(kind: str, expression: str, message: str) -> None:
    problems = check(timer_diagram(kind, expression))
    assert len(problems) == 1 and problems[0].element_id == "late" and message in problems[0].message, problems


def test_a_timer_needs_a_time() -> None:
    content = timer_diagram("timeDuration", '"PT1H"').replace(b'<bpmn:timeDuration>"PT1H"</bpmn:timeDuration>', b"")
    assert check(content) == [Problem("late", "timer has no timeDate, timeDuration or timeCycle", "test.bpmn")]


def script_diagram(script: str, script_format: str = "python") -> bytes:
    return document(process(straight(f"""
    <bpmn:scriptTask id="calc" name="计算" scriptFormat="{script_format}"><bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>""", flows="""
    <bpmn:sequenceFlow id="f_calc" sourceRef="calc" targetRef="end"/>""").replace(
        'sourceRef="work" targetRef="end"', 'sourceRef="work" targetRef="calc"')))


@pytest.mark.parametrize("script, script_format, message", [
    ("total = 1 + 2\nlabel = f'{total} h'", "python", None),
    ("x = __import__('os').system('id')", "python", "is not allowed (allowed: abs, all"),
    ("import os", "python", "script: Import is not allowed"),
    ("def f(): pass", "python", "script: FunctionDef is not allowed"),
    ("x = 1", "groovy", "script format 'groovy' is not supported"),
])
def test_scripts_go_through_the_restricted_evaluator(script: str, script_format: str, message: str | None) -> None:
    problems = check(script_diagram(script, script_format))
    assert [(p.element_id, message in p.message) for p in problems] == ([] if message is None else [("calc", True)])


def test_multi_instance_expressions_are_checked() -> None:
    content = MINI.replace(b'camunda:candidateGroups="engineer"/>', b'camunda:candidateGroups="engineer">'
                           b"<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>().__class__"
                           b"</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>", 1)
    problems = check(content)
    assert where(problems) == ["remote_fix"] and "loopCardinality: Attribute is not allowed" in problems[0].message


# --- schema --------------------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, element, message", [
    (b'<bpmn:userTask id="remote_fix"', b'<bpmn:userTask completionQuantity="many" id="remote_fix"', "remote_fix",
     "'many' is not a valid value of the atomic type 'xs:integer'"),
    (b'<bpmn:endEvent id="end_done"', b'<bpmn:endEvent id="end_done" color="red"', "end_done",
     "The attribute 'color' is not allowed"),
    (b'<bpmn:endEvent id="end_done" name="\xe6\x9c\x8d\xe5\x8a\xa1\xe7\xbb\x93\xe6\x9d\x9f"/>',
     b'<bpmn:endEvent id="end_done" name="x"><bpmn:incoming>flow_done</bpmn:incoming>'
     b"<bpmn:documentation>late</bpmn:documentation></bpmn:endEvent>", "end_done",
     "Element 'bpmn:documentation': This element is not expected"),
])
def test_schema_errors_name_the_nearest_element(sqlite_db: Database, old: bytes, new: bytes, element: str,
                                                message: str) -> None:
    assert old in MINI
    content = MINI.replace(old, new, 1)
    for variant in (content, content.replace(b"\n", b" ")):  # all on one line: placed by path, not line
        problems = check(variant)
        assert problems[0].element_id == element, problems
        assert problems[0].message.startswith("BPMN 2.0 schema: ") and message in problems[0].message, problems
    assert refusal(sqlite_db, ("test.bpmn", content)).problems[0] == check(content)[0]


def test_the_schema_is_loaded_from_local_files_only(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    resolve = validation._LocalSchemaResolver.resolve

    def recording(self, url, public_id, context):  # type: ignore[no-untyped-def]
        asked.append(url)
        return resolve(self, url, public_id, context)

    monkeypatch.setattr(validation._LocalSchemaResolver, "resolve", recording)
    built: list[etree.XMLSchema] = []
    thread = threading.Thread(target=lambda: built.append(validation.bpmn_schema()))  # a fresh per-thread cache
    thread.start()
    thread.join()
    assert built and {Path(url).name for url in asked} == {"BPMN20.xsd", "BPMNDI.xsd", "DC.xsd", "DI.xsd",
                                                           "Semantic.xsd"}
    assert all(Path(url).parent == validation._SCHEMA_DIR for url in asked)


def test_a_schema_that_imports_from_the_network_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "BPMN20.xsd").write_text(
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x">'
        '<xsd:import namespace="urn:y" schemaLocation="http://example.invalid/y.xsd"/></xsd:schema>')
    monkeypatch.setattr(validation, "_SCHEMA_DIR", tmp_path)
    errors: list[BaseException] = []

    def build() -> None:
        try:
            validation.bpmn_schema()
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=build)
    thread.start()
    thread.join()
    assert len(errors) == 1 and "http://example.invalid/y.xsd" in str(errors[0])


def test_schema_location_hints_in_a_diagram_are_ignored(tmp_path: Path) -> None:
    broken = tmp_path / "evil.xsd"
    broken.write_text("<not-a-schema/>")
    content = MINI.replace(b'id="mini_defs"', f'id="mini_defs" xsi:schemaLocation="http://www.omg.org/spec/BPMN/'
                                               f'20100524/MODEL file://{broken}"'.encode())
    assert check(content) == []


# --- several files, several processes, DMN -------------------------------------------------------

TWO = document(process(straight(), "a"), process(straight().replace('id="', 'id="b_').replace('Ref="', 'Ref="b_'), "b"))


def test_a_file_with_several_processes_needs_a_choice(sqlite_db: Database) -> None:
    error = refusal(sqlite_db, ("two.bpmn", TWO))
    assert error.problems == [Problem(None, "several executable processes (a, b); choose one with --process",
                                      "two.bpmn")]
    assert deploy(sqlite_db, ("two.bpmn", TWO), process_id="b").process_id == "b"
    assert check(TWO) == [] and check(TWO, process_id="a") == []
    assert check(TWO, process_id="c") == [Problem("c", "no executable process with this id in the files given",
                                                  "test.bpmn")]


CALLER = document(process(straight().replace(
    '<bpmn:userTask id="work" name="处理" camunda:formKey="resolution" camunda:candidateGroups="engineer"/>',
    '<bpmn:callActivity id="work" name="子流程" calledElement="sub"/>'), "main"))
CALLED = document(process(straight().replace('id="', 'id="s_').replace('Ref="', 'Ref="s_'), "sub"))


def test_called_processes_come_from_the_other_files(sqlite_db: Database) -> None:
    problems = check(CALLER, "main.bpmn")
    assert [(p.element_id, p.message) for p in problems] == [
        ("work", "calls process 'sub', which is in none of the files given; give its file too "
                 "(deploy main.bpmn called.bpmn)")]
    assert refusal(sqlite_db, ("main.bpmn", CALLER)).problems == problems
    both = [definitions.SourceFile("main.bpmn", CALLER), definitions.SourceFile("sub.bpmn", CALLED)]
    assert definitions.validate(both) == []
    assert deploy(sqlite_db, ("main.bpmn", CALLER), ("sub.bpmn", CALLED)).process_id == "main"
    # the called file's own rules are checked too
    broken = CALLED.replace(b'camunda:candidateGroups="engineer"', b'camunda:candidateGroups="nobody"')
    error = refusal(sqlite_db, ("main.bpmn", CALLER), ("sub.bpmn", broken))
    assert [(p.filename, p.element_id) for p in error.problems] == [("sub.bpmn", "s_work")]


DMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="urn:d">
  <decision id="classify" name="classify"/>
</definitions>"""


def test_a_business_rule_task_with_its_dmn_file_gets_a_clear_refusal(sqlite_db: Database) -> None:
    main = document(process(straight().replace(
        '<bpmn:userTask id="work" name="处理" camunda:formKey="resolution" camunda:candidateGroups="engineer"/>',
        '<bpmn:businessRuleTask id="work" name="分类" camunda:decisionRef="classify"/>')))
    error = refusal(sqlite_db, ("main.bpmn", main), ("rules.dmn", DMN))
    assert error.problems == [Problem(None, "this is a DMN file (decision tables); opsflow does not run DMN "
                                            "decisions, so neither DMN files nor the business rule tasks that "
                                            "call them can be deployed", "rules.dmn")]
    problems = definitions.validate([definitions.SourceFile("main.bpmn", main),
                                     definitions.SourceFile("rules.dmn", DMN)])
    assert where(problems) == [None, "work"]
    assert "it calls DMN decision 'classify'" in problems[1].message


# --- SpiffWorkflow's parse, and what never escapes ------------------------------------------------

def test_spiffworkflow_refusals_name_the_element_and_its_tag(sqlite_db: Database) -> None:
    # Statically fine, but SpiffWorkflow does not split a path at a task.
    content = MINI.replace(b'<bpmn:sequenceFlow id="flow_start"',
                           b'<bpmn:sequenceFlow id="flow_split" sourceRef="remote_fix" targetRef="end_done"/>'
                           b'<bpmn:sequenceFlow id="flow_start"')
    problems = check(content)
    assert where(problems) == ["remote_fix"]
    assert problems[0].message.startswith("SpiffWorkflow cannot parse bpmn:userTask: Multiple outgoing flows")
    assert refusal(sqlite_db, ("test.bpmn", content)).problems == problems


@pytest.mark.parametrize("content, message", [
    (b"", "not well-formed XML"),
    (b"<bpmn:definitions", "not well-formed XML"),
    (b"<html/>", "not bpmn:definitions"),
    (MINI.replace(b'isExecutable="true"', b'isExecutable="false"'), 'nothing to run: its processes (mini) are marked'),
    (document(), "nothing to run: it contains no bpmn:process"),
])
def test_validate_reports_instead_of_raising(content: bytes, message: str) -> None:
    problems = check(content)
    assert len(problems) == 1 and message in problems[0].message and problems[0].filename == "test.bpmn"


def test_validate_reports_every_file() -> None:
    problems = definitions.validate([definitions.SourceFile("good.bpmn", MINI), definitions.SourceFile("bad.bpmn",
                                                                                                        b"<x")])
    assert [(p.filename, p.message[:19]) for p in problems] == [("bad.bpmn", "not well-formed XML")]
    assert definitions.validate([]) == [Problem(None, "no BPMN file given")]
    assert [p.message for p in definitions.validate([definitions.SourceFile("a.bpmn", MINI)] * 2)] == [
        "two files of this name were given"]


def test_check_rules_still_checks_one_file() -> None:
    tree = definitions.load_xml(definitions.SourceFile("t.bpmn", MINI.replace(b'"engineer"', b'"nobody"')))
    assert where(definitions.check_rules(tree, "t.bpmn")) == ["remote_fix"]
    assert definitions.check_rules(definitions.load_xml(definitions.SourceFile("t.bpmn", MINI)), "t.bpmn") == []
