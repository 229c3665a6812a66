"""Users and groups: who may act on which task. Groups are the spec's roles (BPMN lanes)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine.errors import InvalidInput, NotFound
from engine.store.models import Group, User

# The spec's roles: id -> (中文, English). Candidate groups in diagrams use these ids.
GROUPS: dict[str, tuple[str, str]] = {
    "requester": ("用户", "Requester"),
    "service_desk": ("服务台", "Service desk"),
    "engineer": ("技术支持", "Engineer"),
    "service_manager": ("服务经理", "Service manager"),
    "resident_manager": ("驻厂经理", "Resident manager"),
    "project_manager": ("项目经理", "Project manager"),
    "general_manager": ("总经理", "General manager"),
    "vendor": ("第三方工程师", "Vendor engineer"),
    "tech_lead": ("技术负责人", "Technical lead"),
    "dept_lead": ("部门领导", "Department lead"),
    "company_lead": ("公司领导", "Company leadership"),
    "report_reviewer": ("研发中心和工程部", "Report reviewer"),
    "report_manager": ("研发中心和工程部经理", "R&D and engineering manager"),
    "quality_admin": ("质量管理员", "Quality administrator"),
    "process_owner": ("流程负责人", "Process owner"),
    "auditor": ("审计员", "Auditor"),
    "user_admin": ("用户管理员", "User administrator"),
}

# werkzeug's default (scrypt); tests lower it, since they create many users and never brute-force them.
PASSWORD_HASH_METHOD = "scrypt"

# Managers may assign tasks to others.
MANAGER_GROUPS = frozenset({"service_manager", "resident_manager", "project_manager", "general_manager"})


@dataclass(frozen=True)
class Actor:
    """Who is acting: a username and the groups it belongs to."""

    username: str
    groups: frozenset[str]

    @property
    def is_auditor(self) -> bool:
        return "auditor" in self.groups

    @property
    def is_manager(self) -> bool:
        return bool(self.groups & MANAGER_GROUPS)


def ensure_groups(session: Session) -> None:
    """Create the spec's groups that are missing (idempotent)."""
    existing = set(session.scalars(select(Group.id)))
    for group_id, (zh, en) in GROUPS.items():
        if group_id not in existing:
            session.add(Group(id=group_id, name_zh=zh, name_en=en))
    session.flush()


def create_user(session: Session, *, username: str, password: str, groups: list[str],
                display_name: str | None = None, locale: str = "zh_CN", email: str | None = None) -> User:
    """Create a user in existing groups; refuses unknown groups and duplicate names."""
    if not username or len(username) > 100:
        raise InvalidInput("username must be 1-100 characters", field_errors={"username": ["1-100 characters"]})
    if session.scalars(select(User).where(User.username == username)).first():
        raise InvalidInput(f"user {username!r} already exists", field_errors={"username": ["already exists"]})
    found = list(session.scalars(select(Group).where(Group.id.in_(groups))))
    unknown = sorted(set(groups) - {g.id for g in found})
    if unknown:
        raise InvalidInput(f"unknown groups: {', '.join(unknown)}", field_errors={"groups": unknown})
    user = User(username=username, display_name=display_name or username, locale=locale, groups=found, email=email)
    set_password(user, password)
    session.add(user)
    session.flush()
    return user


MIN_PASSWORD_LENGTH = 10


def password_problem(password: str, *, username: str) -> str | None:
    """Why a password set by an administrator is too weak (None if it will do): at least
    MIN_PASSWORD_LENGTH characters, letters and something else, and not containing the user name."""
    if not password.strip():
        return "password_empty"
    if len(password) < MIN_PASSWORD_LENGTH:
        return "password_short"
    if username and username.lower() in password.lower():
        return "password_has_username"
    if not any(c.isalpha() for c in password) or all(c.isalpha() for c in password):
        return "password_one_kind"
    return None


def set_password(user: User, password: str) -> None:
    user.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)


def get_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.is_active:
        raise NotFound(f"no active user {username!r}", reason="user_missing", params={"username": username})
    return user


def actor(session: Session, username: str) -> Actor:
    """The acting user with their groups; unknown users are refused."""
    user = get_user(session, username)
    return Actor(user.username, frozenset(g.id for g in user.groups))


def check_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


LOCALES = ("zh_CN", "en")
# Checked when the username is unknown, so a wrong name costs as long as a wrong password; made on
# first use, since hashing at import would slow every command.
_dummy_hashes: dict[str, str] = {}


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (never says which part was wrong)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.is_active:
        if PASSWORD_HASH_METHOD not in _dummy_hashes:
            _dummy_hashes[PASSWORD_HASH_METHOD] = generate_password_hash("-", method=PASSWORD_HASH_METHOD)
        check_password_hash(_dummy_hashes[PASSWORD_HASH_METHOD], password)
        return None
    return user if check_password(user, password) else None


def set_locale(session: Session, *, username: str, locale: str) -> User:
    """Remember the user's UI language (zh_CN or en)."""
    if locale not in LOCALES:
        raise InvalidInput(f"locale must be one of {', '.join(LOCALES)}", field_errors={"locale": list(LOCALES)})
    user = get_user(session, username)
    user.locale = locale
    session.flush()
    return user


def list_users(session: Session, *, group: str | None = None) -> list[User]:
    """Users by name, optionally only the members of one group (with their groups loaded)."""
    query = select(User).order_by(User.username)
    if group:
        query = query.where(User.groups.any(Group.id == group))
    return list(session.scalars(query))


def list_groups(session: Session) -> list[Group]:
    return list(session.scalars(select(Group).order_by(Group.id)))


def group_emails(session: Session, group_id: str) -> list[str]:
    """Addresses of the active members of a group who have one (escalation mail)."""
    from engine.store.models import Membership

    return list(session.scalars(select(User.email).join(Membership, Membership.user_id == User.id)
                                .where(Membership.group_id == group_id, User.is_active.is_(True),
                                       User.email.is_not(None))))
