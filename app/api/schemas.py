"""Input (`*Args`) and output (`*Schema`) of /api/v1. The web's own schemas are reused where they say the
same thing: the task filters (app/inbox), the SLA rows (app/sla) and the knowledge search (app/kb)."""
from __future__ import annotations

from typing import Any

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from werkzeug.datastructures import FileStorage

from app.inbox.schemas import AssignArgs, InboxArgs
from app.kb.schemas import SearchArgs
from app.requests.schemas import RequestListArgs
from app.sla.schemas import AtRiskSchema, PolicySchema
from engine import tokens
from engine.desk import alerts, attachments, conversation
from engine.desk.levels import FAULT_LEVELS
from engine.desk.tasks import TASK_SCOPES

__all__ = ["AssignArgs", "AtRiskSchema", "PolicySchema"]

_TIME = {"format": "date-time"}


class TaskListArgs(InboxArgs):
    """The inbox's filters (process, level); `scope` instead of the inbox's states, pages instead of a cursor."""

    class Meta:
        unknown = EXCLUDE
        exclude = ("state", "after", "limit")

    scope = fields.String(load_default="workable", validate=validate.OneOf(TASK_SCOPES),
                          metadata={"description": "workable: mine and open to my groups; mine: held by me; "
                                                   "visible: every task I may see"})


class KnowledgeArgs(SearchArgs):
    class Meta:
        unknown = EXCLUDE
        exclude = ("incident", "offset")

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    page_size = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class StartArgs(Schema):
    data = fields.Dict(required=True, metadata={"description": "the process's start form (GET the process)"})
    version = fields.Integer(load_default=None, validate=validate.Range(min=1),
                             metadata={"description": "a deployed version; the newest without it"})


class CompleteArgs(Schema):
    data = fields.Dict(load_default=dict, metadata={"description": "the task's form (form_key)"})


class TaskSchema(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    element_id = fields.String(required=True)
    name = fields.String(required=True)
    group = fields.String(allow_none=True)
    form_key = fields.String(allow_none=True)
    state = fields.String(required=True)
    assignee = fields.String(allow_none=True)
    due_at = fields.String(allow_none=True, metadata=_TIME)
    created_at = fields.String(required=True, metadata=_TIME)
    completed_at = fields.String(allow_none=True, metadata=_TIME)
    completed_by = fields.String(allow_none=True)
    process_id = fields.String()
    title = fields.String(allow_none=True)
    number = fields.String(allow_none=True, metadata={"description": "the request's readable number"})
    fault_level = fields.String(allow_none=True)
    instance_version = fields.Integer(metadata={"description": "the instance's lock version (its ETag)"})


class InstanceSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(allow_none=True, metadata={"description": "the request's readable number "
                                                                       "(INC-2026-000123)"})
    process_id = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    title = fields.String(allow_none=True)
    fault_level = fields.String(allow_none=True)
    started_by = fields.String(allow_none=True)
    started_at = fields.String(required=True, metadata=_TIME)
    ended_at = fields.String(allow_none=True, metadata=_TIME)
    lock_version = fields.Integer(required=True)
    open_tasks = fields.List(fields.Nested(TaskSchema), required=True)


class HistoryEventSchema(Schema):
    seq = fields.Integer(required=True)
    kind = fields.String(required=True)
    at = fields.String(required=True, metadata=_TIME)
    actor = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    payload = fields.Dict(required=True)
    hash = fields.String(required=True)


class CommentListArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    visibility = fields.String(load_default=None, validate=validate.OneOf(conversation.VISIBILITIES),
                               metadata={"description": "only replies or only internal notes (a requester "
                                                        "never gets internal notes)"})


class CommentArgs(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=conversation.BODY_LIMIT),
                         metadata={"description": "the text; blank space around it is trimmed, it may not be "
                                                  "empty"})
    visibility = fields.String(load_default=conversation.REPLY, validate=validate.OneOf(conversation.VISIBILITIES),
                               metadata={"description": "reply: the requester reads it; internal: a work note "
                                                        "for the agents (not the requester's to post)"})


