"""Process definitions: safe XML loading, checks, SpiffWorkflow parsing, versioned deploys.

A deploy stores the XML exactly as given as version N+1 of its process, after the same checks
`validate` reports (schema, opsflow's rules in engine.process.validation, SpiffWorkflow's parse); parsed
specs are cached per definition id, since a deployed version never changes.
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
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEndEventParser
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, UserTaskParser
from SpiffWorkflow.camunda.specs.user_task import UserTask as CamundaUserTask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import InvalidDiagram, NotFound, Problem
from engine.process import expressions, validation
from engine.store.models import ProcessDefinition

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


class _OpsflowEndEventParser(CamundaEndEventParser):
    """Camunda's parser drops an end event's camunda:properties; keep them as its extensions (the service
    desk reads them where an instance ends: a hand-over to another process, an automatic close)."""

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        return {prop.get("name"): prop.get("value")
                for prop in self.xpath("./bpmn:extensionElements/camunda:properties/camunda:property")}


class OpsflowParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (_OpsflowUserTaskParser, CamundaUserTask),
        full_tag("endEvent"): (_OpsflowEndEventParser, EndEvent),
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
                                            f"{MAX_FILE_BYTES} bytes", source.filename, code="file_too_large",
                                      params={"size": len(source.content), "limit": MAX_FILE_BYTES})])
    head = source.content[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in source.content.lower():
        raise InvalidDiagram([Problem(None, "a DOCTYPE or ENTITY declaration is not allowed in BPMN files",
                                      source.filename, code="doctype")])
    try:
        tree = etree.ElementTree(etree.fromstring(source.content, _xml_parser()))
    except etree.XMLSyntaxError as exc:
        raise InvalidDiagram([Problem(None, f"not well-formed XML: {exc}", source.filename, code="not_xml",
                                      params={"detail": str(exc)})]) from None
    root = tree.getroot()
    if root.tag != f"{{{BPMN_NS}}}definitions":
        qname = etree.QName(root)
        if qname.localname == "definitions" and "/DMN/" in (qname.namespace or "").upper():
            message, code = ("this is a DMN file (decision tables); opsflow does not run DMN decisions, so neither DMN "
                             "files nor the business rule tasks that call them can be deployed"), "dmn_file"
        else:
            message, code = f"root element is {root.tag!r}, not bpmn:definitions (is this a BPMN 2.0 file?)", "not_bpmn"
        raise InvalidDiagram([Problem(None, message, source.filename, code=code, params={"root": root.tag})])
    count = sum(1 for _ in root.iter())
    if count > MAX_ELEMENTS:
        raise InvalidDiagram([Problem(None, f"{count} XML elements; the limit is {MAX_ELEMENTS}", source.filename,
                                      code="too_many_elements", params={"count": count, "limit": MAX_ELEMENTS})])
    return tree


def check_rules(tree: etree._ElementTree, filename: str, *, form_keys: frozenset[str] | None = None) -> list[Problem]:
    """opsflow's own rules over the executable processes of one file; every problem names the element at fault."""
    return validation.rule_problems({filename: tree}, validation.executable_process_ids(tree), form_keys=form_keys)


def _load_all(sources: list[SourceFile]) -> tuple[dict[str, etree._ElementTree], list[Problem]]:
    trees: dict[str, etree._ElementTree] = {}
    problems: list[Problem] = []
    for source in sources:
        if source.filename in trees:
            problems.append(Problem(None, "two files of this name were given", source.filename))
            continue
        try:
            trees[source.filename] = load_xml(source)
        except InvalidDiagram as error:
            problems += error.problems
    return trees, problems


def _nothing_to_run(tree: etree._ElementTree, filename: str) -> Problem:
    all_ids = [str(p.get("id")) for p in tree.getroot().iterfind("bpmn:process", NS)]
    detail = (f"its processes ({', '.join(all_ids)}) are marked isExecutable=\"false\""
              if all_ids else "it contains no bpmn:process")
    return Problem(None, f"nothing to run: {detail}", filename, code="nothing_to_run", params={"processes": all_ids})


