"""Personal API tokens (the REST API under /api/v1): made per user, shown once, kept only as the SHA-256
of their secret, revocable, with the time each was last used.

A token acts as its user with that user's groups, so engine.access decides everything it may do, as on the
web; its scopes only narrow what it is for: `api` (the REST endpoints) and `alerts` (monitoring intake).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import access, clock
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.store.api_models import ApiToken
from engine.store.models import Membership, User
from engine.users import Actor

SCOPES = ("api", "alerts")
PREFIX = "ofw_"  # makes a leaked token easy to recognise (secret scanners, logs)
# last_used_at is written at most this often per token: a write per API call would cost more than the call.
LAST_USED_EVERY = dt.timedelta(seconds=60)
MAX_NAME = 100


@dataclass(frozen=True)
class Authenticated:
    """Who a presented token acts as, and what for."""

    actor: Actor
    token_id: int
    scopes: frozenset[str]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def token_row(token: ApiToken) -> dict[str, object]:
    return {"id": token.id, "username": token.username, "name": token.name, "scopes": token.scopes.split(),
            "created_at": token.created_at, "last_used_at": token.last_used_at, "revoked_at": token.revoked_at,
            "revoked_by": token.revoked_by}


def create_token(session: Session, *, owner: Actor, name: str, scopes: list[str] | tuple[str, ...] = ("api",),
                 actor: Actor) -> tuple[ApiToken, str]:
    """A new token of `owner` (made by themselves, or by a user administrator); returns it and its secret,
    which is never stored and cannot be shown again."""
    if actor.username != owner.username:
        access.require_administer_users(actor)
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a token needs a name of 1-{MAX_NAME} characters",
                           field_errors={"name": [f"1-{MAX_NAME} characters"]})
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput(f"scopes must be some of {', '.join(SCOPES)}", field_errors={"scopes": list(SCOPES)})
    if "alerts" in scopes:
        access.require_take_alerts(owner)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(username=owner.username, name=name, secret_sha256=digest(secret),
                     scopes=" ".join(s for s in SCOPES if s in scopes), created_at=clock.now())
    session.add(token)
    session.flush()
    return token, secret


def list_tokens(session: Session, *, owner: str, actor: Actor) -> list[ApiToken]:
    """A user's tokens, newest first (their own, or any user's for a user administrator)."""
    if actor.username != owner:
        access.require_administer_users(actor)
    return list(session.scalars(select(ApiToken).where(ApiToken.username == owner).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, *, token_id: int, actor: Actor) -> ApiToken:
    """Revoke a token at once: its owner or a user administrator. Revoking twice changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.username != actor.username and not access.may_administer_users(actor)):
        raise NotFound(f"API token {token_id} does not exist", reason="token_missing", params={"token_id": token_id})
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = clock.now(), actor.username
        session.flush()
    return token


_PRESENTED = (select(ApiToken.id, ApiToken.username, ApiToken.scopes, ApiToken.last_used_at, Membership.group_id)
              .join(User, User.username == ApiToken.username)
              .outerjoin(Membership, Membership.user_id == User.id)
              .where(ApiToken.revoked_at.is_(None), User.is_active.is_(True)))


def authenticate(session: Session, secret: str) -> Authenticated | None:
    """The user a presented secret acts as, or None (unknown, revoked, or its user deactivated). One Core
    query (the ORM's bookkeeping cost more than the query): every API call asks."""
    if not secret.startswith(PREFIX):
        return None
    rows = session.connection().execute(_PRESENTED.where(ApiToken.secret_sha256 == digest(secret))).all()
    if not rows:
        return None
    token = rows[0]
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        session.connection().execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    groups = frozenset(row.group_id for row in rows if row.group_id is not None)
    return Authenticated(Actor(token.username, groups), token.id, frozenset(token.scopes.split()))


def require_scope(found: Authenticated, scope: str) -> None:
    if scope not in found.scopes:
        raise Forbidden(f"API token {found.token_id} of {found.actor.username} is not for {scope!r} "
                        f"(its scopes: {', '.join(sorted(found.scopes)) or 'none'})", reason="token_scope",
                        params={"scope": scope})
