"""Input of the portal's pages: the request list, a new request, a chase."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class MyRequestsArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    before = fields.Integer(load_default=None, validate=validate.Range(min=1))


class NewRequestArgs(Schema):
    """Which process the request goes to; the request form itself is checked by the engine."""

    class Meta:
        unknown = EXCLUDE

    process = fields.String(load_default="service_desk", validate=validate.Length(min=1, max=200))


class ChaseArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    note = fields.String(load_default=None, validate=validate.Length(max=2000))
