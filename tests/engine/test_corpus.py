"""Foreign diagrams (Camunda, Flowable, bpmn.io, Signavio, the BPMN MIWG suite ...): each one deploys or is
refused with problems that name what is wrong; nothing else escapes, nothing hangs, memory stays bounded.

The corpus lives outside the repository (../shared/corpus, see its SOURCES.md). EXPECTED records what
happens to each known file as it is, and after `adapt` gives its user tasks an opsflow form and group
(what a person would do first when bringing a diagram over).
"""
from __future__ import annotations

import os
import signal
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine import users
from engine.errors import InvalidDiagram, Problem
from engine.process import definitions, runtime, validation
from engine.store.db import Database

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
TIME_LIMIT_S = 10
MEMORY_LIMIT_BYTES = 200 * 1024 * 1024
_B = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"

# What refuses each file: a piece of the first problem's message.
NOT_EXECUTABLE = 'are marked isExecutable="false"'
SEVERAL = "several executable processes"
MESSAGE = "message events are not supported"
SIGNAL = "signal events are not supported"
SERVICE = "bpmn:serviceTask is not supported"
SEND = "bpmn:sendTask is not supported"
MANUAL = "bpmn:manualTask is not supported"
AD_HOC = "bpmn:adHocSubProcess is not supported"
DATA_STORE = "bpmn:dataStore is not supported"
DMN = "this is a DMN file"
SCHEMA = "BPMN 2.0 schema:"
NO_START = "the process has no start event"
NO_GROUP = "user task has no candidate group"
NO_FORM = "has no definition in forms/"
DEPLOYS = None

