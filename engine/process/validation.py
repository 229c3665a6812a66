"""Static checks of BPMN files: the BPMN 2.0 schema and opsflow's own rules, on the lxml tree.

Every check names the element at fault, so the CLI, deploy and the modeler report the same
problems in the same words; SpiffWorkflow's own parse runs afterwards (engine.process.definitions).
A problem's `code` and `params` let the modeler word it in the user's language (app/modeler/problems.py);
a problem without a code, or with one not worded there yet, shows its English message.
"""
from __future__ import annotations

import ast
import copy
import re
import threading
from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import XSD_PATH
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS

import forms
from engine import users
from engine.errors import ExpressionRefused, Problem
from engine.process import expressions

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_MODEL_NS}
_B = f"{{{BPMN_NS}}}"
_CAMUNDA = f"{{{CAMUNDA_MODEL_NS}}}"
INITIATOR = "${initiator}"  # the one assignee expression the runtime resolves (engine.process.runtime)
MAX_SCHEMA_PROBLEMS = 50

FLOW_NODES = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "businessRuleTask",
    "subProcess", "transaction", "adHocSubProcess", "callActivity",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
})
_SCOPES = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
_HUMAN_TASK_ADVICE = ("SpiffWorkflow makes it wait for a person, but opsflow cannot offer it to anyone without a form "
                      "and a group; use a bpmn:userTask with camunda:formKey and camunda:candidateGroups")
# What opsflow cannot run, and why; an element of these kinds refuses the whole diagram.
UNSUPPORTED_ELEMENTS: dict[str, str] = {
    "serviceTask": "service tasks call external systems, and opsflow runs no external code",
    "sendTask": "opsflow has no messaging, so nothing would receive the message",
    "receiveTask": "opsflow has no messaging, so nothing could deliver the message and the task would wait forever",
    "businessRuleTask": "opsflow does not run DMN decision tables; use gateway conditions or a script task",
    "task": _HUMAN_TASK_ADVICE,
    "manualTask": _HUMAN_TASK_ADVICE,
    "adHocSubProcess": "ad-hoc sub-processes are not supported",
    "transaction": "transactions (cancel and compensation) are not supported",
    "complexGateway": "complex gateways are not supported; use an exclusive, inclusive or parallel gateway",
}
UNSUPPORTED_EVENTS: dict[str, tuple[str, str]] = {
    "messageEventDefinition": ("message", "opsflow has no messaging, so nothing could send or receive the message"),
    "signalEventDefinition": ("signal", "opsflow does not broadcast signals"),
    "conditionalEventDefinition": ("conditional", "opsflow does not watch conditions on process data"),
    "compensateEventDefinition": ("compensation", "opsflow does not run compensation"),
    "cancelEventDefinition": ("cancel", "opsflow has no transactions to cancel"),
}
_PYTHON_SCRIPT_FORMATS = frozenset({"python", "python3", "text/python", "text/x-python", "application/x-python"})
_TIMER_KINDS = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}
# JUEL (Camunda 7, Flowable: ${approved}) and FEEL (Camunda 8: =approved) are not Python.
_FOREIGN_EXPRESSION = re.compile(r"^\s*=|[$#]\{")


def local_name(element: Any) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _is_bpmn(element: Any, *names: str) -> bool:
    tag = element.tag
    return isinstance(tag, str) and tag.startswith(_B) and (not names or tag[len(_B):] in names)


def short_tag(tag: str) -> str:
    """`{bpmn-ns}userTask` -> `bpmn:userTask`, for messages people read."""
    return tag.replace(_B, "bpmn:").replace(_CAMUNDA, "camunda:")


# --- BPMN 2.0 schema ---------------------------------------------------------------------------

_SCHEMA_DIR = Path(XSD_PATH).resolve().parent
_schema_local = threading.local()


