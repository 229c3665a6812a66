"""Users administration: user administrators (engine.access.USER_ADMINS) create users, change their names,
addresses and groups, reset passwords, deactivate and reactivate them, each in the caller's transaction
and each written to the user administration log (never a password, only that one was set).

The last active user administrator is never deactivated nor taken out of the group; nobody deactivates
themselves or changes their own groups (granting a role is another administrator's act). A deactivated
user cannot sign in; the tasks they had claimed go back to their groups through the runtime, so each
instance's history records it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import access, users
from engine.errors import InvalidInput, NotFound
from engine.process import runtime
from engine.status import TaskState
from engine.store.models import Group, Membership, TaskRecord, User, UserAdminLog
from engine.users import Actor

USER_CREATED = "user_created"
USER_CHANGED = "user_changed"
PASSWORD_RESET = "password_reset"
USER_DEACTIVATED = "user_deactivated"
USER_REACTIVATED = "user_reactivated"
ACTIONS = (USER_CREATED, USER_CHANGED, PASSWORD_RESET, USER_DEACTIVATED, USER_REACTIVATED)

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LOG_PAGE = 100


@dataclass(frozen=True)
class Deactivation:
    """What deactivating a user did to the tasks they held."""

    released: list[int]  # task ids given back to their groups
    kept: list[int]  # the requester's own tasks: they never go to a group, so they stay with the user


def _refuse(message: str, reason: str, field: str, **params: Any) -> InvalidInput:
    return InvalidInput(message, field_errors={field: [message]}, reason=reason, params=params)


def _log(session: Session, actor: Actor, action: str, username: str, detail: dict[str, Any]) -> None:
    session.add(UserAdminLog(actor=actor.username, action=action, username=username, detail=detail))


def _created(user: User) -> dict[str, Any]:
    return {"after": {"display_name": user.display_name, "email": user.email,
                      "groups": sorted(g.id for g in user.groups)}}


def log_console_creation(session: Session, *, user: User, operator: str) -> None:
    """A user the server's operator created with `flask opsflow create-user` (how the first user
    administrator comes to be) is in the log too, the operator named as `console:<login>`."""
    session.add(UserAdminLog(actor=f"console:{operator}"[:100], action=USER_CREATED, username=user.username,
                             detail=_created(user)))
    session.flush()


def _user(session: Session, username: str) -> User:
    """The user whatever their state (get_user answers only for active ones)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"there is no user {username!r}", reason="user_unknown", params={"username": username})
    return user


def _groups(session: Session, group_ids: list[str]) -> list[Group]:
    wanted = sorted(set(group_ids))
    if not wanted:
        raise _refuse("choose at least one group", "groups_empty", "groups")
    found = list(session.scalars(select(Group).where(Group.id.in_(wanted)).order_by(Group.id)))
    unknown = sorted(set(wanted) - {group.id for group in found})
    if unknown:
        raise _refuse(f"unknown groups: {', '.join(unknown)}", "groups_unknown", "groups", groups=", ".join(unknown))
    return found


def _display_name(value: str | None, username: str) -> str:
    name = (value or "").strip() or username
    if len(name) > 200:
        raise _refuse("the display name is longer than 200 characters", "display_name_long", "display_name")
    return name


def _email(value: str | None) -> str | None:
    address = (value or "").strip()
    if not address:
        return None
    if len(address) > 200 or not EMAIL.fullmatch(address):
        raise _refuse(f"{address!r} is not an e-mail address", "email_invalid", "email", email=address)
    return address


def _check_password(password: str, username: str) -> None:
    problem = users.password_problem(password, username=username)
    if problem is not None:
        raise _refuse(f"the password is too weak ({problem.replace('_', ' ')}): at least "
                      f"{users.MIN_PASSWORD_LENGTH} characters, letters and digits or signs, not the user name",
                      problem, "password", minimum=users.MIN_PASSWORD_LENGTH)


def _keep_an_administrator(session: Session, user: User) -> None:
    """Refuse a change that would leave no active user administrator."""
    others = session.scalar(select(func.count()).select_from(User)
                            .join(Membership, Membership.user_id == User.id)
                            .where(Membership.group_id == access.USER_ADMINS, User.is_active.is_(True),
                                   User.id != user.id))
    if not others:
        raise InvalidInput(f"{user.username} is the last active user administrator: make someone else one first",
                           reason="last_user_admin", params={"username": user.username})


def create_user(session: Session, *, actor: Actor, username: str, password: str, groups: list[str],
                display_name: str | None = None, email: str | None = None) -> User:
    """A new active user in existing groups, with an initial password the administrator hands over."""
    access.require_administer_users(actor)
    username = username.strip()
    if not USERNAME.fullmatch(username):
        raise _refuse("a user name is 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit",
                      "username_invalid", "username")
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise _refuse(f"user {username!r} already exists", "username_taken", "username", username=username)
    found = _groups(session, groups)
    name, address = _display_name(display_name, username), _email(email)
    _check_password(password, username)
    user = users.create_user(session, username=username, password=password, groups=[g.id for g in found],
                             display_name=name, email=address)
    _log(session, actor, USER_CREATED, username, _created(user))
    session.flush()
    return user


