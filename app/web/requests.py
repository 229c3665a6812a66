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
    """`<int:…>` in every route, bounded to what an id column holds unless the route names its own max.

    The bound is in the pattern, not only in `to_python`: werkzeug answers 405 when a path's pattern matched a
    rule of another method (a POST beside the GET) and the GET's converter then refused the value."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", DATABASE_ID_MAX)
        super().__init__(map, *args, **kwargs)
        if not self.signed and self.max is not None and not self.fixed_digits:
            self.regex = digits_up_to(self.max)


def digits_up_to(limit: int) -> str:
    """A regular expression of the decimal numbers from 0 to `limit` (leading zeros allowed below its length):
    shorter numbers, then each digit of `limit` taken lower with any digits after it, then `limit` itself."""
    text = str(limit)
    parts = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for position, digit in enumerate(text):
        lowest = 1 if position == 0 and len(text) > 1 else 0
        rest = len(text) - position - 1
        if int(digit) > lowest:
            parts.append(text[:position] + f"[{lowest}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    parts.append(text)
    return "(?:" + "|".join(parts) + ")"


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
