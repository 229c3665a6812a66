"""Input of the inbox page and of the task actions (the task form itself is checked by the engine)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from engine.desk.inbox import PAGE_SIZE, PAGE_SIZE_MAX, STATES
from engine.desk.levels import FAULT_LEVELS


class InboxArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(load_default="open", validate=validate.OneOf(STATES))
    process_id = fields.String(load_default=None, data_key="process", validate=validate.Length(max=200))
    fault_level = fields.String(load_default=None, data_key="level", validate=validate.OneOf(FAULT_LEVELS))
    after = fields.String(load_default=None, validate=validate.Length(max=60))
    limit = fields.Integer(load_default=PAGE_SIZE, validate=validate.Range(min=1, max=PAGE_SIZE_MAX))
    zone = fields.String(load_default=None, validate=validate.Length(max=40))  # a zone code (engine.desk.zones)

    @pre_load
    def _blank_is_absent(self, data: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The filter form sends empty selects as ''; that means 'any'."""
        return {key: value for key, value in data.items() if value != ""}


class AssignArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    assignee = fields.String(required=True, validate=validate.Length(min=1, max=100))
    next = fields.String(load_default=None, validate=validate.Length(max=2000))


class TaskActionArgs(Schema):
    """Claim and release: only where to go afterwards."""

    class Meta:
        unknown = EXCLUDE

    next = fields.String(load_default=None, validate=validate.Length(max=2000))
