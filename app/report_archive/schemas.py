"""Input and output of the report-archive pages (the engine checks who may see what)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from engine.desk.service_reports import CLASSES, CYCLES, DEFAULT_DUE_DAYS, SCHEDULED_CLASSES


class BrowseArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _blank_is_absent(self, data, **kwargs):  # type: ignore[no-untyped-def]
        """Empty filter fields mean 'any'."""
        return {key: value for key, value in data.items() if value != ""}

    report_class = fields.String(load_default=None, validate=validate.OneOf(CLASSES))
    device_type = fields.String(load_default=None, validate=validate.Length(max=40))
    customer_type = fields.String(load_default=None, validate=validate.Length(max=40))
    business_line = fields.String(load_default=None, validate=validate.Length(max=40))


class ScheduleArgs(BrowseArgs):
    report_class = fields.String(required=True, validate=validate.OneOf(SCHEDULED_CLASSES))
    cycle = fields.String(required=True, validate=validate.OneOf(list(CYCLES)))
    contract = fields.String(load_default=None, validate=validate.Length(max=200))
    customer = fields.String(load_default=None, validate=validate.Length(max=200))
    due_days = fields.Integer(load_default=DEFAULT_DUE_DAYS, validate=validate.Range(min=0, max=90))
    first = fields.Date(load_default=None)


class DocumentSchema(Schema):
    id = fields.Integer()
    version = fields.Integer()
    sha256 = fields.String()
    size = fields.Integer()
    created_at = fields.DateTime()
    created_by = fields.String()


class ReportSchema(Schema):
    id = fields.Integer()
    report_class = fields.String()
    cycle = fields.String(allow_none=True)
    title = fields.String()
    period_start = fields.DateTime()
    period_end = fields.DateTime()
    due_at = fields.DateTime()
    contract = fields.String(allow_none=True)
    customer = fields.String(allow_none=True)
    device_type = fields.String(allow_none=True)
    customer_type = fields.String(allow_none=True)
    business_line = fields.String(allow_none=True)
    status = fields.String()
    archived_at = fields.DateTime(allow_none=True)


class ArchivedSchema(Schema):
    report = fields.Nested(ReportSchema)
    documents = fields.List(fields.Nested(DocumentSchema))


class TrackedSchema(Schema):
    report = fields.Nested(ReportSchema)
    problems = fields.List(fields.String())
    days_late = fields.Integer()
