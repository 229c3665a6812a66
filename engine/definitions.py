"""Process definitions: safe XML loading, SpiffWorkflow parsing, opsflow's rules, versioned deploys.

A deploy stores the XML exactly as given as version N+1 of its process; parsed specs are cached
per definition id, since a deployed version never changes.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, UserTaskParser
from SpiffWorkflow.camunda.specs.user_task import UserTask as CamundaUserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import forms
from engine import clock, expressions
from engine.errors import ExpressionRefused, InvalidDiagram, NotFound, Problem
from engine.models import ProcessDefinition

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ELEMENTS = 20_000

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_MODEL_NS}
_CAMUNDA = f"{{{CAMUNDA_MODEL_NS}}}"


@dataclass(frozen=True)
class SourceFile:
    filename: str
    content: bytes


@dataclass
class ParsedDefinition:
    """What the runtime needs of a deployed version, parsed once per process."""

    definition_id: int
    process_id: str
    version: int
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    element_names: dict[str, str] = field(default_factory=dict)


class _OpsflowUserTaskParser(UserTaskParser):
    """Camunda's parser ignores candidateGroups and assignee; keep them as task extensions."""

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        extensions: dict[str, Any] = super().parse_extensions(node)
        for attribute in ("candidateGroups", "assignee", "formKey"):
            value = self.node.get(_CAMUNDA + attribute)
            if value:
                extensions[attribute] = value.strip()
        return extensions


class OpsflowParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (_OpsflowUserTaskParser, CamundaUserTask),
    }


_XML_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)
_local = threading.local()


def _xml_parser() -> etree.XMLParser:
    # lxml parsers are not thread-safe; one per thread.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(**_XML_PARSER_OPTIONS)
    return parser


