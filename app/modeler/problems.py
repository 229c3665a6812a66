"""Diagram problems in the page's language.

The engine words each problem in English and adds a stable code with its parameters
(engine.errors.Problem); this module words the codes it knows in the user's language. English
pages show the engine's own words, and so does every problem whose code is not listed here, so a
check added to the engine shows (in English) until it is translated.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import LazyString, lazy_gettext

from app.modeler import names
from app.web.error_details import DETAILS
from app.web.i18n import locale
from engine.errors import Problem

TEXTS = {
    "schema": lazy_gettext("BPMN 2.0 schema: %(detail)s"),
    "schema_more": lazy_gettext("BPMN 2.0 schema: %(count)s more errors"),
    "unsupported_element": lazy_gettext("%(kind)s is not supported: %(reason)s"),
    "unsupported_event": lazy_gettext("%(event)s on a %(kind)s are not supported: %(reason)s"),
    "data_store": lazy_gettext("Data stores are not supported: opsflow keeps process data in form fields"),
    "flow_source_unknown": lazy_gettext("The source of this sequence flow, %(ref)s, is not an element of the same "
                                        "(sub-)process"),
    "flow_target_unknown": lazy_gettext("The target of this sequence flow, %(ref)s, is not an element of the same "
                                        "(sub-)process"),
    "boundary_not_attached": lazy_gettext("This boundary event is attached to %(attached)s, which is not an activity "
                                          "of the same (sub-)process"),
    "no_start_event": lazy_gettext("The %(kind)s has no start event"),
    "unreachable": lazy_gettext("Unreachable: no path from a start event leads to this %(kind)s"),
    "unreachable_boundary": lazy_gettext("Unreachable: it is attached to %(attached)s, which is unreachable"),
    "dead_end": lazy_gettext("Dead end: this %(kind)s has no outgoing sequence flow (only end events may end a "
                             "path)"),
    "no_candidate_group": lazy_gettext("This user task has no candidate group (camunda:candidateGroups) or "
                                       "assignee%(hint)s"),
    "group_is_expression": lazy_gettext("Candidate group %(group)s is an expression opsflow cannot resolve; list "
                                        "opsflow group ids"),
    "unknown_group": lazy_gettext("Candidate group %(group)s is not an opsflow group (groups: %(groups)s)"),
    "assignee_is_expression": lazy_gettext("Assignee %(assignee)s is an expression opsflow cannot resolve; use "
                                           "${initiator} or a user name"),
    "no_form_key": lazy_gettext("This user task has no form (camunda:formKey)%(hint)s"),
    "unknown_form_key": lazy_gettext("Form key %(form_key)s has no definition in forms/"),
    "default_not_leaving": lazy_gettext("The default flow %(default)s does not leave this gateway"),
    "default_with_condition": lazy_gettext("The default flow of a gateway must not have a condition"),
    "unconditioned_flows": lazy_gettext("Outgoing flows without a condition that are not the default flow: "
                                        "%(flows)s"),
    "call_without_process": lazy_gettext("This call activity names no process (calledElement)"),
    "called_process_missing": lazy_gettext("Called process %(called)s was not found: it is neither in this diagram "
                                           "nor deployed"),
    "called_process_not_executable": lazy_gettext('Called process %(called)s is marked isExecutable="false"'),
    "foreign_expression": lazy_gettext("%(what)s %(source)s looks like a JUEL/FEEL expression; opsflow expressions "
                                       "are Python over form fields (e.g. %(example)s)"),
    "expression_refused": lazy_gettext("%(what)s: %(detail)s"),
    "timer_missing": lazy_gettext("This timer has no time, duration or cycle"),
    "timer_empty": lazy_gettext("%(what)s is empty"),
    "timer_cycle_zero_count": lazy_gettext(
        "Timer cycle %(cycle)s repeats 0 times, so it never fires; give a count "
        "of at least 1 (R3/PT1H) or none to repeat until the activity ends (R/PT1H)"),
    "timer_cycle_zero_period": lazy_gettext(
        "Timer cycle %(cycle)s has a period of zero, so it would fall due at the "
        "same instant forever; give a period longer than zero (e.g. R/PT1H)"),
    "timer_not_text": lazy_gettext("%(what)s %(text)s must give ISO 8601 text"),
    "timer_not_iso": lazy_gettext("%(what)s %(value)s is not valid ISO 8601 (e.g. %(examples)s)"),
    "script_format": lazy_gettext("Script format %(format)s is not supported; scripts are Python statements run by "
                                  "opsflow's restricted evaluator"),
    "file_too_large": lazy_gettext("The file is %(size)s bytes; the limit is %(limit)s bytes"),
    "doctype": lazy_gettext("A DOCTYPE or ENTITY declaration is not allowed in BPMN files"),
    "not_xml": lazy_gettext("Not well-formed XML: %(detail)s"),
    "not_bpmn": lazy_gettext("The root element is %(root)s, not bpmn:definitions (is this a BPMN 2.0 file?)"),
    "too_many_elements": lazy_gettext("%(count)s XML elements; the limit is %(limit)s"),
    "nothing_to_run": lazy_gettext('Nothing to run: the processes (%(processes)s) are marked isExecutable="false"'),
    "no_such_process": lazy_gettext("There is no executable process with this id in the diagram"),
    "spiff_parse": lazy_gettext("SpiffWorkflow cannot parse this: %(detail)s"),
}
_NO_PROCESS = lazy_gettext("Nothing to run: the file contains no process")
_FOREIGN_HINT = lazy_gettext(" (found %(found)s; opsflow reads camunda:%(attribute)s)")
_DECISION = lazy_gettext("it calls DMN decision %(decision)s (camunda:decisionRef); %(reason)s")
_HUMAN_TASK = lazy_gettext("it would wait for a person, but opsflow cannot offer it to anyone without a form and a "
                           "group; use a user task with a form (camunda:formKey) and a candidate group")
UNSUPPORTED_REASONS = {
    "serviceTask": lazy_gettext("service tasks call external systems, and opsflow runs no external code"),
    "sendTask": lazy_gettext("opsflow has no messaging, so nothing would receive the message"),
    "receiveTask": lazy_gettext("opsflow has no messaging, so nothing could deliver the message and the task would "
                                "wait forever"),
    "businessRuleTask": lazy_gettext("opsflow does not run DMN decision tables; use gateway conditions or a script "
                                     "task"),
    "task": _HUMAN_TASK,
    "manualTask": _HUMAN_TASK,
    "adHocSubProcess": lazy_gettext("opsflow runs only sub-processes whose steps are joined by sequence flows"),
    "transaction": lazy_gettext("opsflow has no cancel or compensation"),
    "complexGateway": lazy_gettext("use an exclusive, inclusive or parallel gateway"),
}
UNSUPPORTED_EVENTS = {
    "messageEventDefinition": (lazy_gettext("Message events"),
                               lazy_gettext("opsflow has no messaging, so nothing could send or receive the message")),
    "signalEventDefinition": (lazy_gettext("Signal events"), lazy_gettext("opsflow does not broadcast signals")),
    "conditionalEventDefinition": (lazy_gettext("Conditional events"),
                                   lazy_gettext("opsflow does not watch conditions on process data")),
    "compensateEventDefinition": (lazy_gettext("Compensation events"),
                                  lazy_gettext("opsflow does not run compensation")),
    "cancelEventDefinition": (lazy_gettext("Cancel events"), lazy_gettext("opsflow has no transactions to cancel")),
}
# What an expression is for (engine.process.validation passes these words).
EXPRESSION_KINDS = {
    "condition": lazy_gettext("Condition"),
    "script": lazy_gettext("Script"),
    "timer timeDate": lazy_gettext("Timer (point in time)"),
    "timer timeDuration": lazy_gettext("Timer (duration)"),
    "timer timeCycle": lazy_gettext("Timer (cycle)"),
    "loopCardinality": lazy_gettext("Loop count"),
    "loopCondition": lazy_gettext("Loop condition"),
    "completionCondition": lazy_gettext("Completion condition"),
}


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ("、" if locale().startswith("zh") else ", ").join(str(item) for item in value)
    return str(value)


def _hint(raw: Mapping[str, Any], params: dict[str, str]) -> None:
    params["hint"] = str(_FOREIGN_HINT) % params if raw.get("found") else ""


def _unsupported_element(raw: Mapping[str, Any], params: dict[str, str]) -> None:
    params["reason"] = str(UNSUPPORTED_REASONS[raw["kind"]])
    if raw.get("decision") and raw["kind"] == "businessRuleTask":
        params["reason"] = str(_DECISION) % params


def _unsupported_event(raw: Mapping[str, Any], params: dict[str, str]) -> None:
    event, reason = UNSUPPORTED_EVENTS[raw["definition"]]
    params["event"], params["reason"] = str(event), str(reason)


def _expression_refused(raw: Mapping[str, Any], params: dict[str, str]) -> None:
    reason = DETAILS.get(raw.get("reason") or "")
    if reason is not None:
        params["detail"] = str(reason) % {key: _shown(value) for key, value in raw["reason_params"].items()}


# Codes whose wording needs more than their own parameters.
_PREPARE: dict[str, Callable[[Mapping[str, Any], dict[str, str]], None]] = {
    "no_candidate_group": _hint, "no_form_key": _hint, "unsupported_element": _unsupported_element,
    "unsupported_event": _unsupported_event, "expression_refused": _expression_refused,
}


def _template(problem: Problem) -> LazyString | None:
    if problem.code == "nothing_to_run" and not problem.params.get("processes"):
        return _NO_PROCESS
    return TEXTS.get(problem.code or "")


def problem_text(problem: Problem) -> str:
    """The problem in the page's language; the engine's English when the page is English or the code is new."""
    template = _template(problem)
    if template is None or locale().startswith("en"):
        return problem.message
    raw = problem.params
    params = {key: _shown(value) for key, value in raw.items()}
    try:
        if "kind" in raw:
            params["kind"] = names.element_type(raw["kind"])
        if "what" in raw:
            params["what"] = str(EXPRESSION_KINDS[raw["what"]])
        if problem.code in _PREPARE:
            _PREPARE[problem.code](raw, params)
        return str(template) % params
    except (KeyError, TypeError, ValueError):  # parameters this wording does not expect: the engine's words
        return problem.message


def problem_dicts(problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems as the modeler page shows them: where, the code, and the message in the page's language."""
    return [{"element_id": p.element_id, "filename": p.filename, "code": p.code, "message": problem_text(p)}
            for p in problems]
