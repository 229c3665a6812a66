"""Input of the sign-in form and the language switch."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from engine.users import LOCALES


class LoginArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    username = fields.String(load_default="", validate=validate.Length(max=100))
    password = fields.String(load_default="", validate=validate.Length(max=1000))
    next = fields.String(load_default=None, validate=validate.Length(max=2000))


class LocaleArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    locale = fields.String(required=True, validate=validate.OneOf(LOCALES))
    next = fields.String(load_default=None, validate=validate.Length(max=2000))