def load_xml(source: SourceFile) -> etree._ElementTree:
    """Parse untrusted XML: size-limited, no DTD or entities, no network."""
    if len(source.content) > MAX_FILE_BYTES:
        raise InvalidDiagram([Problem(None, f"file is {len(source.content)} bytes; the limit is "
                                            f"{MAX_FILE_BYTES} bytes", source.filename)])
    head = source.content[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in source.content.lower():
        raise InvalidDiagram([Problem(None, "a DOCTYPE or ENTITY declaration is not allowed in BPMN files",
                                      source.filename)])
    try:
        tree = etree.ElementTree(etree.fromstring(source.content, _xml_parser()))
    except etree.XMLSyntaxError as exc:
        raise InvalidDiagram([Problem(None, f"not well-formed XML: {exc}", source.filename)]) from None
    root = tree.getroot()
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise InvalidDiagram([Problem(None, f"root element is {root.tag!r}, not bpmn:definitions "
                                            "(is this a BPMN 2.0 file?)", source.filename)])
    count = sum(1 for _ in root.iter())
    if count > MAX_ELEMENTS:
        raise InvalidDiagram([Problem(None, f"{count} XML elements; the limit is {MAX_ELEMENTS}", source.filename)])
    return tree


def _check_expression(problems: list[Problem], element_id: str | None, text: str | None, what: str,
                      filename: str, mode: str = "eval") -> None:
    try:
        expressions.check(text or "", mode=mode)
    except ExpressionRefused as exc:
        problems.append(Problem(element_id, f"{what}: {exc.message}", filename))


def check_rules(tree: etree._ElementTree, filename: str, *, form_keys: frozenset[str] | None = None) -> list[Problem]:
    """opsflow's own rules over one file; every problem names the element at fault."""
    problems: list[Problem] = []
    known_forms = forms.form_keys() if form_keys is None else form_keys
    root = tree.getroot()
    for process in root.iterfind("bpmn:process", NS):
        if process.get("isExecutable", "true") != "true":
            continue
        flows = {flow.get("id"): flow for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow")}
        for task in process.iter(f"{{{BPMN_NS}}}userTask"):
            task_id = task.get("id")
            if not task.get(_CAMUNDA + "candidateGroups") and not task.get(_CAMUNDA + "assignee"):
                problems.append(Problem(task_id, "user task has no candidate group (camunda:candidateGroups)",
                                        filename))
            form_key = task.get(_CAMUNDA + "formKey")
            if not form_key:
                problems.append(Problem(task_id, "user task has no form key (camunda:formKey)", filename))
            elif form_key not in known_forms:
                problems.append(Problem(task_id, f"form key {form_key!r} has no definition in forms/", filename))
        for start in process.iterfind("bpmn:startEvent", NS):
            form_key = start.get(_CAMUNDA + "formKey")
            if form_key and form_key not in known_forms:
                problems.append(Problem(start.get("id"), f"form key {form_key!r} has no definition in forms/",
                                        filename))
        for tag in ("exclusiveGateway", "inclusiveGateway"):
            for gateway in process.iter(f"{{{BPMN_NS}}}{tag}"):
                outgoing = [flow for flow in flows.values() if flow.get("sourceRef") == gateway.get("id")]
                if len(outgoing) < 2:
                    continue
                default = gateway.get("default")
                unconditioned = [f.get("id") for f in outgoing
                                 if f.find("bpmn:conditionExpression", NS) is None and f.get("id") != default]
                if unconditioned:
                    problems.append(Problem(gateway.get("id"), "outgoing flows without a condition that are not "
                                            f"the default flow: {', '.join(unconditioned)}", filename))
        for flow in flows.values():
            condition = flow.find("bpmn:conditionExpression", NS)
            if condition is not None:
                _check_expression(problems, flow.get("id"), condition.text, "condition", filename)
        for script_task in process.iter(f"{{{BPMN_NS}}}scriptTask"):
            script = script_task.find("bpmn:script", NS)
            _check_expression(problems, script_task.get("id"), script.text if script is not None else "",
                              "script", filename, mode="exec")
        for timer in process.iter(f"{{{BPMN_NS}}}timerEventDefinition"):
            event = timer.getparent()
            for child in timer:
                _check_expression(problems, event.get("id"), child.text, "timer expression", filename)
    return problems


def _executable_process_ids(tree: etree._ElementTree) -> list[str]:
    return [p.get("id") for p in tree.getroot().iterfind("bpmn:process", NS) if p.get("isExecutable", "true") == "true"]


Parsed = tuple[str, BpmnProcessSpec, dict[str, BpmnProcessSpec], dict[str, etree._ElementTree]]


def parse(sources: list[SourceFile], *, process_id: str | None = None,
          form_keys: frozenset[str] | None = None, apply_rules: bool = True) -> Parsed:
    """Load, check and parse; returns (process id, spec, subprocess specs, trees) or raises InvalidDiagram."""
    if not sources:
        raise InvalidDiagram([Problem(None, "no BPMN file given")])
    trees = {s.filename: load_xml(s) for s in sources}
    main_name = sources[0].filename
    main_tree = trees[main_name]
    candidates = _executable_process_ids(main_tree)
    if process_id is None:
        if not candidates:
            all_ids = [p.get("id") for p in main_tree.getroot().iterfind("bpmn:process", NS)]
            detail = (f"its processes ({', '.join(all_ids)}) are marked isExecutable=\"false\""
                      if all_ids else "it contains no bpmn:process")
            raise InvalidDiagram([Problem(None, f"nothing to run: {detail}", main_name)])
        if len(candidates) > 1:
            raise InvalidDiagram([Problem(None, "several executable processes "
                                                f"({', '.join(candidates)}); choose one with --process", main_name)])
        process_id = candidates[0]
    elif process_id not in candidates:
        raise InvalidDiagram([Problem(process_id, "no executable process with this id in the main file", main_name)])

    problems = ([p for name, tree in trees.items() for p in check_rules(tree, name, form_keys=form_keys)]
                if apply_rules else [])
    if problems:
        raise InvalidDiagram(problems, process_id=process_id)

    parser = OpsflowParser()
    try:
        for name, tree in trees.items():
            parser.add_bpmn_xml(tree, filename=name)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise InvalidDiagram([Problem(exc.id or None, str(exc).split("\n")[0], exc.file_name or main_name)],
                             process_id=process_id) from None
    except (SpiffWorkflowException, KeyError, AttributeError, TypeError, ValueError, IndexError) as exc:
        # Some foreign files make SpiffWorkflow fail without context; say what failed, not a traceback.
        raise InvalidDiagram([Problem(None, f"SpiffWorkflow cannot parse this diagram "
                                            f"({type(exc).__name__}: {exc})", main_name)],
                             process_id=process_id) from None
    missing = [name for name, sub in subprocess_specs.items() if sub is None]
    if missing:
        raise InvalidDiagram([Problem(name, "called process not found in the deployed files", main_name)
                              for name in missing], process_id=process_id)
    return process_id, spec, subprocess_specs, trees


@dataclass(frozen=True)
class DeployResult:
    definition_id: int
    process_id: str
    version: int
    created: bool  # False when identical to the newest version and skip_unchanged was asked


def _sha256(sources: list[SourceFile]) -> str:
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.filename.encode() + b"\0" + source.content + b"\0")
    return digest.hexdigest()


def deploy(session: Session, sources: list[SourceFile], *, user: str | None = None, comment: str | None = None,
           process_id: str | None = None, skip_unchanged: bool = False) -> DeployResult:
    """Deploy files as version N+1 of their process; refuses anything that cannot run."""
    process_id, _spec, _subs, trees = parse(sources, process_id=process_id)
    sha = _sha256(sources)
    newest = session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
                             .order_by(ProcessDefinition.version.desc()).limit(1)).first()
    if skip_unchanged and newest is not None and newest.sha256 == sha:
        return DeployResult(newest.id, process_id, newest.version, created=False)
    main = trees[sources[0].filename].getroot()
    process = main.find(f"bpmn:process[@id='{process_id}']", NS)
    start_form_key = None
    if process is not None:
        for start in process.iterfind("bpmn:startEvent", NS):
            start_form_key = start_form_key or start.get(_CAMUNDA + "formKey")
    definition = ProcessDefinition(
        process_id=process_id, version=(newest.version if newest else 0) + 1,
        name=(process.get("name") if process is not None else None) or process_id,
        sources=[{"filename": s.filename, "xml": s.content.decode("utf-8")} for s in sources],
        sha256=sha, start_form_key=start_form_key, deployed_by=user, deployed_at=clock.now(), comment=comment)
    session.add(definition)
    session.flush()
    return DeployResult(definition.id, process_id, definition.version, created=True)


