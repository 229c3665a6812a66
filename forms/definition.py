"""`FormDefinition`: one form key's fields, plus validation and plain render data derived from them.

Validation errors are keyed by field id and worded in the user's language, because the web UI
shows them beside the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, TypedDict, cast

from marshmallow import Schema, ValidationError

from forms.messages import DEFAULT_LOCALE, language, listing, message
from forms.model import PART_COLUMNS, Field, InvalidFormDefinition, check_identifier
from forms.schema import NON_FIELD_ERRORS, build_schema

_PART_COLUMNS_BY_ID = {column.id: column for column in PART_COLUMNS}


class FormValidationError(Exception):
    """Submitted data does not fit the form; ``errors`` maps field id to messages.

    Problems with the data as a whole (not a mapping at all) are under ``NON_FIELD_ERRORS``.
    ``codes`` holds the same problems as catalogue codes, for callers that test or translate.
    """

    def __init__(
        self,
        errors: dict[str, list[str]],
        *,
        codes: dict[str, list[str]] | None = None,
        locale: str = DEFAULT_LOCALE,
    ) -> None:
        self.errors = errors
        self.codes = codes if codes is not None else {}
        self.locale = locale
        super().__init__(errors)

    def __str__(self) -> str:
        problems = "; ".join(f"{field_id}: {' '.join(messages)}" for field_id, messages in self.errors.items())
        return f"invalid form data ({problems})"


class RenderedField(TypedDict):
    """What the HTML renderer needs to draw one field, already in the user's language."""

    id: str
    type: str
    required: bool
    label: str
    help: str
    choices: list[tuple[str, str]]
    min: int | None
    max: int | None
    max_length: int | None
    max_rows: int | None
    columns: list[RenderedField]
    group: str | None  # user fields: the page lists this group's active members as the choices


def render_field(spec: Field, locale: str) -> RenderedField:
    """Plain data for one field; a parts list carries its row columns."""
    return {
        "id": spec.id,
        "type": spec.type,
        "required": spec.required,
        "label": spec.label(locale),
        "help": spec.help(locale),
        "choices": [(choice.value, choice.label(locale)) for choice in spec.choices],
        "min": spec.min,
        "max": spec.max,
        "max_length": spec.max_length,
        "max_rows": spec.max_rows,
        "columns": ([render_field(column, locale) for column in PART_COLUMNS] if spec.type == "parts_list" else []),
        "group": spec.group,
    }


def _params(spec: Field | None, field_id: object, locale: str) -> dict[str, object]:
    """What the messages of one field fill in; choices by their labels, as the user saw them."""
    if spec is None:
        return {"field": field_id}
    return {
        "field": field_id,
        "min": spec.min,
        "max": spec.max,
        "max_length": spec.max_length,
        "max_rows": spec.max_rows,
        "choices": listing((choice.label(locale) for choice in spec.choices), locale),
    }


@dataclass(frozen=True)
class FormDefinition:
    """The fields one form key records, with zh_CN/en titles."""

    key: str
    title_zh: str
    title_en: str
    fields: tuple[Field, ...]
    _schema: Schema | None = dataclass_field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_identifier(self.key, what="Form key")
        where = f"form {self.key!r}"
        for attribute in ("title_zh", "title_en"):
            value = getattr(self, attribute)
            if not isinstance(value, str) or not value.strip():
                raise InvalidFormDefinition(f"{where}: {attribute} must be non-empty text")
        object.__setattr__(self, "fields", tuple(self.fields))
        if not self.fields:
            raise InvalidFormDefinition(f"{where} has no fields")
        ids = [spec.id for spec in self.fields]
        duplicates = sorted({field_id for field_id in ids if ids.count(field_id) > 1})
        if duplicates:
            raise InvalidFormDefinition(f"{where} declares {duplicates} more than once")

    @property
    def field_ids(self) -> tuple[str, ...]:
        """The ids of the fields, in form order."""
        return tuple(spec.id for spec in self.fields)

    def field(self, field_id: str) -> Field:
        """The field with ``field_id``; KeyError if the form has none."""
        for spec in self.fields:
            if spec.id == field_id:
                return spec
        raise KeyError(f"form {self.key!r} has no field {field_id!r}")

    def title(self, locale: str) -> str:
        """The form title in ``locale``'s language."""
        return self.title_zh if language(locale) == "zh" else self.title_en

    def schema(self) -> Schema:
        """The marshmallow schema derived from the fields, built once per form."""
        if self._schema is None:
            name = "".join(part.title() for part in self.key.split("_")) + "Args"
            object.__setattr__(self, "_schema", build_schema(self.fields, name=name))
        assert self._schema is not None
        return self._schema

    def validate(self, data: Mapping[str, Any], *, locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
        """Return the cleaned data, or raise FormValidationError with messages in ``locale``."""
        if not isinstance(data, Mapping):
            raise FormValidationError(
                {NON_FIELD_ERRORS: [message("invalid_type", locale)]},
                codes={NON_FIELD_ERRORS: ["invalid_type"]},
                locale=locale,
            )
        try:
            loaded = self.schema().load(dict(data))
        except ValidationError as error:
            raw = error.messages if isinstance(error.messages, dict) else {}
            errors, codes = self._localise(raw, locale)
            raise FormValidationError(errors, codes=codes, locale=locale) from error
        return cast(dict[str, Any], loaded)

    def render_fields(self, locale: str) -> list[RenderedField]:
        """Plain data per field, in form order, for the HTML renderer."""
        return [render_field(spec, locale) for spec in self.fields]

    def _localise(self, raw: Mapping[str, Any], locale: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        errors: dict[str, list[str]] = {}
        codes: dict[str, list[str]] = {}
        order = {field_id: position for position, field_id in enumerate(self.field_ids)}
        # Form order first, then unknown keys, so the UI lists problems top to bottom.
        for key in sorted(raw, key=lambda key: (order.get(key, len(order)), str(key))):
            spec = next((spec for spec in self.fields if spec.id == key), None)
            found = raw[key]
            field_errors = errors.setdefault(str(key), [])
            field_codes = codes.setdefault(str(key), [])
            if isinstance(found, Mapping):
                _localise_rows(found, locale, field_errors, field_codes)
                continue
            for code in found:
                field_errors.append(message(code, locale, **_params(spec, key, locale)))
                field_codes.append(code)
        return errors, codes


def _localise_rows(rows: Mapping[Any, Any], locale: str, errors: list[str], codes: list[str]) -> None:
    """Flatten per-row errors of a parts list into 'Row n, column: message' lines."""
    for index in sorted(rows):
        for column_id, column_codes in rows[index].items():
            column = _PART_COLUMNS_BY_ID.get(column_id)
            column_name = column.label(locale) if column is not None else str(column_id)
            for code in column_codes:
                text = message(code, locale, **_params(column, column_id, locale))
                if column_id == NON_FIELD_ERRORS:
                    errors.append(message("row_only", locale, row=index + 1, message=text))
                else:
                    errors.append(
                        message(
                            "row",
                            locale,
                            row=index + 1,
                            column=column_name,
                            message=text,
                        )
                    )
                codes.append(code)
