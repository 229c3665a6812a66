"""满意度回访, the service desk's call to the requester (seed 000: 服务台 calls the user back).

The task is the service desk's; the requester may answer their own survey in the portal instead
(engine.access.answers_own_survey), and whichever answer comes first completes it. Nobody answering
within the callback period closes the case by itself: a closing timer on the task (its duration is the
workflow variable `callback_close_after`) leads to an end event carrying `auto_close`, and the close is
recorded as `case_auto_closed` with its reason.

The period is `OPSFLOW_CALLBACK_CLOSE_AFTER_HOURS` (default 72). An instance takes it, as engine data, at
its first completion in a diagram that reads it, so the audit re-executes it as it ran and a later change
of the setting leaves running cases alone.
"""
from __future__ import annotations

import datetime as dt
import os
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.process import history, hooks, runtime
from engine.process.definitions import ParsedDefinition

PERIOD_VARIABLE = "callback_close_after"
SETTING = "OPSFLOW_CALLBACK_CLOSE_AFTER_HOURS"
DEFAULT_HOURS = 72.0
# The end event an unanswered call leads to carries this camunda:property; its value is the reason code.
AUTO_CLOSE = "auto_close"
CASE_AUTO_CLOSED = history.CASE_AUTO_CLOSED
REASONS = {"callback_unanswered": "nobody answered the satisfaction call (满意度回访) within the callback period"}


def close_after() -> dt.timedelta:
    """The callback period from the environment; a value that is not a positive number of hours is refused."""
    text = os.environ.get(SETTING, "").strip()
    try:
        hours = float(text) if text else DEFAULT_HOURS
    except ValueError:
        raise ValueError(f"{SETTING} must be a positive number of hours, got {text!r}") from None
    if not 0 < hours <= 24 * 366:
        raise ValueError(f"{SETTING} must be more than 0 and at most a year in hours, got {text!r}")
    return dt.timedelta(hours=hours)


def iso_duration(period: dt.timedelta) -> str:
    return f"PT{int(period.total_seconds())}S"


def reads_period(definition: ParsedDefinition) -> bool:
    """Whether a diagram has a timer on the callback period (remembered on the cached parsed definition)."""
    cached: bool | None = definition.__dict__.get("_reads_callback_period")
    if cached is None:
        cached = any(isinstance(definition_ := getattr(task_spec, "event_definition", None), TimerEventDefinition)
                     and PERIOD_VARIABLE in (definition_.expression or "")
                     for spec in (definition.spec, *definition.subprocess_specs.values())
                     for task_spec in spec.task_specs.values())
        definition.__dict__["_reads_callback_period"] = cached
    return cached


def period_on_completion(completion: hooks.Completion) -> dict[str, Any]:
    """task_completing: the callback period, once per instance (also for one moved here from an older version)."""
    if PERIOD_VARIABLE in completion.workflow.data or not reads_period(completion.definition):
        return {}
    return {PERIOD_VARIABLE: iso_duration(close_after())}


def end_property(definition: ParsedDefinition, element_id: str, name: str) -> str | None:
    """A camunda:property of an element of the definition (None when it has none)."""
    for spec in (definition.spec, *definition.subprocess_specs.values()):
        task_spec = spec.task_specs.get(element_id)
        if task_spec is not None:
            value = (getattr(task_spec, "extensions", None) or {}).get(name)
            return value if isinstance(value, str) and value else None
    return None


def record_auto_close(recorded: hooks.Recorded) -> None:
    """change_recorded: a case closed because nobody answered the call says so, and why, in its history."""
    if recorded.end_element is None:
        return
    reason = end_property(recorded.definition, recorded.end_element, AUTO_CLOSE)
    if reason is None:
        return
    runtime.record_events(recorded.session, instance=recorded.instance, actor=runtime.SYSTEM_ACTOR,
                          events=[(CASE_AUTO_CLOSED, {"reason": reason, "message": REASONS.get(reason, reason),
                                                      "end_element": recorded.end_element})])
