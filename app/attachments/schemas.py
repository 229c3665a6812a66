"""Input of the attachments panel's upload form (the file itself is checked by engine.desk.attachments)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from engine.desk.attachments import CUSTOMER, VISIBILITIES


class UploadArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    visibility = fields.String(load_default=CUSTOMER, validate=validate.OneOf(VISIBILITIES))
    task_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2147483647))
    next = fields.String(load_default=None, validate=validate.Length(max=2000))
