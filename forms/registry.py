"""Every form of the seed processes, one `FormDefinition` per form key, and lookup by key.

The forms themselves are in forms/catalogue/, one module per process plus the shared ones; this is
the one index of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from forms.catalogue import (
    complaint,
    emergency,
    health_check,
    knowledge,
    other_service,
    parts,
    problem_management,
    service_desk,
    service_report,
    shared,
    software_adjustment,
    third_party,
)
from forms.definition import FormDefinition
from forms.model import InvalidFormDefinition

_DEFINITIONS: Final = (
    *shared.DEFINITIONS,
    *service_desk.DEFINITIONS,
    *emergency.DEFINITIONS,
    *health_check.DEFINITIONS,
    *third_party.DEFINITIONS,
    *other_service.DEFINITIONS,
    *problem_management.DEFINITIONS,
    *software_adjustment.DEFINITIONS,
    *knowledge.DEFINITIONS,
    *parts.DEFINITIONS,
    *service_report.DEFINITIONS,
    *complaint.DEFINITIONS,
)

class UnknownFormKey(KeyError):
    """No form is defined for a key, e.g. a BPMN formKey with a typo."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        # KeyError's own str() is just the quoted key; say what was looked up and what is close.
        text = f"unknown form key {self.key!r}"
        close = difflib.get_close_matches(str(self.key), sorted(FORMS), n=3)
        if close:
            text += f" (did you mean {', '.join(repr(key) for key in close)}?)"
        return text


def _index(definitions: Iterable[FormDefinition]) -> Mapping[str, FormDefinition]:
    forms: dict[str, FormDefinition] = {}
    for definition in definitions:
        if definition.key in forms:
            raise InvalidFormDefinition(f"form key {definition.key!r} is defined twice")
        forms[definition.key] = definition
    return MappingProxyType(forms)


FORMS: Final[Mapping[str, FormDefinition]] = _index(_DEFINITIONS)


def get_form(key: str) -> FormDefinition:
    """The form for ``key``; UnknownFormKey if none is defined."""
    try:
        return FORMS[key]
    except KeyError:
        raise UnknownFormKey(key) from None


def form_keys() -> frozenset[str]:
    """Every defined form key, for checking BPMN formKey attributes against."""
    return frozenset(FORMS)