MIWG = "bpmn-miwg-test-suite/"
# file -> (as it is, after adapt)
EXPECTED: dict[str, tuple[str | None, str | None]] = {
    "bpmn-js-examples/kitchen-sink.bpmn": (SCHEMA, SCHEMA),
    "bpmn-js-examples/nested-subprocesses.bpmn": (NO_GROUP, DEPLOYS),
    "bpmn-js-examples/pizza-collaboration.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE),
    "bpmn-js-examples/transaction-boundaries.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE),
    MIWG + "ADONIS_17.0/C.3.0-export.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE),
    MIWG + "ARIS_10.2025.07/B.2.0-export.bpmn": (SEVERAL, SEVERAL),
    MIWG + "ARIS_10.2025.07/C.3.0-export.bpmn": (MESSAGE, MESSAGE),
    MIWG + "Activiti_Designer_5.14.1/A.3.0-export.bpmn": (MESSAGE, MESSAGE),
    MIWG + "Bizagi_Modeler_2.8.0.8/A.3.0-roundtrip.bpmn": (NO_START, NO_START),
    MIWG + "Bizagi_Modeler_2.8.0.8/B.1.0-roundtrip.bpmn": (SCHEMA, SCHEMA),
    MIWG + "Camunda_Eclipse_Plugin_3.0.0/C.3.0-export.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE),
    MIWG + "Cardanit_prev._BeePMN_4.9.1/C.3.0-export.bpmn": (MESSAGE, MESSAGE),
    MIWG + "Enterprise_Architect_12.0.1207/A.3.0-roundtrip.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE),
    **{MIWG + f"Reference/{name}.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE)
       for name in ("A.1.0", "A.2.0", "A.2.1", "A.3.0", "A.4.0", "A.4.1", "B.1.0", "B.2.0", "C.2.0", "C.8.0")},
    MIWG + "Reference/C.1.0.bpmn": (MESSAGE, MESSAGE),
    MIWG + "Reference/C.1.1.bpmn": (DATA_STORE, DATA_STORE),
    MIWG + "Reference/C.3.0.bpmn": (MESSAGE, MESSAGE),
    MIWG + "Reference/C.4.0.bpmn": (SEVERAL, SEVERAL),
    MIWG + "Reference/C.5.0.bpmn": (SEVERAL, SEVERAL),
    MIWG + "Reference/C.6.0.bpmn": (MESSAGE, MESSAGE),
    MIWG + "Reference/C.7.0.bpmn": (SERVICE, SERVICE),
    MIWG + "Reference/C.8.1.bpmn": (SERVICE, SERVICE),
    MIWG + "Reference/C.9.0.bpmn": (MESSAGE, MESSAGE),
    MIWG + "Reference/C.9.1.bpmn": (SEND, SEND),
    MIWG + "Reference/C.9.2.bpmn": (MESSAGE, MESSAGE),
    MIWG + "SAP_Signavio_Process_Manager_19.9.0/B.2.0-export.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE),
    MIWG + "SAP_Signavio_Process_Manager_19.9.0/C.1.1-export.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE),
    MIWG + "SAP_Signavio_Process_Manager_19.9.0/C.3.0-export.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE),
    MIWG + "Trisotech_Workflow_Modeler_12.6.3/C.3.0-export.bpmn": (MESSAGE, MESSAGE),
    MIWG + "Trisotech_Workflow_Modeler_12.6.3/C.9.1-export.bpmn": (SEND, SEND),
    MIWG + "Visual_Paradigm_11.1/A.3.0-roundtrip.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE),
    MIWG + "Yaoqiang_BPMN_Editor_4.0/B.1.0-export.bpmn": (SEVERAL, SEVERAL),
    MIWG + "bpmn.io_Camunda_Modeler_18.6.1/B.2.0-export.bpmn": (SIGNAL, SIGNAL),
    MIWG + "bpmn.io_Camunda_Modeler_18.6.1/C.3.0-export.bpmn": (MESSAGE, MESSAGE),
    MIWG + "bpmn.io_Camunda_Modeler_18.6.1/C.9.1-export.bpmn": (SEND, SEND),
    "bpmn-moddle/bizagi-nested-ns-definition.bpmn": (SEVERAL, SEVERAL),
    "bpmn-moddle/case-agile-local-ns-declaration.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE),
    "bpmn-moddle/signavio-complex-no-extensions.bpmn": (NOT_EXECUTABLE, NOT_EXECUTABLE),
    "bpmn-moddle/yaoqiang-event-definitions.bpmn": (SIGNAL, SIGNAL),
    "camunda-8-tutorials/AI Email Support Agent.bpmn": (AD_HOC, AD_HOC),
    "camunda-bpm-examples/TwitterDemoProcess.bpmn": (SERVICE, SERVICE),
    "camunda-bpm-examples/camunda-testing-job-announcement-publication.bpmn": (SERVICE, SERVICE),
    "camunda-bpm-examples/camunda-testing-job-announcement.bpmn": (SERVICE, SERVICE),
    "camunda-bpm-examples/dinnerDecisions.dmn": (DMN, DMN),
    "camunda-bpm-examples/invoiceApproval.bpmn": (NO_FORM, DEPLOYS),
    "camunda-bpm-examples/invoicePayment.bpmn": (NO_GROUP, DEPLOYS),
    "camunda-bpm-examples/invokeRestService.bpmn": (SERVICE, SERVICE),
    "camunda-bpm-examples/loan-granting.bpmn": (SERVICE, SERVICE),
    "camunda-bpm-examples/order-handling.bpmn": (SERVICE, SERVICE),
    "camunda-bpm-examples/process.bpmn": (SERVICE, SERVICE),
    "camunda-bpm-platform/check-order.dmn": (DMN, DMN),
    "camunda-bpm-platform/invoice.v2.bpmn": (DATA_STORE, DATA_STORE),
    "camunda-bpm-platform/invoiceBusinessDecisions.dmn": (DMN, DMN),
    "camunda-bpm-platform/reviewInvoice.bpmn": (NO_FORM, DEPLOYS),
    "flowable-examples/VacationRequest.bpmn20.xml": (MANUAL, MANUAL),
    "flowable-examples/Vacation_request.bpmn20.xml": (SERVICE, SERVICE),
    "flowable-examples/benchmark-process.bpmn20.xml": (SERVICE, SERVICE),
    "flowable-examples/call-semantic-analysis.bpmn20.xml": (SERVICE, SERVICE),
    "flowable-examples/loan.bpmn": (SERVICE, SERVICE),
    "flowable-examples/my-process.bpmn20.xml": (SERVICE, SERVICE),
    "flowable-examples/risk_rating_spec_example.dmn": (DMN, DMN),
    "flowable-examples/test-process.bpmn20.xml": (SERVICE, SERVICE),
    "flowable-examples/timer.bpmn20.xml": (NO_GROUP, DEPLOYS),
}
# Problems about a whole file rather than one element.
FILE_LEVEL = (NOT_EXECUTABLE, SEVERAL, DMN, "nothing to run", "not well-formed XML", "not bpmn:definitions",
              "the limit is", "DOCTYPE")