class _LocalSchemaResolver(etree.Resolver):
    """Resolve the XSD's imports to SpiffWorkflow's bundled copies; anything else is refused, never fetched."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    def resolve(self, system_url: str | None, public_id: str | None, context: Any) -> Any:
        url = system_url or ""
        path = Path(url.removeprefix("file://")).resolve() if "://" not in url or url.startswith("file://") else None
        if path is not None and path.parent == _SCHEMA_DIR and path.is_file():
            return self.resolve_filename(str(path), context)
        self.refused.append(url)
        return self.resolve_string("", context)


def bpmn_schema() -> etree.XMLSchema:
    """SpiffWorkflow's BPMN 2.0 XSD, compiled once per thread from local files only."""
    # One per thread: lxml does not promise that a schema object can validate in two threads at once.
    schema: etree.XMLSchema | None = getattr(_schema_local, "schema", None)
    if schema is None:
        resolver = _LocalSchemaResolver()
        parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        parser.resolvers.add(resolver)
        document = etree.parse(str(_SCHEMA_DIR / "BPMN20.xsd"), parser)
        try:
            schema = etree.XMLSchema(document)
        except etree.XMLSchemaParseError as exc:
            raise RuntimeError(f"cannot load the BPMN schema (refused to load {resolver.refused}): {exc}") from exc
        if resolver.refused:
            raise RuntimeError(f"the BPMN schema tried to load non-local files: {resolver.refused}")
        _schema_local.schema = schema
    return schema


def _element_for_error(tree: etree._ElementTree, error: Any) -> Any:
    """The element a schema error is about: by its XPath when that agrees with the line, else by line."""
    root = tree.getroot()
    try:
        found = tree.xpath(error.path, namespaces={k: v for k, v in root.nsmap.items() if k})
    except (etree.XPathError, TypeError):
        found = []
    if found and isinstance(found, list) and getattr(found[0], "sourceline", None) == error.line:
        return found[0]
    best = root
    for element in root.iter():
        line = element.sourceline
        if line is None:
            continue
        if line > error.line:
            break
        best = element
    return best


def nearest_id(element: Any) -> str | None:
    """The id of the element or of its nearest ancestor that has one."""
    while element is not None:
        if element.get("id"):
            return str(element.get("id"))
        element = element.getparent()
    return None


def schema_problems(tree: etree._ElementTree, filename: str) -> list[Problem]:
    """Where the file breaks the BPMN 2.0 XSD, each error placed on the nearest element with an id."""
    schema = bpmn_schema()
    document = tree
    if tree.getroot().find(".//bpmn:correlationPropertyRetrievalExpression/bpmn:formalExpression", NS) is not None:
        # bpmn-js writes this invalid element; SpiffWorkflow's own validator renames it before checking.
        document = copy.deepcopy(tree)
        for expr in document.getroot().iterfind(".//bpmn:correlationPropertyRetrievalExpression/"
                                                "bpmn:formalExpression", NS):
            expr.tag = _B + "messagePath"
    if schema.validate(document):
        return []
    errors = list(schema.error_log)
    problems = [Problem(nearest_id(_element_for_error(tree, e)), f"BPMN 2.0 schema: {short_tag(e.message)}", filename,
                        code="schema", params={"detail": short_tag(e.message)})
                for e in errors[:MAX_SCHEMA_PROBLEMS]]
    if len(errors) > MAX_SCHEMA_PROBLEMS:
        more = len(errors) - MAX_SCHEMA_PROBLEMS
        problems.append(Problem(None, f"BPMN 2.0 schema: {more} more errors", filename,
                                code="schema_more", params={"count": more}))
    return problems


# --- which processes to check ------------------------------------------------------------------

def is_executable(process: Any) -> bool:
    return process.get("isExecutable", "true") == "true"


def executable_process_ids(tree: etree._ElementTree) -> list[str]:
    return [str(p.get("id")) for p in tree.getroot().iterfind("bpmn:process", NS) if is_executable(p)]


def _processes(trees: Mapping[str, etree._ElementTree]) -> dict[str, tuple[str, Any]]:
    found: dict[str, tuple[str, Any]] = {}
    for filename, tree in trees.items():
        for process in tree.getroot().iterfind("bpmn:process", NS):
            found.setdefault(str(process.get("id")), (filename, process))
    return found


def related_processes(trees: Mapping[str, etree._ElementTree], process_ids: Iterable[str]) -> list[tuple[str, Any]]:
    """The given processes and every process they call, directly or not, as (filename, element)."""
    known = _processes(trees)
    queue = deque(process_ids)
    seen: set[str] = set()
    result = []
    while queue:
        process_id = queue.popleft()
        if process_id in seen or process_id not in known:
            continue
        seen.add(process_id)
        filename, process = known[process_id]
        result.append((filename, process))
        for call in process.iter(_B + "callActivity"):
            if call.get("calledElement"):
                queue.append(call.get("calledElement"))
    return result


