"""Input of the conversation form: the text, reply or internal note, and the page to go back to."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from engine.desk.conversation import REPLY, VISIBILITIES


class CommentArgs(Schema):
    """The shape only; the engine trims the text and refuses an empty or too long one in the page's language
    (and decides who may post what)."""

    class Meta:
        unknown = EXCLUDE

    body = fields.String(required=True)
    visibility = fields.String(load_default=REPLY, validate=validate.OneOf(VISIBILITIES))
    next = fields.String(load_default=None, validate=validate.Length(max=2000))