def _corpus_files() -> list[Any]:
    if not CORPUS.is_dir():
        return [pytest.param(None, id="corpus-missing")]
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    return [pytest.param(p, id=str(p.relative_to(CORPUS))) for p in files]


FILES = _corpus_files()


def _need(path: Path | None) -> Path:
    if path is None:
        message = f"the BPMN corpus is missing: expected it at {CORPUS}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextmanager
def limits() -> Iterator[None]:
    """Fail instead of hanging (SIGALRM), and keep the peak of Python allocations under the limit."""
    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"took longer than {TIME_LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert peak < MEMORY_LIMIT_BYTES, f"peak {peak / 2**20:.0f} MiB"


def assert_clear(error: InvalidDiagram, filename: str) -> None:
    """Every problem belongs to the file and names an element, unless it is about the whole file."""
    assert error.problems
    for problem in error.problems:
        assert problem.filename == filename and problem.message, problem
        assert problem.element_id or any(kind in problem.message for kind in FILE_LEVEL), problem
        if "is not supported: " in problem.message or "events are not supported (" in problem.message:
            assert "bpmn:" in problem.message, problem  # an unsupported element is named by its tag too
    assert str(error.problems[0]) in str(error)
    if SEVERAL in error.problems[0].message:
        assert "choose one with --process" in error.problems[0].message


def deploy_or_refuse(db: Database, filename: str, content: bytes) -> definitions.DeployResult | InvalidDiagram:
    with limits():  # refusals are measured too: nothing but a timeout crosses it
        try:
            with db.transaction() as session:
                return definitions.deploy(session, [definitions.SourceFile(filename, content)], user="corpus")
        except InvalidDiagram as error:
            refused = error
    assert_clear(refused, filename)
    return refused


def check_expected(outcome: definitions.DeployResult | InvalidDiagram, expected: str | None) -> None:
    if expected is DEPLOYS:
        assert isinstance(outcome, definitions.DeployResult), outcome
    else:
        assert isinstance(outcome, InvalidDiagram), f"deployed, expected a refusal: {expected}"
        assert expected in outcome.problems[0].message, outcome.problems[0]


@pytest.mark.parametrize("path", FILES)
def test_a_foreign_file_deploys_or_is_refused_clearly(sqlite_db: Database, path: Path | None) -> None:
    path = _need(path)
    outcome = deploy_or_refuse(sqlite_db, path.name, path.read_bytes())
    relative = str(path.relative_to(CORPUS))
    if relative in EXPECTED:
        check_expected(outcome, EXPECTED[relative][0])