# --- opsflow's rules ---------------------------------------------------------------------------

def _children(scope: Any, names: Collection[str]) -> list[Any]:
    return [child for child in scope if _is_bpmn(child) and local_name(child) in names]


def _scopes(process: Any) -> Iterator[Any]:
    yield process
    for element in process.iter():
        if element is not process and _is_bpmn(element) and local_name(element) in _SCOPES:
            yield element


def _flows(scope: Any) -> list[Any]:
    return _children(scope, ("sequenceFlow",))


def unsupported_problems(process: Any, filename: str) -> list[Problem]:
    """Elements opsflow cannot run, each named with its tag and the reason."""
    problems = []
    for element in process.iter():
        if not _is_bpmn(element):
            continue
        name = local_name(element)
        if name in UNSUPPORTED_ELEMENTS:
            reason = UNSUPPORTED_ELEMENTS[name]
            decision = element.get(_CAMUNDA + "decisionRef")
            if name == "businessRuleTask" and decision:
                reason = f"it calls DMN decision {decision!r} (camunda:decisionRef); {reason}"
            problems.append(Problem(element.get("id"), f"bpmn:{name} is not supported: {reason}", filename,
                                    code="unsupported_element", params={"kind": name, "decision": decision}))
        elif name in UNSUPPORTED_EVENTS:
            event = element.getparent()
            kind, reason = UNSUPPORTED_EVENTS[name]
            problems.append(Problem(nearest_id(event), f"{kind} events are not supported (bpmn:{name} on "
                                                       f"bpmn:{local_name(event)}): {reason}", filename,
                                    code="unsupported_event", params={"definition": name, "kind": local_name(event)}))
    return problems


def data_store_problems(tree: etree._ElementTree, filename: str) -> list[Problem]:
    """SpiffWorkflow refuses a whole file that declares a data store; name each store instead."""
    return [Problem(store.get("id"), "bpmn:dataStore is not supported: opsflow keeps process data in form fields",
                    filename, code="data_store") for store in tree.getroot().iterfind("bpmn:dataStore", NS)]


def _is_link_throw(node: Any) -> bool:
    return local_name(node) == "intermediateThrowEvent" and node.find("bpmn:linkEventDefinition", NS) is not None


def _is_event_subprocess(node: Any) -> bool:
    return local_name(node) == "subProcess" and node.get("triggeredByEvent") == "true"


def structure_problems(process: Any, filename: str) -> list[Problem]:
    """Start events, dead ends and unreachable elements, per (sub-)process scope."""
    problems = []
    for scope in _scopes(process):
        if local_name(scope) == "adHocSubProcess":
            continue  # unsupported anyway; its children have no flows by design
        nodes = {str(n.get("id")): n for n in _children(scope, FLOW_NODES) if n.get("id")}
        edges: dict[str, list[str]] = defaultdict(list)
        has_outgoing: set[str] = set()
        for flow in _flows(scope):
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            for end, ref in (("source", source), ("target", target)):
                if ref not in nodes:
                    problems.append(Problem(flow.get("id"), f"sequence flow {end} {ref!r} is not a flow node of the "
                                                            "same (sub-)process", filename,
                                            code=f"flow_{end}_unknown", params={"ref": ref}))
            if source in nodes and target in nodes:
                edges[source].append(target)
                has_outgoing.add(source)
        links: dict[str, list[str]] = defaultdict(list)
        for node_id, node in nodes.items():
            if local_name(node) == "boundaryEvent":
                attached = node.get("attachedToRef")
                if attached in nodes:
                    edges[str(attached)].append(node_id)
                else:
                    problems.append(Problem(node_id, f"boundary event is attached to {attached!r}, which is not an "
                                                     "activity of the same (sub-)process", filename,
                                            code="boundary_not_attached", params={"attached": attached}))
            link = node.find("bpmn:linkEventDefinition", NS)
            if link is not None and local_name(node) == "intermediateCatchEvent":
                links[link.get("name") or ""].append(node_id)
        for node_id, node in nodes.items():
            link = node.find("bpmn:linkEventDefinition", NS)
            if link is not None and _is_link_throw(node):
                edges[node_id].extend(links.get(link.get("name") or "", []))
        starts = [node_id for node_id, node in nodes.items() if local_name(node) == "startEvent"]
        if not starts:
            where = "the process" if local_name(scope) == "process" else "this sub-process"
            problems.append(Problem(scope.get("id"), f"{where} has no start event", filename,
                                    code="no_start_event", params={"kind": local_name(scope)}))
            continue
        reachable = set(starts)
        queue = deque(starts)
        while queue:
            for target in edges.get(queue.popleft(), []):
                if target not in reachable:
                    reachable.add(target)
                    queue.append(target)
        for node_id, node in nodes.items():
            kind = local_name(node)
            if _is_event_subprocess(node):
                continue  # started by its event, not by a flow
            if node_id not in reachable:
                via = (f" (it is attached to {node.get('attachedToRef')!r}, which is unreachable)"
                       if kind == "boundaryEvent" else "")
                problems.append(Problem(node_id, f"unreachable: no path from a start event leads to this bpmn:{kind}"
                                                 f"{via}", filename, code="unreachable" + ("_boundary" if via else ""),
                                        params={"kind": kind, "attached": node.get("attachedToRef")}))
            if kind != "endEvent" and not _is_link_throw(node) and node_id not in has_outgoing:
                problems.append(Problem(node_id, f"dead end: this bpmn:{kind} has no outgoing sequence flow "
                                                 "(only end events may end a path)", filename,
                                        code="dead_end", params={"kind": kind}))
    return problems


