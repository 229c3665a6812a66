"""Names, times and spans as a person reads them, in the page's language."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import format_datetime, gettext, lazy_gettext, ngettext
from flask_babel.speaklater import LazyString
from markupsafe import Markup

from app.web.form_display import form_title
from app.web.i18n import locale
from engine import users
from engine.desk.levels import FaultLevel
from engine.status import InstanceStatus, TaskState

# BPMN names are Chinese; these give the English UI its own words (the zh_CN catalogue maps back).
PROCESS_NAMES = {
    "service_desk": lazy_gettext("Service desk and on-site service"),
    "emergency": lazy_gettext("Emergency service"),
    "health_check": lazy_gettext("Health check"),
    "third_party": lazy_gettext("Third-party service"),
    "other_service": lazy_gettext("Other services"),
    "problem_management": lazy_gettext("Problem management"),
    "software_adjustment": lazy_gettext("Software adjustment"),
    "knowledge_review": lazy_gettext("Knowledge-base solution review"),
    "parts_report": lazy_gettext("Monthly spare-parts report"),
    "service_report": lazy_gettext("Service report"),
    "report_callback": lazy_gettext("Customer callback on a service report"),
    "complaint": lazy_gettext("Complaint handling"),
    "fault_report": lazy_gettext("Fault report"),
}
FAULT_LEVEL_NAMES: dict[str, LazyString] = {
    FaultLevel.I: lazy_gettext("I · critical"),
    FaultLevel.II: lazy_gettext("II · major"),
    FaultLevel.III: lazy_gettext("III · minor"),
    FaultLevel.IV: lazy_gettext("IV · normal"),
}
STATUS_NAMES: dict[str, LazyString] = {
    InstanceStatus.RUNNING: lazy_gettext("in progress"),
    InstanceStatus.COMPLETED: lazy_gettext("closed"),
    InstanceStatus.ERROR: lazy_gettext("failed"),
    TaskState.READY: lazy_gettext("waiting"),
    TaskState.CANCELLED: lazy_gettext("cancelled"),
}
INBOX_STATE_NAMES = {
    "open": lazy_gettext("For me and my groups"),
    "mine": lazy_gettext("Claimed by me"),
    "unclaimed": lazy_gettext("Not claimed yet"),
    "claimed": lazy_gettext("Claimed by colleagues"),
    "all": lazy_gettext("All of my groups"),
}


def process_name(process_id: str | None, fallback: str | None = None) -> str:
    if process_id in PROCESS_NAMES:
        return str(PROCESS_NAMES[process_id])
    return fallback or process_id or ""


def group_name(group_id: str | None) -> str:
    if not group_id:
        return "—"
    names = users.GROUPS.get(group_id)
    if names is None:
        return group_id
    return names[0] if locale().startswith("zh") else names[1]


def step_name(name: str | None, form_key: str | None = None) -> str:
    """A task's diagram name; the English UI adds the form's English title, as diagrams are Chinese."""
    name = name or ""
    if locale().startswith("zh") or not form_key:
        return name
    return f"{form_title(form_key)} ({name})"


def data(value: Any) -> Markup:
    """User data or an id inside translated text: marked so it is neither translated nor flagged."""
    return Markup('<span translate="no">{}</span>').format("—" if value is None else value)


def when(value: dt.datetime | str | None, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC time in the configured time zone and the page's language."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return format_datetime(value, pattern)


def time_left(seconds: int | None) -> str:
    """'3 h 20 min left' / 'late by 5 min'."""
    if seconds is None:
        return ""
    late = seconds < 0
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(num)d day", "%(num)d days", days))
    if hours:
        parts.append(gettext("%(num)d h", num=hours))
    if mins or not parts:
        parts.append(gettext("%(num)d min", num=mins))
    span = " ".join(parts)
    return gettext("late by %(span)s", span=span) if late else gettext("%(span)s left", span=span)
