"""Derive a marshmallow schema from a form's field declarations.

Errors come out as message codes from `forms.messages`; `FormDefinition.validate` localises them.
Loaded values stay JSON-native (dates as ISO strings) because they go straight into workflow data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from marshmallow import RAISE, Schema, pre_load, validate
from marshmallow import fields as ma_fields
from marshmallow.validate import Validator

from forms.messages import PARTS_MAX_ROWS
from forms.model import PART_COLUMNS, Field

NON_FIELD_ERRORS: Final = "_schema"

# HTML forms post checkboxes and selects as strings; JSON clients send real booleans.
_TRUE_STRINGS: Final = frozenset({"true", "on", "1"})
_FALSE_STRINGS: Final = frozenset({"false", "off", "0"})
_INTEGER: Final = re.compile(r"[+-]?\d+")
# Workflow data is JSON and may be read by JavaScript, whose integers are exact only to 2**53.
_INT_LIMIT: Final = 2**53


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_blank_row(row: object) -> bool:
    # A browser table of part rows posts its empty trailing rows too.
    return isinstance(row, Mapping) and all(_is_blank(cell) for cell in row.values())


class _FormSchema(Schema):
    class Meta:
        unknown = RAISE

    # marshmallow reads schema messages from this class attribute.
    error_messages = {
        "unknown": "unknown_field",
        "type": "invalid_type",
    }

    @pre_load
    def _drop_blank_values(self, data: Any, **kwargs: Any) -> Any:
        """Treat blank declared fields as not given, so a blank required field reads 'required'."""
        if not isinstance(data, Mapping):
            return data
        cleaned = {}
        for key, value in data.items():
            declared = self.load_fields.get(key)
            if isinstance(declared, _PartsList) and isinstance(value, list | tuple):
                value = [row for row in value if not _is_blank_row(row)]
                if not value:
                    continue
            elif declared is not None and _is_blank(value):
                continue
            cleaned[key] = value
        return cleaned


class _RowSchema(_FormSchema):
    # marshmallow reads schema messages from this class attribute.
    error_messages = {"type": "invalid_row"}


# The field classes raise "invalid"; `marshmallow_field` maps it to the catalogue code of the type.


class _String(ma_fields.Field[str]):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value.strip()


class _Bool(ma_fields.Field[bool]):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE_STRINGS:
                return True
            if text in _FALSE_STRINGS:
                return False
        raise self.make_error("invalid")


class _Int(ma_fields.Field[int]):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        number: int | None = None
        if isinstance(value, bool):
            number = None  # bool is an int subclass, but True is not a count
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            # \d also matches full-width digits, which Chinese input methods produce.
            number = int(value.strip())
        if number is None or abs(number) >= _INT_LIMIT:
            raise self.make_error("invalid")
        return number


class _Date(ma_fields.Field[str]):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError as error:
            raise self.make_error("invalid") from error


class _DateTime(ma_fields.Field[str]):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = value.strip()
        # fromisoformat reads a bare date as midnight; an appointment needs a real time.
        if "T" not in text and " " not in text:
            raise self.make_error("invalid")
        try:
            return dt.datetime.fromisoformat(text).isoformat()
        except ValueError as error:
            raise self.make_error("invalid") from error


class _PartsList(ma_fields.List[Any]):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise self.make_error("invalid")
        # Checked before the rows are loaded so an oversized list costs nothing.
        if len(value) > PARTS_MAX_ROWS:
            raise self.make_error("too_many_rows")
        return super()._deserialize(value, attr, data, **kwargs)


def _range_code(field: Field) -> str:
    if field.min is not None and field.max is not None:
        return "out_of_range"
    return "below_min" if field.min is not None else "above_max"


def _validators(field: Field) -> list[Validator]:
    validators: list[Validator] = []
    if field.max_length is not None:
        validators.append(validate.Length(max=field.max_length, error="too_long"))
    if field.type == "email":
        validators.append(validate.Email(error="invalid_email"))
    if field.type == "enum":
        values = [choice.value for choice in field.choices]
        validators.append(validate.OneOf(values, error="not_one_of"))
    if field.type == "int" and (field.min is not None or field.max is not None):
        validators.append(validate.Range(min=field.min, max=field.max, error=_range_code(field)))
    return validators


_INVALID_CODES: Final[dict[str, str]] = {
    "string": "invalid_string",
    "text": "invalid_string",
    "email": "invalid_email",
    "enum": "not_one_of",
    "bool": "invalid_bool",
    "int": "invalid_int",
    "date": "invalid_date",
    "datetime": "invalid_datetime",
    "parts_list": "invalid_list",
    "user": "invalid_string",
}
_FIELD_CLASSES: Final[dict[str, type[ma_fields.Field[Any]]]] = {
    "string": _String,
    "text": _String,
    "email": _String,
    "enum": _String,
    "user": _String,
    "bool": _Bool,
    "int": _Int,
    "date": _Date,
    "datetime": _DateTime,
}


def marshmallow_field(field: Field) -> ma_fields.Field[Any]:
    """The marshmallow field that loads one declared field."""
    options: dict[str, Any] = {
        "required": field.required,
        "validate": _validators(field),
        "error_messages": {
            "required": "required",
            "null": "required",
            "invalid": _INVALID_CODES[field.type],
            "too_many_rows": "too_many_rows",
        },
    }
    if field.type == "bool" and not field.required:
        # An unchecked checkbox posts nothing; False keeps a gateway condition such as
        # `needs_third_party == True` evaluable instead of failing on an undefined name.
        options["load_default"] = False
    if field.type == "parts_list":
        row_schema = _schema_class(PART_COLUMNS, name="PartRowArgs", row=True)
        return _PartsList(ma_fields.Nested(row_schema), **options)
    return _FIELD_CLASSES[field.type](**options)


def _schema_class(fields: Iterable[Field], *, name: str, row: bool = False) -> type[Schema]:
    base = _RowSchema if row else _FormSchema
    return base.from_dict({field.id: marshmallow_field(field) for field in fields}, name=name)


def build_schema(fields: Sequence[Field], *, name: str) -> Schema:
    """A schema instance that loads exactly ``fields`` and refuses any other key."""
    return _schema_class(fields, name=name)()