def _foreign_attribute_hint(found: str | None, attribute: str) -> str:
    return f" (found {found}; opsflow reads camunda:{attribute})" if found else ""


def _foreign_attribute(task: Any, attribute: str) -> str | None:
    """Other engines' spelling of an attribute opsflow reads from the camunda namespace, with its value, if the
    task has one: `flowable:candidateGroups='x'`."""
    for element in task.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            qname = etree.QName(name)
            if qname.localname != attribute or qname.namespace == CAMUNDA_MODEL_NS:
                continue
            if qname.namespace:  # flowable:candidateGroups="..."
                prefix = next((p for p, uri in element.nsmap.items() if p and uri == qname.namespace), None)
                found = f"{prefix}:{attribute}" if prefix else name
            elif element is not task and not _is_bpmn(element):  # <zeebe:assignmentDefinition candidateGroups=...>
                found = f"{element.prefix}:{local_name(element)} {attribute}" if element.prefix else attribute
            else:
                continue
            return f"{found}={value!r}"
    return None


def user_task_problems(process: Any, filename: str, *, form_keys: Collection[str],
                       groups: Collection[str]) -> list[Problem]:
    """Who may work each user task, and with which form; start forms must exist too."""
    problems = []
    for task in process.iter(_B + "userTask"):
        task_id = task.get("id")
        candidate_groups = (task.get(_CAMUNDA + "candidateGroups") or "").strip()
        assignee = (task.get(_CAMUNDA + "assignee") or "").strip()
        if not candidate_groups and not assignee:
            found = _foreign_attribute(task, "candidateGroups")
            attribute = "candidateGroups" if found else "assignee"
            found = found or _foreign_attribute(task, attribute)
            problems.append(Problem(task_id, "user task has no candidate group (camunda:candidateGroups) or assignee"
                                             + _foreign_attribute_hint(found, attribute), filename,
                                    code="no_candidate_group", params={"found": found, "attribute": attribute}))
        for group in (g.strip() for g in candidate_groups.split(",")):
            if group and _FOREIGN_EXPRESSION.search(group):
                problems.append(Problem(task_id, f"candidate group {group!r} is an expression opsflow cannot resolve; "
                                                 "list opsflow group ids", filename,
                                        code="group_is_expression", params={"group": group}))
            elif group and group not in groups:
                problems.append(Problem(task_id, f"candidate group {group!r} is not an opsflow group (groups: "
                                                 f"{', '.join(sorted(groups))})", filename,
                                        code="unknown_group", params={"group": group, "groups": sorted(groups)}))
        if assignee and assignee != INITIATOR and _FOREIGN_EXPRESSION.search(assignee):
            problems.append(Problem(task_id, f"assignee {assignee!r} is an expression opsflow cannot resolve; "
                                             f"use {INITIATOR} or a user name", filename,
                                    code="assignee_is_expression", params={"assignee": assignee}))
        form_key = (task.get(_CAMUNDA + "formKey") or "").strip()
        if not form_key:
            found = _foreign_attribute(task, "formKey")
            problems.append(Problem(task_id, "user task has no form key (camunda:formKey)"
                                             + _foreign_attribute_hint(found, "formKey"), filename,
                                    code="no_form_key", params={"found": found, "attribute": "formKey"}))
        elif form_key not in form_keys:
            problems.append(Problem(task_id, f"form key {form_key!r} has no definition in forms/", filename,
                                    code="unknown_form_key", params={"form_key": form_key}))
    for start in process.iter(_B + "startEvent"):
        form_key = (start.get(_CAMUNDA + "formKey") or "").strip()
        if form_key and form_key not in form_keys:
            problems.append(Problem(start.get("id"), f"form key {form_key!r} has no definition in forms/", filename,
                                    code="unknown_form_key", params={"form_key": form_key}))
    return problems


