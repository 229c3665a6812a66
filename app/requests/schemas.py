"""Input of the search, the all-requests list and the saved filters."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from engine.desk.levels import FAULT_LEVELS
from engine.desk.request_list import MAX_QUERY, SORTS, STATES

PAGE_MAX = 1000


class _Blanks(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _blank_is_absent(self, data: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The filter form sends empty fields as ''; that means 'any'. NUL characters mean nothing (and
        PostgreSQL refuses them in text)."""
        return {key: value.replace("\x00", "") if isinstance(value, str) else value
                for key, value in data.items() if value != ""}


class SearchArgs(_Blanks):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=PAGE_MAX))


class RequestListArgs(_Blanks):
    """The list's filters; the same keys are what a saved filter keeps (engine.desk.request_list.FILTER_KEYS)."""

    process = fields.String(load_default=None, validate=validate.Length(max=200))
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    fault_level = fields.String(load_default=None, validate=validate.OneOf(FAULT_LEVELS))
    zone = fields.String(load_default=None, validate=validate.Length(max=200))
    customer = fields.String(load_default=None, validate=validate.Length(max=200))
    group = fields.String(load_default=None, validate=validate.Length(max=100))
    assignee = fields.String(load_default=None, validate=validate.Length(max=100))
    opened_from = fields.Date(load_default=None)
    opened_to = fields.Date(load_default=None)
    overdue = fields.Boolean(load_default=False)
    sort = fields.String(load_default="newest", validate=validate.OneOf(SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=PAGE_MAX))


class SavedFilterArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    query = fields.String(load_default="", validate=validate.Length(max=MAX_QUERY))
    group_id = fields.String(load_default=None, validate=validate.Length(max=100))

    @pre_load
    def _blank_is_absent(self, data: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {key: value for key, value in data.items() if not (key == "group_id" and value == "")}
