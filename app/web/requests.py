"""Request helpers: JSON or HTML, same-site redirects, request parameters through `*Args` schemas."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import request
from marshmallow import Schema, ValidationError
from werkzeug.routing import IntegerConverter

from engine.errors import InvalidInput

# Row ids are 32-bit integers in PostgreSQL: a larger number in a URL is a page that cannot exist (404),
# not a database error (500).
DATABASE_ID_MAX = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` in every route, bounded to what an id column holds unless the route names its own max."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", DATABASE_ID_MAX)
        super().__init__(map, *args, **kwargs)


def wants_json() -> bool:
    """JSON for API clients (JSON body or Accept: application/json), HTML for browsers."""
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def safe_next(target: str | None, default: str) -> str:
    """A same-site path to go back to, never another host (open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def load_args(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """Request parameters through an `*Args` schema; bad ones are a 422 naming each parameter."""
    try:
        return dict(schema.load(data))
    except ValidationError as error:
        problems = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        raise InvalidInput("invalid request parameters",
                           field_errors={str(k): [str(m) for m in v] if isinstance(v, list) else [str(v)]
                                         for k, v in problems.items()}) from None