def gateway_problems(process: Any, filename: str) -> list[Problem]:
    """Exclusive and inclusive gateways always have a way out: a default flow or conditions on every flow."""
    problems = []
    for scope in _scopes(process):
        leaving: dict[str, list[Any]] = defaultdict(list)
        for flow in _flows(scope):
            leaving[str(flow.get("sourceRef"))].append(flow)
        for gateway in _children(scope, ("exclusiveGateway", "inclusiveGateway")):
            gateway_id = gateway.get("id")
            outgoing = leaving.get(str(gateway_id), [])
            default = gateway.get("default")
            if default and default not in {flow.get("id") for flow in outgoing}:
                problems.append(Problem(gateway_id, f"default flow {default!r} does not leave this gateway", filename,
                                        code="default_not_leaving", params={"default": default}))
            elif default:
                flow = next(f for f in outgoing if f.get("id") == default)
                if flow.find("bpmn:conditionExpression", NS) is not None:
                    problems.append(Problem(default, "the default flow of a gateway must not have a condition",
                                            filename, code="default_with_condition"))
            if len(outgoing) < 2:
                continue
            unconditioned = [str(f.get("id")) for f in outgoing
                             if f.find("bpmn:conditionExpression", NS) is None and f.get("id") != default]
            if unconditioned:
                problems.append(Problem(gateway_id, "outgoing flows without a condition that are not the default "
                                                    f"flow: {', '.join(unconditioned)}", filename,
                                        code="unconditioned_flows", params={"flows": unconditioned}))
    return problems


_WAITING_NODES = frozenset({"userTask", "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"})
_WAITING_EVENTS = ("timerEventDefinition", "messageEventDefinition", "signalEventDefinition",
                   "conditionalEventDefinition")


def loop_warnings(process: Any, filename: str) -> list[Problem]:
    """Loops of sequence flows with nothing on them that waits (a user task, a timer or message catch event,
    a call or sub-process): one turns until a condition on it ends the loop, within one change, and a change
    that runs more engine steps than engine.process.step allows fails. Warnings, not refusals: a loop that
    counts to three is fine."""
    warnings = []
    for scope in _scopes(process):
        nodes = {str(n.get("id")): n for n in _children(scope, FLOW_NODES) if n.get("id")}
        moving = {node_id for node_id, node in nodes.items() if local_name(node) not in _WAITING_NODES and not (
            local_name(node) in ("intermediateCatchEvent", "boundaryEvent")
            and any(node.find(f"bpmn:{kind}", NS) is not None for kind in _WAITING_EVENTS))}
        edges: dict[str, list[str]] = defaultdict(list)
        for flow in _flows(scope):
            edges[str(flow.get("sourceRef"))].append(str(flow.get("targetRef")))
        for node_id, node in nodes.items():
            if local_name(node) == "boundaryEvent":
                edges[str(node.get("attachedToRef"))].append(node_id)
        reach: dict[str, set[str]] = {}
        for node_id in moving:
            seen, stack = set(), [t for t in edges[node_id] if t in moving]
            while stack:
                target = stack.pop()
                if target not in seen:
                    seen.add(target)
                    stack.extend(t for t in edges[target] if t in moving)
            reach[node_id] = seen
        placed: set[str] = set()
        for node_id in nodes:  # document order
            if node_id in moving and node_id in reach[node_id] and node_id not in placed:
                loop = [other for other in nodes if other in reach[node_id] and node_id in reach.get(other, ())]
                placed.update(loop)
                warnings.append(Problem(node_id, f"loop with nothing that waits (no user task, timer, message or "
                                                 f"call activity): {', '.join(loop)}; it turns until a condition "
                                                 "ends it, and a change that loops past the engine step limit fails",
                                        filename))
    return warnings