# Keyed by row id and content hash, so a key can never name a different parse (e.g. another database).
_cache: dict[tuple[int, str], ParsedDefinition] = {}
_cache_lock = threading.Lock()


def parsed(definition: ProcessDefinition) -> ParsedDefinition:
    """The parsed spec of a deployed version, from the per-process cache."""
    key = (definition.id, definition.sha256)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    sources = [SourceFile(s["filename"], s["xml"].encode("utf-8")) for s in definition.sources]
    # Rules were checked at deploy time; forms changed since then must not stop running work.
    process_id, spec, subs, trees = parse(sources, process_id=definition.process_id, apply_rules=False)
    names = {el.get("id"): el.get("name") or el.get("id")
             for tree in trees.values() for el in tree.getroot().iter() if el.get("id")}
    result = ParsedDefinition(definition.id, process_id, definition.version, spec, subs, names)
    with _cache_lock:
        _cache[key] = result
    return result


def parsed_by_id(session: Session, definition_id: int, sha256: str) -> ParsedDefinition:
    """Like `parsed`, loading the definition row (and its XML) only on a cache miss."""
    cached = _cache.get((definition_id, sha256))
    if cached is not None:
        return cached
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise NotFound(f"definition {definition_id} does not exist")
    return parsed(definition)


def get_definition(session: Session, process_id: str, version: int | None = None) -> ProcessDefinition:
    """The given version of a process, or its newest."""
    query = select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
    query = query.where(ProcessDefinition.version == version) if version else query.order_by(
        ProcessDefinition.version.desc())
    definition = session.scalars(query.limit(1)).first()
    if definition is None:
        what = f"version {version} of process" if version else "process"
        raise NotFound(f"{what} {process_id!r} is not deployed", process_id=process_id, version=version)
    return definition


def list_definitions(session: Session) -> list[dict[str, Any]]:
    """Newest version of every process with its version count."""
    rows = session.execute(select(ProcessDefinition.process_id, func.max(ProcessDefinition.version))
                           .group_by(ProcessDefinition.process_id).order_by(ProcessDefinition.process_id)).all()
    return [{"process_id": pid, "newest_version": version} for pid, version in rows]