def _choose_process(tree: etree._ElementTree, filename: str, process_id: str | None) -> str:
    candidates = validation.executable_process_ids(tree)
    if process_id is None:
        if not candidates:
            raise InvalidDiagram([_nothing_to_run(tree, filename)])
        if len(candidates) > 1:
            raise InvalidDiagram([Problem(None, "several executable processes "
                                                f"({', '.join(candidates)}); choose one with --process", filename)])
        return candidates[0]
    if process_id not in candidates:
        raise InvalidDiagram([Problem(process_id, "no executable process with this id in the main file", filename,
                                      code="no_such_process")])
    return process_id


def _static_problems(trees: dict[str, etree._ElementTree], process_ids: list[str],
                     form_keys: frozenset[str] | None) -> list[Problem]:
    """Schema and rule problems; SpiffWorkflow is only asked about diagrams without any (else it repeats them)."""
    problems: list[Problem] = []
    for filename, tree in trees.items():
        problems += validation.schema_problems(tree, filename)
    problems += validation.rule_problems(trees, process_ids, form_keys=form_keys)
    return problems


def _element_tag(trees: dict[str, etree._ElementTree], element_id: str) -> str | None:
    for tree in trees.values():
        for element in tree.getroot().iter():
            if element.get("id") == element_id and isinstance(element.tag, str):
                return validation.short_tag(element.tag)
    return None


Specs = dict[str, tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]]


def _spiff_parse(trees: dict[str, etree._ElementTree], process_ids: list[str],
                 main_name: str) -> tuple[Specs, list[Problem]]:
    """SpiffWorkflow's parse of each process; its failures become problems (foreign files raise raw errors)."""
    parser = OpsflowParser()
    specs: Specs = {}
    problems: list[Problem] = []
    try:
        for name, tree in trees.items():
            parser.add_bpmn_xml(tree, filename=name)
    except Exception as exc:  # whatever SpiffWorkflow raises on a foreign file: report it
        return specs, [_spiff_problem(exc, trees, main_name)]
    for process_id in process_ids:
        try:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except Exception as exc:
            problems.append(_spiff_problem(exc, trees, main_name))
            continue
        missing = [name for name, sub in subprocess_specs.items() if sub is None]
        problems += [Problem(name, "called process not found in the files given", main_name,
                             code="called_process_missing", params={"called": name}) for name in missing]
        if not missing:
            _quote_unquoted_timers([spec, *subprocess_specs.values()])
            specs[process_id] = (spec, subprocess_specs)
    return specs, problems


