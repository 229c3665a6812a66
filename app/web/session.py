"""The signed-in user, the request's unit of work and the sign-in guard of every blueprint."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, current_app, g, request
from flask_login import LoginManager, UserMixin, current_user
from sqlalchemy.orm import Session

from app import database
from engine import access, users
from engine.errors import Forbidden, NotFound
from engine.store.models import User

login_manager = LoginManager()


class WebUser(UserMixin):
    """The signed-in user as pages need it: plain data, loaded once per request."""

    def __init__(self, username: str, display_name: str, groups: frozenset[str], locale: str):
        self.username = username
        self.display_name = display_name
        self.groups = groups
        self.locale = locale

    @classmethod
    def from_model(cls, user: User) -> WebUser:
        return cls(user.username, user.display_name, frozenset(g.id for g in user.groups), user.locale)

    def get_id(self) -> str:
        return self.username

    @property
    def actor(self) -> users.Actor:
        return users.Actor(self.username, self.groups)

    @property
    def is_auditor(self) -> bool:
        return self.actor.is_auditor


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One request's transaction: commits when the block ends, rolls back on any error."""
    with database(current_app).transaction() as db_session:
        yield db_session


def actor() -> users.Actor:
    return current_user.actor


def may(action: str) -> bool:
    """Templates ask engine.access what the signed-in user may do: may('audit') is access.may_audit(actor)."""
    return bool(current_user.is_authenticated and getattr(access, f"may_{action}")(actor()))


def count_unread_notifications() -> None:
    """before_request: the bell's count, read before the view opens its unit of work — a page rendered inside
    one must not open a second (on SQLite it would wait for the first one's write lock)."""
    if request.method not in ("GET", "HEAD") or request.endpoint in (None, "static") \
            or (request.blueprint or "").startswith("api") or not current_user.is_authenticated:
        return
    from engine.desk import notifications

    with unit_of_work() as db_session:
        g.unread_notifications = notifications.unread_count(db_session, actor=actor())


def unread_notifications() -> int:
    """The bell's count in the navigation bar: the signed-in user's unread in-app notices (0 when not read)."""
    return int(g.get("unread_notifications", 0))


def login_required_for(blueprint: Blueprint, *, read_only_for_auditors: bool = True) -> None:
    """Every view of the blueprint needs a signed-in user; auditors may look but never POST."""

    @blueprint.before_request
    def _check() -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if read_only_for_auditors and request.method not in ("GET", "HEAD", "OPTIONS") and current_user.is_auditor:
            raise Forbidden(f"{current_user.username} is an auditor: auditors read, they never change anything",
                            reason="auditor_read_only", params={"username": current_user.username})
        return None


def load_user(username: str) -> WebUser | None:
    with unit_of_work() as db_session:
        try:
            return WebUser.from_model(users.get_user(db_session, username))
        except NotFound:
            return None
