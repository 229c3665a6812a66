"""Attachments through the API: add a file to a request (multipart/form-data), list a request's files, and
download one, streamed, with the same headers as the web's download. The work is engine.desk.attachments'.

Adding a file needs no If-Match: it changes nothing another client could have read and overwrite."""
from __future__ import annotations

import http
from typing import Any

from flask import request, url_for
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from app.api.auth import actor, token_required
from app.api.routes import documented_errors
from app.api.schemas import AttachmentSchema, AttachmentUploadArgs
from app.attachments.routes import download_response, settings, upload_limit
from app.web.session import unit_of_work
from engine.desk import attachment_store, attachments
from engine.errors import TooLarge

MULTIPART = "multipart"  # a webargs location: the form's fields and its files together


class _Parser(FlaskParser):
    """webargs' Flask parser, plus the `multipart` location (form fields and file parts in one schema)."""

    __location_map__ = {**FlaskParser.__location_map__, MULTIPART: "load_multipart"}

    def load_multipart(self, req: Any, schema: Any) -> Any:
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class _Blueprint(Blueprint):
    """A blueprint whose `multipart` arguments are documented as one multipart/form-data request body."""

    ARGUMENTS_PARSER = _Parser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             MULTIPART: "multipart/form-data"}


api = _Blueprint("api_attachments", __name__, url_prefix="/api/v1",
                 description="Files on requests and tasks: add (multipart/form-data), list, download")
token_required(api, "api")
BLUEPRINTS = (api,)

_TOO_LARGE = http.HTTPStatus(413).name
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_DOWNLOAD = {"200": {
    "description": "The file's bytes, as an attachment (Content-Disposition with RFC 5987 filename*); served as "
                   "its allowed content type, else application/octet-stream",
    "content": {content_type: _BINARY
                for content_type in sorted(attachments.ALLOWED_CONTENT_TYPES | {attachments.OCTET_STREAM})}}}


@api.url_value_preprocessor
def _upload_size(endpoint: str | None, _values: Any) -> None:
    """An upload may be as large as the file limit allows; one announced larger is refused unread (413)."""
    if endpoint != "api_attachments.add_attachment":
        return
    request.max_content_length = upload_limit()
    if request.content_length is not None and request.content_length > upload_limit():
        limit = settings().max_bytes
        raise TooLarge(f"the upload is {request.content_length} bytes; a file may have at most {limit} bytes",
                       reason="attachment_upload_too_large",
                       params={"size": request.content_length, "limit": limit,
                               "limit_size": attachment_store.size_text(limit)})


@api.post("/instances/<int:instance_id>/attachments")
@api.arguments(AttachmentUploadArgs, location=MULTIPART)
@api.response(201, AttachmentSchema)
@api.alt_response(413, response=_TOO_LARGE)
@documented_errors(api, 404, 409, 422)
def add_attachment(args: dict[str, Any], instance_id: int) -> Any:
    """Add a file to a request (on one of its tasks with task_id); its type is checked by extension and
    content, its size against OPSFLOW_ATTACHMENT_MAX_BYTES (413)."""
    upload = args["file"]
    with unit_of_work() as session:
        added = attachments.add_attachment(session, settings=settings(), instance_id=instance_id, actor=actor(),
                                           stream=upload.stream, filename=upload.filename,
                                           visibility=args["visibility"], task_id=args["task_id"])
    return added, 201, {"Location": url_for("api_attachments.attachment_content", attachment_id=added["id"])}


@api.get("/instances/<int:instance_id>/attachments")
@api.response(200, AttachmentSchema(many=True))
@documented_errors(api, 404)
def list_attachments(instance_id: int) -> Any:
    """The request's files I may see, oldest first (a requester: the customer-visible ones)."""
    with unit_of_work() as session:
        return attachments.list_attachments(session, instance_id=instance_id, actor=actor())


@api.get("/attachments/<int:attachment_id>/content")
@api.doc(responses=_DOWNLOAD)
@documented_errors(api, 404)
def attachment_content(attachment_id: int) -> Any:
    """Download a file, streamed; never to be shown inline (nosniff, CSP sandbox)."""
    with unit_of_work() as session:
        found = attachments.open_attachment(session, settings=settings(), attachment_id=attachment_id,
                                            actor=actor())
    return download_response(found)
