"""Versions of a process: who deployed which version and when, what changed between two, rollback.

A diff compares elements by id, so the modeler can colour them on the diagram; layout (BPMNDI)
is not compared: moving a shape is not a change of the process.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.process import definitions, validation
from engine.status import InstanceStatus
from engine.store.models import ProcessDefinition, ProcessInstance

_B = f"{{{validation.BPMN_NS}}}"
_CAMUNDA = f"{{{validation.CAMUNDA_MODEL_NS}}}"
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_OWN_FIELDS = {"id", "name", _CAMUNDA + "formKey", _CAMUNDA + "candidateGroups", _CAMUNDA + "assignee"}
_COMPARED = validation.FLOW_NODES | {"sequenceFlow", "lane", "process"}

Description = dict[str, Any]
SourceDict = dict[str, str]  # {"filename": ..., "xml": ...}, as ProcessDefinition.sources stores them


def _attribute_name(element: Any, name: str) -> str:
    qname = etree.QName(name)
    if qname.namespace is None:
        return name
    known = {validation.CAMUNDA_MODEL_NS: "camunda", _XSI[1:-1]: "xsi"}
    prefix = known.get(qname.namespace) or next(
        (p for p, uri in element.nsmap.items() if p and uri == qname.namespace), None)
    return f"{prefix}:{qname.localname}" if prefix else name


def _text(element: Any) -> str | None:
    return (element.text or "").strip() if element is not None else None


def _describe_element(element: Any, flows_in: dict[str, list[str]], flows_out: dict[str, list[str]],
                      lane_of: dict[str, str]) -> Description:
    kind = validation.local_name(element)
    element_id = str(element.get("id"))
    described: Description = {
        "type": kind,
        "name": element.get("name"),
        "form_key": element.get(_CAMUNDA + "formKey"),
        "candidate_groups": element.get(_CAMUNDA + "candidateGroups"),
        "assignee": element.get(_CAMUNDA + "assignee"),
        "documentation": _text(element.find("bpmn:documentation", validation.NS)),
    }
    if kind == "sequenceFlow":
        described["condition"] = _text(element.find("bpmn:conditionExpression", validation.NS))
    elif kind == "lane":
        described["members"] = sorted(_text(ref) or "" for ref in element.iterfind("bpmn:flowNodeRef", validation.NS))
    elif kind != "process":
        described["incoming"] = sorted(flows_in.get(element_id, []))
        described["outgoing"] = sorted(flows_out.get(element_id, []))
        described["lane"] = lane_of.get(element_id)
        described["events"] = sorted(validation.local_name(child) for child in element
                                     if validation.local_name(child).endswith("EventDefinition"))
        timers = [f"{validation.local_name(spec)}: {_text(spec)}"
                  for timer in element.iterfind("bpmn:timerEventDefinition", validation.NS) for spec in timer]
        described["timer"] = "; ".join(timers) or None
        described["script"] = _text(element.find("bpmn:script", validation.NS))
    for name, value in element.attrib.items():
        if name not in _OWN_FIELDS:
            described[f"attribute:{_attribute_name(element, name)}"] = value
    for prop in element.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", validation.NS):
        described[f"property:{prop.get('name')}"] = prop.get("value")
    return described


def describe(sources: list[SourceDict]) -> dict[str, Description]:
    """Every process element of a deployed version by id, in document order, with what a diff compares."""
    described: dict[str, Description] = {}
    for source in sources:
        tree = definitions.load_xml(definitions.SourceFile(source["filename"], source["xml"].encode("utf-8")))
        for process in tree.getroot().iterfind("bpmn:process", validation.NS):
            flows_in: dict[str, list[str]] = defaultdict(list)
            flows_out: dict[str, list[str]] = defaultdict(list)
            for flow in process.iter(_B + "sequenceFlow"):
                flows_out[flow.get("sourceRef")].append(str(flow.get("id")))
                flows_in[flow.get("targetRef")].append(str(flow.get("id")))
            lane_of = {_text(ref) or "": str(lane.get("id")) for lane in process.iter(_B + "lane")
                       for ref in lane.iterfind("bpmn:flowNodeRef", validation.NS)}
            for element in process.iter():
                if (validation.local_name(element) in _COMPARED and element.get("id")
                        and str(element.tag).startswith(_B) and element.get("id") not in described):
                    described[str(element.get("id"))] = _describe_element(element, flows_in, flows_out, lane_of)
    return described



def _summary(element_id: str, described: Description) -> dict[str, Any]:
    return {"id": element_id, "type": described["type"], "name": described["name"]}


def diff_descriptions(old: dict[str, Description], new: dict[str, Description]) -> dict[str, Any]:
    """Elements added, removed and changed (field by field) between two descriptions."""
    changed = []
    for element_id, after in new.items():
        before = old.get(element_id)
        if before is None or before == after:
            continue
        fields = sorted(set(before) | set(after), key=lambda f: (f.startswith(("attribute:", "property:")), f))
        changes = [{"field": f, "from": before.get(f), "to": after.get(f)} for f in fields
                   if before.get(f) != after.get(f)]
        changed.append({**_summary(element_id, after), "changes": changes})
    return {
        "added": [_summary(i, d) for i, d in new.items() if i not in old],
        "removed": [_summary(i, d) for i, d in old.items() if i not in new],
        "changed": changed,
        "unchanged": sum(1 for i, d in new.items() if old.get(i) == d),
    }


def _version(session: Session, process_id: str, version: int) -> ProcessDefinition:
    if version < 1:
        raise NotFound(f"version {version} of process {process_id!r} is not deployed (versions start at 1)",
                       process_id=process_id, version=version, reason="version_missing",
                       params={"process_id": process_id, "version": version})
    return definitions.get_definition(session, process_id, version)


def diff(session: Session, process_id: str, from_version: int, to_version: int) -> dict[str, Any]:
    """What changed from one deployed version to another, by element id."""
    before, after = _version(session, process_id, from_version), _version(session, process_id, to_version)
    return {"process_id": process_id, "from_version": from_version, "to_version": to_version,
            **diff_descriptions(describe(before.sources), describe(after.sources))}


def versions(session: Session, process_id: str) -> list[dict[str, Any]]:
    """Every version of a process, newest first: who deployed it, when, why, and how many instances still run on it."""
    rows = session.execute(
        select(ProcessDefinition.id, ProcessDefinition.version, ProcessDefinition.name, ProcessDefinition.deployed_by,
               ProcessDefinition.deployed_at, ProcessDefinition.comment, ProcessDefinition.sha256)
        .where(ProcessDefinition.process_id == process_id).order_by(ProcessDefinition.version.desc())).all()
    if not rows:
        raise NotFound(f"process {process_id!r} is not deployed", process_id=process_id, reason="process_missing",
                       params={"process_id": process_id})
    running: dict[int, int] = {definition_id: count for definition_id, count in session.execute(
        select(ProcessInstance.definition_id, func.count())
        .where(ProcessInstance.process_id == process_id, ProcessInstance.status == InstanceStatus.RUNNING)
        .group_by(ProcessInstance.definition_id))}
    return [{"definition_id": row.id, "process_id": process_id, "version": row.version, "name": row.name,
             "deployed_by": row.deployed_by, "deployed_at": row.deployed_at.isoformat(), "comment": row.comment,
             "sha256": row.sha256, "running_instances": running.get(row.id, 0), "is_newest": index == 0}
            for index, row in enumerate(rows)]


def rollback(session: Session, process_id: str, version: int, *, user: str | None = None,
             comment: str | None = None) -> definitions.DeployResult:
    """Deploy the XML of an old version again as the newest version (N+1); it is checked like any deploy."""
    old = _version(session, process_id, version)
    sources = [definitions.SourceFile(s["filename"], s["xml"].encode("utf-8")) for s in old.sources]
    note = f"rollback to version {version}" + (f": {comment}" if comment else "")
    return definitions.deploy(session, sources, user=user, comment=note, process_id=process_id)
