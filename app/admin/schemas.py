"""Input of the administration pages."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class DirectoryArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    group = fields.String(load_default=None, validate=validate.Length(max=100))


class LogArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    user = fields.String(load_default=None, validate=validate.Length(max=100))
    before = fields.Integer(load_default=None, validate=validate.Range(min=1))
