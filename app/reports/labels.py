"""What the dashboard's figures, attributes and ages are called, in the page's language."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from app.web.display import FAULT_LEVEL_NAMES, group_name, process_name

FIGURES = {
    "opened": lazy_gettext("Cases opened"),
    "resolved": lazy_gettext("Resolved"),
    "unresolved": lazy_gettext("Not resolved"),
    "closed": lazy_gettext("Closed"),
    "first_contact": lazy_gettext("Resolved at first contact"),
    "respond_met": lazy_gettext("Response in time"),
    "respond_missed": lazy_gettext("Response late"),
    "resolve_met": lazy_gettext("Resolved in time"),
    "resolve_missed": lazy_gettext("Resolution late"),
    "rated": lazy_gettext("Rated by the customer"),
    "chased": lazy_gettext("Chased"),
    "complaints": lazy_gettext("Complaints"),
    "reopened": lazy_gettext("Reopened"),
    "backlog": lazy_gettext("Still open"),
}
MEASURES = {
    "resolution_rate": lazy_gettext("Resolution rate"),
    "mttr_seconds": lazy_gettext("Mean time to resolve"),
    "mean_respond_seconds": lazy_gettext("Mean time to respond"),
    "first_contact_rate": lazy_gettext("First-contact resolution rate"),
    "respond_rate": lazy_gettext("SLA response attainment"),
    "resolve_rate": lazy_gettext("SLA resolution attainment"),
    "satisfaction_average": lazy_gettext("Average satisfaction"),
    "chases": lazy_gettext("Chases"),
}
DIMENSIONS = {
    "process_id": lazy_gettext("Process"),
    "fault_level": lazy_gettext("Fault level"),
    "category": lazy_gettext("Category"),
    "system": lazy_gettext("System"),
    "device_type": lazy_gettext("Device type"),
    "customer_type": lazy_gettext("Customer type"),
    "business_line": lazy_gettext("Business line"),
    "zone": lazy_gettext("Zone"),
    "customer": lazy_gettext("Customer"),
    "engineer": lazy_gettext("Engineer"),
    "assigned_group": lazy_gettext("Group"),
}
TARGETS = {"respond": lazy_gettext("Response"), "resolve": lazy_gettext("Resolution")}
AGES = {
    "lt_1d": lazy_gettext("under 1 day"),
    "1_3d": lazy_gettext("1–3 days"),
    "3_7d": lazy_gettext("3–7 days"),
    "7_30d": lazy_gettext("7–30 days"),
    "gt_30d": lazy_gettext("over 30 days"),
}


def figure_name(figure: str) -> str:
    if figure.startswith("satisfaction_"):
        return gettext("Satisfaction score %(score)s", score=figure.removeprefix("satisfaction_"))
    if figure.startswith("age_"):
        return gettext("Open for %(age)s", age=AGES[figure.removeprefix("age_")])
    return str(FIGURES.get(figure, figure))


def value_name(dimension: str, value: Any) -> str:
    """A breakdown's value as people read it; not recorded: a dash with words."""
    if value is None or value == "":
        return gettext("(not recorded)")
    if dimension == "process_id":
        return process_name(value)
    if dimension == "fault_level":
        return str(FAULT_LEVEL_NAMES.get(value, value))
    if dimension == "assigned_group":
        return group_name(value)
    return str(value)


def duration(seconds: float | None) -> str:
    """Hours with one decimal (days are too coarse for a desk, minutes too fine for a month)."""
    if seconds is None:
        return "—"
    return gettext("%(hours).1f h", hours=seconds / 3600)


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


# Attributes whose values the page names in its own language; the others are data, shown as recorded.
_NAMED = frozenset({"process_id", "fault_level", "assigned_group"})


def untranslated(dimension: str, value: Any) -> Markup:
    """translate="no" on a cell that shows a recorded value (a customer, an engineer's user name)."""
    return Markup("") if dimension in _NAMED or value in (None, "") else Markup('translate="no"')
