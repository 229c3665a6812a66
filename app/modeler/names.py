"""Names people read for BPMN element kinds and for what a version diff compares, in the page's language.

Keys are the BPMN local names the engine reports (`userTask`) and the diff's field names
(engine.process.versions); anything not listed shows as it is.
"""
from __future__ import annotations

from flask_babel import lazy_gettext

ELEMENT_TYPES = {
    "process": lazy_gettext("Process"),
    "participant": lazy_gettext("Pool"),
    "lane": lazy_gettext("Lane"),
    "startEvent": lazy_gettext("Start event"),
    "endEvent": lazy_gettext("End event"),
    "intermediateCatchEvent": lazy_gettext("Intermediate event"),
    "intermediateThrowEvent": lazy_gettext("Intermediate throw event"),
    "boundaryEvent": lazy_gettext("Boundary event"),
    "task": lazy_gettext("Task"),
    "userTask": lazy_gettext("User task"),
    "manualTask": lazy_gettext("Manual task"),
    "serviceTask": lazy_gettext("Service task"),
    "scriptTask": lazy_gettext("Script task"),
    "sendTask": lazy_gettext("Send task"),
    "receiveTask": lazy_gettext("Receive task"),
    "businessRuleTask": lazy_gettext("Business rule task"),
    "subProcess": lazy_gettext("Sub-process"),
    "transaction": lazy_gettext("Transaction"),
    "adHocSubProcess": lazy_gettext("Ad-hoc sub-process"),
    "callActivity": lazy_gettext("Call activity"),
    "exclusiveGateway": lazy_gettext("Exclusive gateway"),
    "inclusiveGateway": lazy_gettext("Inclusive gateway"),
    "parallelGateway": lazy_gettext("Parallel gateway"),
    "eventBasedGateway": lazy_gettext("Event-based gateway"),
    "complexGateway": lazy_gettext("Complex gateway"),
    "sequenceFlow": lazy_gettext("Sequence flow"),
}

DIFF_FIELDS = {
    "type": lazy_gettext("Element type"),
    "name": lazy_gettext("Name on the diagram"),
    "form_key": lazy_gettext("Form"),
    "candidate_groups": lazy_gettext("Candidate groups"),
    "assignee": lazy_gettext("Assignee"),
    "documentation": lazy_gettext("Documentation"),
    "condition": lazy_gettext("Condition"),
    "members": lazy_gettext("Elements in the lane"),
    "incoming": lazy_gettext("Incoming flows"),
    "outgoing": lazy_gettext("Outgoing flows"),
    "lane": lazy_gettext("Lane"),
    "events": lazy_gettext("Event definitions"),
    "timer": lazy_gettext("Timer"),
    "script": lazy_gettext("Script"),
    "attribute": lazy_gettext("Attribute"),  # attribute:<name>, the name shown beside it
    "property": lazy_gettext("Extension property"),  # property:<name> (camunda:property)
}


def element_type(kind: str | None) -> str:
    """`userTask` -> 用户任务 (or User task)."""
    return str(ELEMENT_TYPES.get(kind or "", kind or ""))


def moddle_types() -> dict[str, str]:
    """The element names keyed as bpmn-js knows the types (`bpmn:UserTask`), for the properties panel."""
    return {f"bpmn:{kind[0].upper()}{kind[1:]}": str(name) for kind, name in ELEMENT_TYPES.items()}


def diff_field(field: str) -> str:
    """What a diff line compares: `incoming` -> 流入连线, `attribute:targetRef` -> 属性 (the page shows the name)."""
    return str(DIFF_FIELDS.get(field.partition(":")[0], field))
