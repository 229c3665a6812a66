"""Input of the knowledge-base pages (the solution itself is checked by the engine's form)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from engine.desk.knowledge import KINDS, STATUSES

PAGE_SIZE = 20


class _Args(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _blank_is_absent(self, data, **kwargs):  # type: ignore[no-untyped-def]
        """Empty filter fields mean 'any'."""
        return {key: value for key, value in data.items() if value != ""}


class SearchArgs(_Args):
    text = fields.String(load_default="", data_key="q", validate=validate.Length(max=500))
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    system = fields.String(load_default=None, validate=validate.Length(max=200))
    device_type = fields.String(load_default=None, validate=validate.Length(max=40))
    category = fields.String(load_default=None, validate=validate.Length(max=100))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    mine = fields.Boolean(load_default=False)
    incident = fields.Integer(load_default=None, validate=validate.Range(min=1))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100_000))


class EditorArgs(_Args):
    incident = fields.Integer(load_default=None, validate=validate.Range(min=1))
    next = fields.String(load_default=None, validate=validate.Length(max=2000))


class LinkArgs(_Args):
    instance_id = fields.Integer(required=True, validate=validate.Range(min=1))
    solution_id = fields.Integer(required=True, validate=validate.Range(min=1))
    next = fields.String(load_default=None, validate=validate.Length(max=2000))


class WaiveArgs(_Args):
    instance_id = fields.Integer(required=True, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    next = fields.String(load_default=None, validate=validate.Length(max=2000))