class CommentSchema(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    author = fields.String(required=True)
    visibility = fields.String(required=True, validate=validate.OneOf(conversation.VISIBILITIES))
    body = fields.String(required=True)
    created_at = fields.DateTime(required=True, format="iso")
    intact = fields.Boolean(required=True, metadata={"description": "false when the text no longer matches "
                                                                    "the sha256 its history event recorded"})


class ProcessSchema(Schema):
    process_id = fields.String(required=True)
    newest_version = fields.Integer(required=True)


class ChoiceSchema(Schema):
    value = fields.String(required=True)
    label_zh = fields.String(required=True)
    label_en = fields.String(required=True)


class FormFieldSchema(Schema):
    id = fields.String(required=True)
    type = fields.String(required=True)
    required = fields.Boolean(required=True)
    label_zh = fields.String(required=True)
    label_en = fields.String(required=True)
    choices = fields.List(fields.Nested(ChoiceSchema), required=True)


class ProcessDetailSchema(Schema):
    process_id = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True)
    start_form_key = fields.String(allow_none=True)
    deployed_at = fields.DateTime(required=True)
    start_form = fields.List(fields.Nested(FormFieldSchema), required=True)


class HitSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    system = fields.String(allow_none=True)
    device_type = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    version = fields.Integer(required=True)
    author = fields.String(required=True)
    updated_at = fields.DateTime(required=True)
    snippet = fields.Function(lambda hit: "".join(text for text, _ in hit.snippet), required=True)


class KnowledgeSchema(Schema):
    hits = fields.List(fields.Nested(HitSchema), required=True)
    has_more = fields.Boolean(required=True)
    terms = fields.List(fields.String(), required=True)


# --- tokens and alerts ------------------------------------------------------------------------------

class TokenArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=tokens.MAX_NAME))
    scopes = fields.List(fields.String(validate=validate.OneOf(tokens.SCOPES)), load_default=lambda: ["api"],
                         validate=validate.Length(min=1))


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    name = fields.String(required=True)
    scopes = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)


class NewTokenSchema(TokenSchema):
    secret = fields.String(required=True, metadata={"description": "shown this once; only its SHA-256 is kept"})


class _Loose(Schema):
    """Monitoring payloads carry more than we read: extra keys are kept (and part of the notice's digest)."""

    class Meta:
        unknown = "include"


class AlertmanagerAlertArgs(_Loose):
    status = fields.String(required=True, validate=validate.OneOf(("firing", "resolved")))
    labels = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    annotations = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    startsAt = fields.String(load_default=None)
    endsAt = fields.String(load_default=None)
    generatorURL = fields.String(load_default=None)
    fingerprint = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class AlertmanagerArgs(_Loose):
    """Prometheus Alertmanager's webhook payload, version 4."""

    version = fields.String(required=True, validate=validate.Equal("4"))
    status = fields.String(validate=validate.OneOf(("firing", "resolved")))
    receiver = fields.String()
    groupKey = fields.String()
    groupLabels = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    commonLabels = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    commonAnnotations = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    externalURL = fields.String()
    alerts = fields.List(fields.Nested(AlertmanagerAlertArgs), required=True,
                         validate=validate.Length(min=1, max=200))


class ZabbixArgs(_Loose):
    """A Zabbix-style event (a media type's webhook script sends it; see docs/api.md)."""

    event_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    status = fields.String(required=True, validate=validate.OneOf(("PROBLEM", "RESOLVED", "problem", "resolved")))
    host = fields.String(required=True, validate=validate.Length(min=1, max=150))
    trigger = fields.String(required=True, validate=validate.Length(min=1, max=200))
    trigger_id = fields.String(load_default=None, validate=validate.Length(max=40))
    severity = fields.String(required=True, validate=validate.Length(min=1, max=40))
    message = fields.String(load_default=None, validate=validate.Length(max=5000))
    system = fields.String(load_default=None, validate=validate.Length(max=200))
    organisation = fields.String(load_default=None, validate=validate.Length(max=200))
    value = fields.String(load_default=None, validate=validate.Length(max=200))