def _quote_unquoted_timers(specs: list[BpmnProcessSpec]) -> None:
    """Timer expressions are Python giving ISO 8601 text; one written as bare ISO 8601 (PT2H, as other
    modelers write it) is that text, so it becomes the string literal the restricted evaluator reads."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            event = getattr(task_spec, "event_definition", None)
            for timer in getattr(event, "event_definitions", None) or [event]:  # a multiple event holds several
                literal = isinstance(timer, TimerEventDefinition) and expressions.timer_literal(timer.expression)
                if literal:
                    timer.expression = repr(literal)


def _spiff_problem(exc: Exception, trees: dict[str, etree._ElementTree], main_name: str) -> Problem:
    if isinstance(exc, ValidationException):
        tag = _element_tag(trees, exc.id) if exc.id else None
        message = str(exc).split("\n")[0].strip()
        return Problem(exc.id or None, f"SpiffWorkflow cannot parse {tag or 'this diagram'}: {message}",
                       exc.file_name or main_name, code="spiff_parse", params={"detail": message})
    # Some foreign files make SpiffWorkflow fail without context; say what failed, not a traceback.
    return Problem(None, f"SpiffWorkflow cannot parse this diagram ({type(exc).__name__}: {exc})", main_name,
                   code="spiff_parse", params={"detail": f"{type(exc).__name__}: {exc}"})


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


Parsed = tuple[str, BpmnProcessSpec, dict[str, BpmnProcessSpec], dict[str, etree._ElementTree]]


def parse(sources: list[SourceFile], *, process_id: str | None = None,
          form_keys: frozenset[str] | None = None, apply_rules: bool = True) -> Parsed:
    """Load, check and parse; returns (process id, spec, subprocess specs, trees) or raises InvalidDiagram.

    The first file holds the process; the others may hold processes it calls. With apply_rules the
    schema and opsflow's rules are checked too (deploy); without, only what running needs.
    """
    if not sources:
        raise InvalidDiagram([Problem(None, "no BPMN file given")])
    trees, problems = _load_all(sources)
    if problems:
        raise InvalidDiagram(problems, process_id=process_id)
    main_name = sources[0].filename
    process_id = _choose_process(trees[main_name], main_name, process_id)
    if apply_rules:
        problems = _static_problems(trees, [process_id], form_keys)
    if not problems:
        specs, problems = _spiff_parse(trees, [process_id], main_name)
    if problems:
        raise InvalidDiagram(_unique(problems), process_id=process_id)
    spec, subprocess_specs = specs[process_id]
    return process_id, spec, subprocess_specs, trees


def validate(sources: list[SourceFile], *, process_id: str | None = None,
             form_keys: frozenset[str] | None = None) -> list[Problem]:
    """Every problem deploy would refuse, over all files at once; never raises InvalidDiagram.

    Without process_id every executable process of every file is checked; the files may call
    each other's processes, as when deployed together.
    """
    if not sources:
        return [Problem(None, "no BPMN file given")]
    trees, problems = _load_all(sources)
    targets: list[str] = []
    if process_id is not None:
        if any(process_id in validation.executable_process_ids(tree) for tree in trees.values()):
            targets = [process_id]
        elif trees:
            problems.append(Problem(process_id, "no executable process with this id in the files given",
                                    sources[0].filename, code="no_such_process"))
    else:
        for filename, tree in trees.items():
            ids = validation.executable_process_ids(tree)
            if not ids:
                problems.append(_nothing_to_run(tree, filename))
            targets += [i for i in ids if i not in targets]
    if not trees:
        return _unique(problems)
    problems += _static_problems(trees, targets, form_keys)
    if not problems and targets:
        problems = _spiff_parse(trees, targets, sources[0].filename)[1]
    return _unique(problems)


def warnings(sources: list[SourceFile], *, process_id: str | None = None) -> list[Problem]:
    """What deploy accepts but may not be meant (loops that never wait), for the given process or every
    executable one and the processes they call; none for files that do not load (validate says why)."""
    trees, problems = _load_all(sources)
    if problems:
        return []
    targets = [process_id] if process_id is not None else [
        i for tree in trees.values() for i in validation.executable_process_ids(tree)]
    return [warning for filename, process in validation.related_processes(trees, targets)
            for warning in validation.loop_warnings(process, filename)]


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
        raise NotFound(f"definition {definition_id} does not exist", reason="definition_missing",
                       params={"definition_id": definition_id})
    return parsed(definition)


def assigns_initiator(definition: ParsedDefinition, element_id: str) -> bool:
    """Whether the diagram assigns this user task to whoever raised the request (camunda:assignee ${initiator})."""
    for spec in (definition.spec, *definition.subprocess_specs.values()):
        task_spec = spec.task_specs.get(element_id)
        if task_spec is not None:
            return bool((getattr(task_spec, "extensions", None) or {}).get("assignee") == validation.INITIATOR)
    return False


def get_definition(session: Session, process_id: str, version: int | None = None) -> ProcessDefinition:
    """The given version of a process, or its newest."""
    query = select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
    query = query.where(ProcessDefinition.version == version) if version else query.order_by(
        ProcessDefinition.version.desc())
    definition = session.scalars(query.limit(1)).first()
    if definition is None:
        what = f"version {version} of process" if version else "process"
        raise NotFound(f"{what} {process_id!r} is not deployed", process_id=process_id, version=version,
                       reason="version_missing" if version else "process_missing",
                       params={"process_id": process_id, "version": version})
    return definition


def list_definitions(session: Session) -> list[dict[str, Any]]:
    """Newest version of every process with its version count."""
    rows = session.execute(select(ProcessDefinition.process_id, func.max(ProcessDefinition.version))
                           .group_by(ProcessDefinition.process_id).order_by(ProcessDefinition.process_id)).all()
    return [{"process_id": pid, "newest_version": version} for pid, version in rows]