def call_problems(process: Any, filename: str, trees: Mapping[str, etree._ElementTree]) -> list[Problem]:
    """Every call activity names a process that is in the files given and can run."""
    known = _processes(trees)
    problems = []
    for call in process.iter(_B + "callActivity"):
        called = call.get("calledElement")
        if not called:
            problems.append(Problem(call.get("id"), "call activity has no calledElement", filename,
                                    code="call_without_process"))
        elif called not in known:
            problems.append(Problem(call.get("id"), f"calls process {called!r}, which is in none of the files given; "
                                                    "give its file too (deploy main.bpmn called.bpmn)", filename,
                                    code="called_process_missing", params={"called": called}))
        elif not is_executable(known[called][1]):
            problems.append(Problem(call.get("id"), f"calls process {called!r}, which is marked "
                                                    'isExecutable="false"', filename,
                                    code="called_process_not_executable", params={"called": called}))
    return problems


def _expression_problem(element_id: str | None, text: str | None, what: str, filename: str, mode: str = "eval",
                        example: str = "resolved == True") -> tuple[Problem | None, ast.AST | None]:
    source = (text or "").strip()
    if _FOREIGN_EXPRESSION.search(source):
        return Problem(element_id, f"{what} {source!r} looks like a JUEL/FEEL expression; opsflow expressions are "
                                   f"Python over form fields (e.g. {example})", filename, code="foreign_expression",
                       params={"what": what, "source": source, "example": example}), None
    try:
        return None, expressions.check(source, mode=mode)
    except ExpressionRefused as exc:
        return Problem(element_id, f"{what}: {exc.message}", filename, code="expression_refused",
                       params={"what": what, "detail": exc.message, "reason": exc.reason,
                               "reason_params": exc.params}), None


_ISO_EXAMPLES = {"timeDuration": "PT30M, P1DT2H", "timeDate": "2026-12-01T08:00:00+08:00",
                 "timeCycle": "R3/PT1H, R/2026-12-01T08:00:00+08:00/P1D"}


def _is_valid_iso(kind: str, text: str) -> bool:
    """Whether SpiffWorkflow's own timer parsing accepts `text` for this kind of timer."""
    text = text.strip()
    try:
        if kind == "timeDuration":
            # SpiffWorkflow reads "30M" as 30 months and "P" as no time at all; insist on the real form.
            return text.upper().startswith("P") and bool(TimerEventDefinition.parse_iso_duration(text))
        if kind == "timeDate":
            return isinstance(TimerEventDefinition.parse_time_or_duration(text), datetime)
        return text.upper().startswith("R") and bool(TimerEventDefinition.parse_iso_recurring_interval(text))
    except Exception:  # the helpers raise bare Exception, ValueError, IndexError, AttributeError ...
        return False


def timer_problems(event: Any, timer: Any, filename: str) -> list[Problem]:
    """A timer is a Python expression giving ISO 8601 text; a literal must be valid ISO 8601 itself."""
    event_id = event.get("id")
    specs = [child for child in timer if _is_bpmn(child, *_TIMER_KINDS)]
    if not specs:
        return [Problem(event_id, "timer has no timeDate, timeDuration or timeCycle", filename, code="timer_missing")]
    problems = []
    for spec in specs:
        kind, text = local_name(spec), (spec.text or "").strip()
        what = f"timer {kind}"
        if not text:
            problems.append(Problem(event_id, f"{what} is empty", filename, code="timer_empty", params={"what": what}))
            continue
        literal = expressions.timer_literal(text)  # written unquoted, as other modelers do: the text itself
        if literal is None:
            problem, tree = _expression_problem(event_id, text, what, filename,
                                                example='"PT30M" or f"PT{minutes}M"')
            if problem is not None:
                problems.append(problem)
                continue
            body = tree.body if isinstance(tree, ast.Expression) else None
            if not isinstance(body, ast.Constant):
                continue
            if not isinstance(body.value, str):
                problems.append(Problem(event_id, f"{what} {text!r} must give ISO 8601 text", filename,
                                        code="timer_not_text", params={"what": what, "text": text}))
                continue
            literal = body.value
        if not _is_valid_iso(kind, literal):
            problems.append(Problem(event_id, f"{what} {literal!r} is not a valid ISO 8601 "
                                              f"{_TIMER_KINDS[kind]} (e.g. {_ISO_EXAMPLES[kind]})", filename,
                                    code="timer_not_iso", params={"what": what, "value": literal,
                                                                  "examples": _ISO_EXAMPLES[kind]}))
        elif kind == "timeCycle" and (problem := _cycle_problem(event_id, literal, filename)) is not None:
            problems.append(problem)
    return problems


