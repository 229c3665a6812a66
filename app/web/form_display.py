"""Forms on pages: a post as form data, stored form data as labelled values, fields to render."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

import forms
from app.web.i18n import locale
from app.web.session import unit_of_work
from engine.desk.pickers import members

_ROW_KEY = re.compile(r"([a-z][a-z0-9_]{0,60})-(\d{1,3})-([a-z][a-z0-9_]{0,60})")


def posted_form_data(posted: MultiDict[str, str]) -> dict[str, Any]:
    """A form post as the form definitions read it: field -> text, parts-list rows from `field-<n>-<column>`.

    Keys starting with `_` and the CSRF token are the page's own, not form fields.
    """
    data: dict[str, Any] = {}
    rows: dict[str, dict[int, dict[str, str]]] = {}
    for key in posted:
        if key == "csrf_token" or key.startswith("_"):
            continue
        match = _ROW_KEY.fullmatch(key)
        if match:
            rows.setdefault(match[1], {}).setdefault(int(match[2]), {})[match[3]] = posted[key]
        else:
            data[key] = posted[key]
    for name, by_index in rows.items():
        data[name] = [by_index[index] for index in sorted(by_index)]
    return data


def display_value(spec: forms.Field | None, value: Any) -> str:
    """One stored form value as a person reads it, in the page's language."""
    if value is None or value == "":
        return "—"
    if (spec is not None and spec.type == "bool") or isinstance(value, bool):
        return gettext("Yes") if value in (True, "true", "on", "1") else gettext("No")
    if spec is not None and spec.type == "datetime" and isinstance(value, str):
        return value.replace("T", " ")[:16]
    if spec is not None and spec.type == "enum":
        for choice in spec.choices:
            if choice.value == value:
                return choice.label(locale())
    if isinstance(value, list):
        return "; ".join(" × ".join(str(v) for v in row.values()) if isinstance(row, Mapping) else str(row)
                         for row in value)
    return str(value)


def labelled(form_key: str | None, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs of form data in form order, labels in the page's language."""
    try:
        definition = forms.get_form(form_key) if form_key else None
    except forms.UnknownFormKey:
        definition = None
    pairs = []
    seen = set()
    if definition is not None:
        for spec in definition.fields:
            if spec.id in data:
                pairs.append((spec.label(locale()), display_value(spec, data[spec.id])))
                seen.add(spec.id)
    for key, value in data.items():
        if key not in seen:
            pairs.append((key, display_value(None, value)))
    return pairs


def unplaced_errors(fields: list[forms.RenderedField], errors: Mapping[str, list[str]]) -> list[str]:
    """Messages no field of the form shows: about the data as a whole, or keys the form does not know."""
    ids = {f["id"] for f in fields}
    return [message for key, messages in errors.items() if key not in ids for message in messages]


def form_fields(form_key: str | None) -> list[forms.RenderedField]:
    if not form_key:
        return []
    fields = forms.get_form(form_key).render_fields(locale())
    pickers = [field for field in fields if field["type"] == "user" and field["group"]]
    if pickers:  # a user picker lists the active members of its group (the engine checks the one picked)
        with unit_of_work() as session:
            for field in pickers:
                field["choices"] = members(session, str(field["group"]))
    return fields


def form_title(form_key: str | None) -> str:
    if not form_key:
        return ""
    try:
        return forms.get_form(form_key).title(locale())
    except forms.UnknownFormKey:
        return form_key
