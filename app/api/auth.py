"""Who calls the API: a personal token in `Authorization: Bearer <token>`, nothing else. A session cookie
never authenticates /api/v1 (a page on another site could otherwise make the browser call it: CSRF), which
is also why the API's blueprints are exempt from Flask-WTF's CSRF check.

ETags: an instance's (and its tasks') ETag is its lock version, `"<instance id>.<version>"`. Every call that
changes an existing instance — task claim, release, assign, complete — must send it as If-Match: 428 when
missing, 412 when the instance moved on since (engine.process.runtime.require_version, asked before
the change and again after it, in its transaction). Starting an
instance needs none (nothing exists yet); nor does the alert intake (a monitoring system cannot know it).
"""
from __future__ import annotations

import re
from typing import Any

from flask import g, request
from flask_smorest import Blueprint
from werkzeug.exceptions import PreconditionRequired, Unauthorized

from app.web.session import unit_of_work
from engine import tokens
from engine.users import Actor

_ETAG = re.compile(r'^"(\d+)\.(\d+)"$')


def token_required(blueprint: Blueprint, scope: str) -> None:
    """Every view of the blueprint needs a token with `scope`; its user becomes the actor."""

    @blueprint.before_request
    def _authenticate() -> Any:
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("send a personal API token: Authorization: Bearer <token>")
        with unit_of_work() as session:
            found = tokens.authenticate(session, secret.strip())
        if found is None:
            raise Unauthorized("this API token is unknown or revoked, or its user was deactivated")
        tokens.require_scope(found, scope)
        g.api_actor = found.actor
        return None


def actor() -> Actor:
    found: Actor = g.api_actor
    return found


def etag(instance_id: int, version: int) -> str:
    return f'"{instance_id}.{version}"'


def expected_version(instance_id: int) -> int | None:
    """The instance version the client's If-Match names; None for `*` (any version). 428 without If-Match;
    a tag of another instance, or not ours at all, can never match (412 follows from version -1)."""
    if not request.headers.get("If-Match"):
        raise PreconditionRequired(f"send If-Match with the ETag of instance {instance_id} (GET it first), "
                                   "so that a change made meanwhile is not overwritten")
    if request.if_match.star_tag:
        return None
    for tag in request.if_match.as_set():
        found = _ETAG.match(f'"{tag}"')
        if found and int(found[1]) == instance_id:
            return int(found[2])
    return -1
