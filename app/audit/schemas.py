"""Input of the auditors' pages, the names they show for event kinds and SLA outcomes, and the replay JSON."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext
from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from engine.audit.views import KINDS, PAGE_SIZE, PAGE_SIZE_MAX, STATUSES
from engine.process import history

KIND_NAMES = {
    history.INSTANCE_STARTED: lazy_gettext("Request raised"),
    history.TASK_READY: lazy_gettext("Task opened"),
    history.TASK_CLAIMED: lazy_gettext("Task claimed"),
    history.TASK_RELEASED: lazy_gettext("Task released"),
    history.TASK_ASSIGNED: lazy_gettext("Task assigned"),
    history.TASK_COMPLETED: lazy_gettext("Task completed"),
    history.TASK_CANCELLED: lazy_gettext("Task cancelled"),
    history.GATEWAY_TAKEN: lazy_gettext("Decision taken"),
    history.TIMER_FIRED: lazy_gettext("Timer fired"),
    history.FAULT_LEVEL_CHANGED: lazy_gettext("Fault level changed"),
    history.REQUEST_CHASED: lazy_gettext("Request chased"),
    history.COMPLAINT_RAISED: lazy_gettext("Became a complaint"),
    history.SOLUTION_LINKED: lazy_gettext("Solution linked"),
    history.NO_REUSABLE_SOLUTION: lazy_gettext("No reusable solution recorded"),
    history.ALERT_REPEATED: lazy_gettext("Alert repeated"),
    history.ALERT_RESOLVED: lazy_gettext("Alert resolved"),
    history.INSTANCE_MIGRATED: lazy_gettext("Moved to another version"),
    history.ZONE_CORRECTED: lazy_gettext("Zone corrected"),
    history.INSTANCE_ENDED: lazy_gettext("Request closed"),
    history.INSTANCE_FAILED: lazy_gettext("Request failed"),
    history.HANDED_OVER: lazy_gettext("Handed over to another process"),
    history.CASE_AUTO_CLOSED: lazy_gettext("Closed automatically"),
    history.ATTACHMENT_ADDED: lazy_gettext("File attached"),
    history.COMMENT_ADDED: lazy_gettext("Comment added"),
}
SLA_TARGET_NAMES = {
    "respond": lazy_gettext("Response target"),
    "plan": lazy_gettext("Plan target"),
    "resolve": lazy_gettext("Resolution target"),
    "emergency_plan": lazy_gettext("Emergency plan target"),
    "fault_report": lazy_gettext("Fault report target"),
    None: lazy_gettext("Task deadline"),
}
SLA_STATE_NAMES = {
    "met": lazy_gettext("target met"),
    "missed": lazy_gettext("target missed"),
    "open": lazy_gettext("still open"),
    "cancelled": lazy_gettext("task cancelled"),
    "untracked": lazy_gettext("no task measures it"),
}
CHANGE_NAMES = {
    "added": lazy_gettext("added"),
    "changed": lazy_gettext("changed"),
    "removed": lazy_gettext("removed"),
}
CHECK_NAMES = {
    "chain": lazy_gettext("hash chain"),
    "replay": lazy_gettext("re-execution"),
    "final": lazy_gettext("final state"),
}


def kind_name(kind: str) -> str:
    return str(KIND_NAMES.get(kind, kind))


class _Args(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _blank_is_absent(self, data: Any, **kwargs: Any) -> dict[str, Any]:
        """Filter forms send empty selects as ''; that means 'any'."""
        return {key: value for key, value in dict(data).items() if value != ""}


class InstancesArgs(_Args):
    process_id = fields.String(load_default=None, data_key="process", validate=validate.Length(max=200))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1))
    limit = fields.Integer(load_default=PAGE_SIZE, validate=validate.Range(min=1, max=PAGE_SIZE_MAX))


class HistoryArgs(_Args):
    """Filters of the history page: one event kind, one actor."""

    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    who = fields.String(load_default=None, data_key="actor", validate=validate.Length(max=100))


class _Event(Schema):
    seq = fields.Integer()
    kind = fields.String()
    kind_name = fields.Function(lambda e: kind_name(e["kind"]))
    at = fields.String()
    actor = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    name = fields.Function(lambda e: e["payload"].get("name"))
    taken = fields.Function(lambda e: e["payload"].get("taken"))


class StepSchema(Schema):
    """One replay step as replay.js reads it; labels and times already in the page's language."""

    seq = fields.Integer()
    event = fields.Nested(_Event)
    at_text = fields.String()
    status = fields.String()
    ready = fields.List(fields.String())
    active = fields.List(fields.String())
    completed = fields.List(fields.String())
    open_tasks = fields.List(fields.Dict())
    waiting_timers = fields.List(fields.Dict())
    data = fields.List(fields.Tuple((fields.String(), fields.String())))
    visits = fields.Dict(keys=fields.String(), values=fields.Integer())
    divergence = fields.Dict(allow_none=True)