def adapt(content: bytes) -> bytes:
    """Give every user task an opsflow form and group, drop foreign start forms, make timers opsflow timers."""
    tree = definitions.load_xml(definitions.SourceFile("foreign.bpmn", content))
    root = tree.getroot()
    for task in root.iter(_B + "userTask"):
        for name in list(task.attrib):
            if etree.QName(name).localname in ("assignee", "candidateGroups", "candidateUsers", "formKey"):
                del task.attrib[name]
        task.set(_CAMUNDA + "formKey", "resolution")
        task.set(_CAMUNDA + "candidateGroups", "engineer")
    for start in root.iter(_B + "startEvent"):
        start.attrib.pop(_CAMUNDA + "formKey", None)
    for kind, expression in (("timeDate", '"2030-01-01T08:00:00+08:00"'), ("timeDuration", '"PT1H"'),
                             ("timeCycle", '"R3/PT1H"')):
        for timer in root.iter(_B + kind):
            timer.text = expression
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("path", FILES)
def test_an_adapted_foreign_file_deploys_and_runs_or_is_refused_clearly(sqlite_db: Database,
                                                                        path: Path | None) -> None:
    path = _need(path)
    try:
        content = adapt(path.read_bytes())
    except InvalidDiagram as error:  # not BPMN at all: nothing to adapt
        assert_clear(error, "foreign.bpmn")
        outcome: definitions.DeployResult | InvalidDiagram = error
    else:
        outcome = deploy_or_refuse(sqlite_db, path.name, content)
    relative = str(path.relative_to(CORPUS))
    if relative in EXPECTED:
        check_expected(outcome, EXPECTED[relative][1])
    if isinstance(outcome, definitions.DeployResult):
        with sqlite_db.transaction() as session:
            users.create_user(session, username="starter", password="pw", groups=["requester"])
            started = runtime.start_instance(session, process_id=outcome.process_id, data={},
                                             actor=users.actor(session, "starter"))
        assert started.status == "running" and started.new_tasks
        assert {task["group"] for task in started.new_tasks} == {"engineer"}


@pytest.mark.parametrize("path", FILES)
def test_spiffworkflow_failures_on_foreign_processes_become_problems(path: Path | None) -> None:
    """Past opsflow's rules, straight into SpiffWorkflow's parser, every process made executable."""
    path = _need(path)
    content = path.read_bytes().replace(b'isExecutable="false"', b'isExecutable="true"')
    source = definitions.SourceFile(path.name, content)
    with limits():
        problems = definitions.validate([source])
        try:
            tree = definitions.load_xml(source)
        except InvalidDiagram as error:
            assert_clear(error, path.name)
            return
        for process_id in (p.get("id") for p in tree.getroot().iterfind("bpmn:process", definitions.NS)):
            try:
                definitions.parse([source], process_id=process_id, apply_rules=False)
            except InvalidDiagram as error:
                assert all(isinstance(p, Problem) and p.filename == path.name for p in error.problems)
    assert all(p.filename == path.name and p.message for p in problems)


def _corpus(relative: str) -> Path:
    path = _need(CORPUS if CORPUS.is_dir() else None) / relative
    if not path.is_file():
        pytest.skip(f"{relative} is not in the corpus")
    return path


def test_an_invoice_with_its_called_process_and_dmn_is_refused_naming_each_part(sqlite_db: Database) -> None:
    names = ["invoice.v2.bpmn", "reviewInvoice.bpmn", "invoiceBusinessDecisions.dmn"]
    sources = [definitions.SourceFile(n, _corpus(f"camunda-bpm-platform/{n}").read_bytes()) for n in names]
    with pytest.raises(InvalidDiagram) as info, sqlite_db.transaction() as session:
        definitions.deploy(session, sources)
    assert [(p.filename, p.message[:18]) for p in info.value.problems] == [
        ("invoiceBusinessDecisions.dmn", "this is a DMN file")]
    problems = definitions.validate(sources)
    assert ("invoice.v2.bpmn", "assignApprover") in {(p.filename, p.element_id) for p in problems}
    assert any("calls DMN decision 'invoice-assign-approver'" in p.message for p in problems)
    # the call activity finds ReviewInvoice in the second file: no "not in the files given"
    assert not any("which is in none of the files given" in p.message for p in problems)


def test_a_file_with_several_processes_can_be_deployed_one_process_at_a_time(sqlite_db: Database) -> None:
    path = _corpus(MIWG + "Reference/C.5.0.bpmn")
    source = definitions.SourceFile(path.name, path.read_bytes())
    first = validation.executable_process_ids(definitions.load_xml(source))[0]
    with pytest.raises(InvalidDiagram) as info, sqlite_db.transaction() as session:
        definitions.deploy(session, [source], process_id=first)
    assert SEVERAL not in str(info.value) and info.value.process_id == first


def test_a_missing_corpus_fails_in_ci_and_is_skipped_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="the BPMN corpus is missing"):
        _need(None)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="the BPMN corpus is missing"):
        _need(None)
