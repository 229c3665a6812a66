"""Domain errors: one small hierarchy with a stable code, an HTTP status and BPMN context.

The CLI prints `str(error)` as one line; the web layer maps `status` to a response and words the
error in the user's language from its `reason` and `params` (app/web/errors.py).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a diagram or input, located by element id (or field id).

    `message` is English; `code` and `params` say the same for a user interface that words it in
    another language (a problem without a code, or with one it does not know, shows `message`).
    """

    element_id: str | None
    message: str
    filename: str | None = None
    code: str | None = field(default=None, compare=False)
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        where = self.element_id or "-"
        if self.filename:
            where = f"{self.filename}:{where}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"element_id": self.element_id, "message": self.message, "filename": self.filename}


class OpsflowError(Exception):
    """Base of every error the engine raises on purpose.

    `reason` is a stable id of this particular error, finer than the class's `code` (e.g.
    "task_missing" for a NotFound), and `params` the values its message names: with them the web
    layer says the same thing in the user's language instead of showing the English `message`.
    """

    code = "error"
    status = 400

    def __init__(self, message: str, *, process_id: str | None = None, version: int | None = None,
                 element_id: str | None = None, details: dict[str, Any] | None = None,
                 reason: str | None = None, params: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.process_id = process_id
        self.version = version
        self.element_id = element_id
        self.details = details or {}
        self.reason = reason
        self.params = dict(params or {})

    def __str__(self) -> str:
        context = []
        if self.process_id:
            context.append(self.process_id + (f" v{self.version}" if self.version else ""))
        if self.element_id:
            context.append(f"element {self.element_id}")
        return f"{self.message} ({', '.join(context)})" if context else self.message

    def to_dict(self) -> dict[str, Any]:
        found = {"code": self.code, "message": self.message, "process_id": self.process_id,
                 "version": self.version, "element_id": self.element_id, **self.details}
        if self.reason:
            found["reason"] = self.reason
            found["params"] = {key: value.isoformat() if isinstance(value, dt.datetime) else value
                               for key, value in self.params.items()}
        return found


class NotFound(OpsflowError):
    code = "not_found"
    status = 404


class Forbidden(OpsflowError):
    code = "forbidden"
    status = 403


class Conflict(OpsflowError):
    """Someone else changed the instance or task first; nothing of this attempt was saved."""

    code = "conflict"
    status = 409


class DatabaseBusy(OpsflowError):
    """Another process held the database's write lock past the busy timeout; nothing was saved."""

    code = "database_busy"
    status = 503

    def __init__(self) -> None:
        super().__init__("the database is busy (locked by another process); try again")


class TaskTaken(Conflict):
    """The task went to a colleague (claimed, or assigned by a manager) while this actor worked on it."""

    code = "task_taken"

    def __init__(self, message: str, *, assignee: str, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.assignee = assignee
        self.details["assignee"] = assignee


class TooLarge(OpsflowError):
    """An upload larger than its limit (413); the message names the file and the limit."""

    code = "too_large"
    status = 413


class InvalidInput(OpsflowError):
    """Submitted data does not fit the form; `field_errors` maps field id to messages."""

    code = "invalid_input"
    status = 422

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.field_errors = field_errors or {}
        self.details["field_errors"] = self.field_errors

    def __str__(self) -> str:
        fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in sorted(self.field_errors.items()))
        base = super().__str__()
        return f"{base}: {fields}" if fields else base


class InvalidDiagram(OpsflowError):
    """A diagram that cannot be deployed; `problems` names each element at fault."""

    code = "invalid_diagram"
    status = 422

    def __init__(self, problems: list[Problem], **kwargs: Any):
        self.problems = problems
        first = str(problems[0]) if problems else "invalid diagram"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"diagram refused: {first}{more}", **kwargs)
        self.details["problems"] = [p.to_dict() for p in problems]


class ExpressionRefused(OpsflowError):
    """An expression in a diagram tried something the restricted evaluator does not allow
    (`reason` says which rule, e.g. "expression_function", for a user interface in another language)."""

    code = "expression_refused"
    status = 422


class ProcessFailed(OpsflowError):
    """The engine could not advance the instance (a gateway with no way out, a bad expression)."""

    code = "process_failed"
    status = 422


class VersionMismatch(OpsflowError):
    """The caller changed an instance on the strength of a version (an HTTP If-Match) it no longer has."""

    code = "version_mismatch"
    status = 412


class ArchiveCorrupted(OpsflowError):
    """An archived document no longer matches the hash recorded when it was archived."""

    code = "archive_corrupted"
    status = 500