class AlertResultSchema(Schema):
    fingerprint = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(("opened", "noted", "resolved", "ignored")))
    request_id = fields.Integer(allow_none=True, required=True)


class AlertResultsSchema(Schema):
    results = fields.List(fields.Nested(AlertResultSchema), required=True)


class AlertLevelArgs(Schema):
    process_id = fields.String(required=True, validate=validate.OneOf(alerts.PROCESSES))
    fault_level = fields.String(required=True, validate=validate.OneOf(FAULT_LEVELS))


class AlertLevelSchema(Schema):
    source = fields.String(required=True)
    severity = fields.String(required=True)
    process_id = fields.String(required=True)
    fault_level = fields.String(required=True)
    updated_by = fields.String(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


# --- requests: the agents' search and list (engine.desk.request_search, request_list) -------------------

class RequestsArgs(RequestListArgs):
    """The all-requests list's filters, and `q`: the search box's words or number (best first when given)."""

    class Meta:
        unknown = EXCLUDE

    q = fields.String(load_default="", validate=validate.Length(max=200),
                      metadata={"description": "a request number (whole or its start), or words of the title, "
                                               "requester, organisation or text"})
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class RequestSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(allow_none=True, required=True)
    title = fields.String(allow_none=True)
    process_id = fields.String(required=True)
    status = fields.String(required=True)
    fault_level = fields.String(allow_none=True)
    started_by = fields.String(allow_none=True)
    requester_name = fields.String(allow_none=True)
    started_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)
    customer = fields.String(allow_none=True)
    zone = fields.String(allow_none=True)
    assigned_group = fields.String(allow_none=True)
    resolve_due_at = fields.DateTime(allow_none=True)
    is_overdue = fields.Boolean(required=True)
    snippet = fields.Function(lambda row: "".join(text for text, _ in row.snippet), required=True,
                              metadata={"description": "the search's: text around the words found"})


class RequestPageSchema(Schema):
    requests = fields.List(fields.Nested(RequestSchema), required=True)
    page = fields.Integer(required=True)
    has_more = fields.Boolean(required=True)
    total = fields.Integer(allow_none=True, required=True,
                           metadata={"description": "how many match (the list's filters alone; null for a search)"})
    terms = fields.List(fields.String(), required=True, metadata={"description": "the words searched for"})


# --- attachments (app/api/attachments.py) -----------------------------------------------------------

class FileField(Upload):
    """A file part of a multipart body: its bytes are read by the engine, in chunks, never here."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> FileStorage:
        if not isinstance(value, FileStorage) or not value.filename:
            raise ValidationError("send the file as a file part with a file name")
        return value


class AttachmentUploadArgs(Schema):
    """multipart/form-data: the file, who sees it, and the task it goes with (optional)."""

    class Meta:
        unknown = EXCLUDE

    file = FileField(required=True, metadata={"description": "the file; its name decides the type with its "
                                                             "first bytes (pdf, png, jpg, gif, zip, Office, txt, "
                                                             "csv, log)"})
    visibility = fields.String(load_default="customer", validate=validate.OneOf(attachments.VISIBILITIES),
                               metadata={"description": "customer: the requester sees it too; internal: staff only"})
    task_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2147483647),
                             metadata={"description": "one of the request's tasks the file goes with"})


class AttachmentSchema(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    task_id = fields.Integer(allow_none=True)
    filename = fields.String(required=True, metadata={"description": "the name it is downloaded under"})
    original_filename = fields.String(required=True, metadata={"description": "the name as uploaded"})
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    visibility = fields.String(required=True)
    uploaded_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
