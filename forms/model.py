"""The declarative pieces of a form: `Field` and its `Choice`s, checked when they are declared.

A field id becomes a name in gateway conditions (``resolved == True``), so bad ids fail at import.
"""

from __future__ import annotations

import keyword
from dataclasses import KW_ONLY, dataclass
from typing import Final, Literal, NamedTuple, get_args

from forms.messages import (
    PARTS_MAX_ROWS,
    STRING_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    language,
)

# "user": the user name of an active member of the field's `group` (a picker; engine.desk.pickers checks it);
# the group STAFF stands for every staff member (engine.access.is_staff), not one group.
STAFF = "staff"
FieldType = Literal["string", "text", "email", "bool", "int", "date", "datetime", "enum", "parts_list", "user"]
FIELD_TYPES: Final[frozenset[str]] = frozenset(get_args(FieldType))

_MAX_LENGTHS: Final[dict[str, int]] = {
    "string": STRING_MAX_LENGTH,
    "user": STRING_MAX_LENGTH,
    "email": STRING_MAX_LENGTH,
    "text": TEXT_MAX_LENGTH,
}


class InvalidFormDefinition(ValueError):
    """A form or field declaration breaks a rule; raised at import so it never reaches users."""


class Choice(NamedTuple):
    """One allowed value of an enum field with its zh_CN and en labels."""

    value: str
    label_zh: str
    label_en: str

    def label(self, locale: str | None) -> str:
        """The label in ``locale``'s language."""
        return self.label_zh if language(locale) == "zh" else self.label_en


def check_identifier(name: str, *, what: str) -> None:
    """Refuse names that cannot stand as a plain variable in a gateway condition."""
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidFormDefinition(f"{what} {name!r} is not a valid Python identifier")
    if keyword.iskeyword(name):
        raise InvalidFormDefinition(f"{what} {name!r} is a Python keyword")
    if name.startswith("_"):
        # Leading underscores stay free for keys that are not fields: marshmallow's "_schema"
        # error key, and whatever the engine keeps beside form data in the workflow.
        raise InvalidFormDefinition(f"{what} {name!r} must not start with '_'")


def _require_text(value: object, *, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidFormDefinition(f"{what} must be non-empty text")


@dataclass(frozen=True)
class Field:
    """One input of a form: its id, type, whether it is required, and zh_CN/en label and help."""

    id: str
    type: FieldType
    _: KW_ONLY
    label_zh: str
    label_en: str
    help_zh: str
    help_en: str
    required: bool = False
    choices: tuple[Choice, ...] = ()
    min: int | None = None
    max: int | None = None
    group: str | None = None  # user fields: whose members may be picked (STAFF: any staff member)

    def __post_init__(self) -> None:
        check_identifier(self.id, what="Field id")
        where = f"field {self.id!r}"
        if self.type not in FIELD_TYPES:
            raise InvalidFormDefinition(
                f"{where} has unknown type {self.type!r}; expected one of {sorted(FIELD_TYPES)}"
            )
        for attribute in ("label_zh", "label_en", "help_zh", "help_en"):
            _require_text(getattr(self, attribute), what=f"{where}: {attribute}")
        self._check_choices(where)
        self._check_bounds(where)
        if (self.type == "user") != bool(self.group):
            raise InvalidFormDefinition(f"{where}: a user field names the group to pick from; no other field does")

    def _check_choices(self, where: str) -> None:
        try:
            choices = tuple(Choice(*choice) for choice in self.choices)
        except TypeError as error:
            raise InvalidFormDefinition(f"{where}: a choice must be (value, label_zh, label_en)") from error
        object.__setattr__(self, "choices", choices)
        if self.type != "enum":
            if self.choices:
                raise InvalidFormDefinition(f"{where}: only enum fields have choices")
            return
        if not self.choices:
            raise InvalidFormDefinition(f"{where}: an enum field needs choices")
        values = [choice.value for choice in self.choices]
        if len(set(values)) != len(values):
            raise InvalidFormDefinition(f"{where}: duplicate choice values in {values}")
        for choice in self.choices:
            _require_text(choice.value, what=f"{where}: a choice value")
            _require_text(choice.label_zh, what=f"{where}: choice {choice.value!r} label_zh")
            _require_text(choice.label_en, what=f"{where}: choice {choice.value!r} label_en")

    def _check_bounds(self, where: str) -> None:
        if self.type != "int":
            if self.min is not None or self.max is not None:
                raise InvalidFormDefinition(f"{where}: only int fields take min/max")
            return
        if self.min is not None and self.max is not None and self.min > self.max:
            raise InvalidFormDefinition(f"{where}: min {self.min} is above max {self.max}")

    @property
    def max_length(self) -> int | None:
        """Longest accepted text, in characters, for text-like fields."""
        return _MAX_LENGTHS.get(self.type)

    @property
    def max_rows(self) -> int | None:
        """Most rows a parts list accepts."""
        return PARTS_MAX_ROWS if self.type == "parts_list" else None

    def label(self, locale: str | None) -> str:
        """The label in ``locale``'s language."""
        return self.label_zh if language(locale) == "zh" else self.label_en

    def help(self, locale: str | None) -> str:
        """The help text in ``locale``'s language."""
        return self.help_zh if language(locale) == "zh" else self.help_en


# The columns of one parts_list row; declared as fields so the row is validated, labelled and
# rendered by the same code as a form.
PART_COLUMNS: Final[tuple[Field, ...]] = (
    Field(
        "part",
        "string",
        required=True,
        label_zh="备件",
        label_en="Part",
        help_zh="备件名称或型号。",
        help_en="Name or model of the spare part.",
    ),
    Field(
        "quantity",
        "int",
        required=True,
        min=1,
        label_zh="数量",
        label_en="Quantity",
        help_zh="使用数量，至少为 1。",
        help_en="How many were used, at least 1.",
    ),
    # Which service centre's store the part came from (engine.desk.parts books it out there); may stay
    # empty when only one centre holds the part.
    Field(
        "centre",
        "string",
        label_zh="服务中心",
        label_en="Service centre",
        help_zh="备件出库的服务中心；只有一个服务中心有库存时可不填。",
        help_en="The service centre whose store the part came from; may stay empty when only one holds it.",
    ),
)