def change_user(session: Session, *, actor: Actor, username: str, display_name: str | None, email: str | None,
                groups: list[str]) -> User:
    """Change a user's display name, e-mail address and groups; logged with the values before and after."""
    access.require_administer_users(actor)
    user = _user(session, username)
    found = _groups(session, groups)
    name, address, group_ids = _display_name(display_name, username), _email(email), [g.id for g in found]
    before: dict[str, Any] = {"display_name": user.display_name, "email": user.email,
                              "groups": sorted(g.id for g in user.groups)}
    after: dict[str, Any] = {"display_name": name, "email": address, "groups": group_ids}
    if username == actor.username and group_ids != before["groups"]:
        # Granting is a duty apart: an administrator never gives themselves a role; another one does.
        raise InvalidInput(f"{username} cannot change their own groups: another user administrator does",
                           field_errors={"groups": ["not your own"]}, reason="own_groups",
                           params={"username": username})
    if access.USER_ADMINS in before["groups"] and access.USER_ADMINS not in group_ids and user.is_active:
        _keep_an_administrator(session, user)
    if after == before:
        return user
    user.display_name, user.email, user.groups = name, address, found
    changed = sorted(key for key in after if after[key] != before[key])
    _log(session, actor, USER_CHANGED, username, {"before": {key: before[key] for key in changed},
                                                  "after": {key: after[key] for key in changed}})
    session.flush()
    return user


def reset_password(session: Session, *, actor: Actor, username: str, password: str) -> None:
    """Set a new password for the user (to hand over); the log says only that it was reset."""
    access.require_administer_users(actor)
    user = _user(session, username)
    _check_password(password, username)
    users.set_password(user, password)
    _log(session, actor, PASSWORD_RESET, username, {})
    session.flush()


def deactivate_user(session: Session, *, actor: Actor, username: str) -> Deactivation:
    """Stop the user signing in (their next request signs them out), and give the tasks they claimed back
    to their groups; the requester's own tasks stay theirs (reactivating them gives them back)."""
    access.require_administer_users(actor)
    user = _user(session, username)
    if username == actor.username:
        raise InvalidInput(f"{username} cannot deactivate themselves", reason="deactivate_self",
                           params={"username": username})
    if not user.is_active:
        raise InvalidInput(f"{username} is already deactivated", reason="user_already_inactive",
                           params={"username": username})
    if access.USER_ADMINS in {g.id for g in user.groups}:
        _keep_an_administrator(session, user)
    holder = Actor(username, frozenset(g.id for g in user.groups))
    held = list(session.scalars(select(TaskRecord.id).where(TaskRecord.state == TaskState.READY,
                                                            TaskRecord.assignee == username)
                                .order_by(TaskRecord.id)))
    released: list[int] = []
    kept: list[int] = []
    for task_id in held:
        given_back = runtime.release_from_deactivated(session, task_id=task_id, holder=holder, actor=actor)
        (released if given_back else kept).append(task_id)
    user.is_active = False
    _log(session, actor, USER_DEACTIVATED, username, {"released_tasks": released, "kept_tasks": kept})
    session.flush()
    return Deactivation(released, kept)


def reactivate_user(session: Session, *, actor: Actor, username: str) -> User:
    access.require_administer_users(actor)
    user = _user(session, username)
    if user.is_active:
        raise InvalidInput(f"{username} is active already", reason="user_already_active",
                           params={"username": username})
    user.is_active = True
    _log(session, actor, USER_REACTIVATED, username, {})
    session.flush()
    return user


def user_details(session: Session, *, actor: Actor, username: str) -> dict[str, Any]:
    """One user as the edit page shows them, with the tasks they hold."""
    access.require_administer_users(actor)
    user = _user(session, username)
    held = session.scalar(select(func.count()).select_from(TaskRecord)
                          .where(TaskRecord.state == TaskState.READY, TaskRecord.assignee == username))
    return {"username": user.username, "display_name": user.display_name, "email": user.email,
            "groups": sorted(g.id for g in user.groups), "is_active": user.is_active, "locale": user.locale,
            "created_at": user.created_at, "held_tasks": held or 0}


def log_entries(session: Session, *, actor: Actor, username: str | None = None,
                before_id: int | None = None, limit: int = LOG_PAGE) -> list[UserAdminLog]:
    """The user administration log, newest first (a page of `limit`, before entry `before_id`)."""
    access.require_read_user_admin_log(actor)
    query = select(UserAdminLog).order_by(UserAdminLog.id.desc()).limit(limit)
    if username:
        query = query.where(UserAdminLog.username == username)
    if before_id is not None:
        query = query.where(UserAdminLog.id < before_id)
    return list(session.scalars(query))