def _cycle_problem(event_id: str | None, cycle: str, filename: str) -> Problem | None:
    """A cycle must repeat and move on: R0/… never repeats, and a zero period would fall due at the same
    instant forever (SpiffWorkflow never lets it fire, and it would be re-claimed every second)."""
    cycles, _start, period = TimerEventDefinition.parse_iso_recurring_interval(cycle.strip())
    if cycles == 0:
        return Problem(event_id, f"timer timeCycle {cycle!r} repeats 0 times, so it never fires; give a count "
                                 "of at least 1 (R3/PT1H) or none to repeat until the activity ends (R/PT1H)",
                       filename, code="timer_cycle_zero_count", params={"cycle": cycle})
    if period <= timedelta(0):
        return Problem(event_id, f"timer timeCycle {cycle!r} has a period of zero, so it would fall due at the "
                                 "same instant forever; give a period longer than zero (e.g. R/PT1H)", filename,
                       code="timer_cycle_zero_period", params={"cycle": cycle})
    return None


def expression_problems(process: Any, filename: str) -> list[Problem]:
    """Conditions, scripts, timers and loop expressions must pass the restricted evaluator's whitelist."""
    problems: list[Problem] = []

    def add(problem: Problem | None) -> None:
        if problem is not None:
            problems.append(problem)

    for flow in process.iter(_B + "sequenceFlow"):
        condition = flow.find("bpmn:conditionExpression", NS)
        if condition is not None:
            add(_expression_problem(flow.get("id"), condition.text, "condition", filename)[0])
    for task in process.iter(_B + "scriptTask"):
        script_format = (task.get("scriptFormat") or "python").strip()
        if script_format.lower() not in _PYTHON_SCRIPT_FORMATS:
            problems.append(Problem(task.get("id"), f"script format {script_format!r} is not supported; scripts are "
                                                    "Python statements run by opsflow's restricted evaluator",
                                    filename, code="script_format", params={"format": script_format}))
            continue
        script = task.find("bpmn:script", NS)
        add(_expression_problem(task.get("id"), script.text if script is not None else "", "script", filename,
                                mode="exec")[0])
    for timer in process.iter(_B + "timerEventDefinition"):
        problems.extend(timer_problems(timer.getparent(), timer, filename))
    for loop in process.iter(_B + "multiInstanceLoopCharacteristics", _B + "standardLoopCharacteristics"):
        for child in loop:
            if _is_bpmn(child, "loopCardinality", "completionCondition", "loopCondition") and child.text:
                add(_expression_problem(nearest_id(loop), child.text, local_name(child), filename)[0])
    return problems


def rule_problems(trees: Mapping[str, etree._ElementTree], process_ids: Iterable[str], *,
                  form_keys: Collection[str] | None = None, groups: Collection[str] | None = None) -> list[Problem]:
    """opsflow's rules over the given processes and the processes they call, in a fixed order of kinds.

    What opsflow cannot run at all comes first (data stores, service tasks, messages ...), then the
    shape of the flow, then tasks, gateways and expressions.
    """
    known_forms = forms.form_keys() if form_keys is None else form_keys
    known_groups = users.GROUPS.keys() if groups is None else groups
    processes = related_processes(trees, process_ids)
    problems: list[Problem] = []
    for filename, tree in trees.items():
        problems += data_store_problems(tree, filename)
    for filename, process in processes:
        problems += unsupported_problems(process, filename)
    for filename, process in processes:
        problems += structure_problems(process, filename)
    for filename, process in processes:
        problems += call_problems(process, filename, trees)
        problems += user_task_problems(process, filename, form_keys=known_forms, groups=known_groups)
        problems += gateway_problems(process, filename)
        problems += expression_problems(process, filename)
    return problems
