"""Errors of /api/v1 as problem details (RFC 9457, application/problem+json): type, title, status, detail,
plus the domain error's own fields (code, reason, element_id, field errors, the colleague who took a task)."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, json, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from engine.errors import DatabaseBusy, OpsflowError

PREFIX = "/api/v1"
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:opsflow:problem:"  # type + the error's stable code, e.g. urn:opsflow:problem:task_taken
RETRY_AFTER = 5  # seconds a client is asked to wait after "the database is busy"


class ProblemSchema(Schema):
    """What every error of the API answers (documented once for every operation)."""

    type = fields.String(required=True, metadata={"description": "urn:opsflow:problem:<code>, or about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    code = fields.String()
    reason = fields.String()
    params = fields.Dict()
    element_id = fields.String(allow_none=True)
    process_id = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True)
    assignee = fields.String()
    errors = fields.Dict(metadata={"description": "field -> messages, for 422"})
    field_errors = fields.Dict()


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def problem(status: int, title: str, detail: str | None = None, *, code: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": TYPE_BASE + code if code else "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if code:
        body["code"] = code
    body.update({key: value for key, value in extra.items() if value is not None})
    response = current_app.response_class(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           409: "Conflict", 412: "Precondition failed", 413: "Payload too large", 415: "Unsupported media type",
           422: "Unprocessable content", 428: "Precondition required", 500: "Internal server error",
           503: "Service unavailable"}


def from_domain(error: OpsflowError) -> Response:
    found = error.to_dict()
    found.pop("message", None)
    headers = {"Retry-After": str(RETRY_AFTER)} if isinstance(error, DatabaseBusy) else None
    return problem(error.status, _TITLES.get(error.status, "Error"), error.message, headers=headers,
                   **{key: value for key, value in found.items() if value not in (None, {}, [])})


def from_http(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}  # webargs' 422 carries the messages per location and field
    errors = data.get("messages") or data.get("errors")
    headers = dict(data.get("headers") or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="opsflow"')
    detail = data.get("message") or error.description
    return problem(status, _TITLES.get(status, error.name), detail, code=error.name.lower().replace(" ", "_"),
                   errors=errors, headers=headers)


def unexpected() -> Response:
    """A 500 (the app's handler has logged the error)."""
    return problem(500, _TITLES[500], "The error has been logged; nothing was saved.", code="internal_error")
