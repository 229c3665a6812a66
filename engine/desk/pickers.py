"""Users picked in a form (field type "user": the engineer 派发现场服务单 names, the complaint's first-responsible
person): the choices a page lists, and the check every completion passes, whichever client sent it, before the
task runs. A field's group is one group's active members, or STAFF: every active staff member (access.is_staff)."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

import forms
from engine import access, users
from engine.errors import InvalidInput
from engine.process import hooks
from engine.store.models import Group, User
from forms.messages import language, message
from forms.model import STAFF

STAFF_NAMES = ("服务人员", "the staff")


# Staff is every group but these (access.is_staff says the same of one person).
_NOT_STAFF = (access.REQUESTERS, access.AUDITORS, access.USER_ADMINS)


def _members(group: str) -> Select[str, str]:
    of_group = (Group.id.not_in(_NOT_STAFF) if group == STAFF else Group.id == group)
    return select(User.username, User.display_name).where(User.is_active, User.groups.any(of_group))


def members(session: Session, group: str) -> list[tuple[str, str]]:
    """(user name, label) of the active members of `group` (or of the staff), by user name: what a picker
    offers; the label names the account too, as two people may share a name."""
    return [(row.username, f"{row.display_name} ({row.username})"
             if row.display_name and row.display_name != row.username else row.username)
            for row in session.execute(_members(group).order_by(User.username))]


def is_member(session: Session, username: str, group: str) -> bool:
    return session.execute(_members(group).where(User.username == username)).first() is not None


@lru_cache(maxsize=256)
def _user_fields(form_key: str) -> tuple[forms.Field, ...]:
    try:
        return tuple(spec for spec in forms.get_form(form_key).fields if spec.type == "user")
    except forms.UnknownFormKey:
        return ()


def _group_name(group: str, locale: str) -> str:
    zh, en = users.GROUPS.get(group, STAFF_NAMES if group == STAFF else (group, group))
    return zh if language(locale) == "zh" else en


def check_picked_users(completion: hooks.Completion) -> dict[str, object]:
    """task_completing: a user field names an active member of its group, or the completion is refused
    (422, the message beside the field)."""
    if not completion.form_key:
        return {}
    errors: dict[str, list[str]] = {}
    for spec in _user_fields(completion.form_key):
        username = completion.data.get(spec.id)
        if not username or spec.group is None:
            continue
        if not is_member(completion.session, username, spec.group):
            errors[spec.id] = [message("not_a_member", completion.locale, username=username,
                                                      group=_group_name(spec.group, completion.locale))]
    if errors:
        raise InvalidInput(f"form {completion.form_key!r} names a user outside the group of the field",
                           field_errors=errors)
    return {}
