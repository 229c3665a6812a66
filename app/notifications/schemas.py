"""Input of the notification pages and of /api/v1/notifications."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

from engine.desk.notifications import CHANNELS, KINDS

PAGE_SIZE_MAX = 200


class NotificationListArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    unread = fields.Boolean(load_default=False, metadata={"description": "unread notices only"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PAGE_SIZE_MAX))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class MarkReadArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    next = fields.String(load_default=None, validate=validate.Length(max=2000))


class PreferencesArgs(Schema):
    """The settings form: one checkbox per kind and channel, named `<kind>.<channel>`; a missing box is off."""

    class Meta:
        unknown = EXCLUDE

    @post_load(pass_original=True)
    def _boxes(self, _data: dict[str, Any], original: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {"enabled": {kind: {channel: f"{kind}.{channel}" in original for channel in CHANNELS}
                            for kind in KINDS}}


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    instance_id = fields.Integer(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    text = fields.String(required=True, metadata={"description": "one line in the user's language"})
    link = fields.String(allow_none=True, metadata={"description": "where it leads in the web app (a path)"})
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True)
    email_state = fields.String(required=True, validate=validate.OneOf(("pending", "sent", "failed", "skipped")))


class NotificationPageSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)
    total = fields.Integer(required=True)
    unread = fields.Integer(required=True)


class MarkedSchema(Schema):
    marked = fields.Integer(required=True, metadata={"description": "how many notices became read"})
    unread = fields.Integer(required=True)
