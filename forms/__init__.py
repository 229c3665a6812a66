"""Form definitions for every BPMN form key: fields, validation and render data, no web code.

Look a form up with `get_form(key)`, check input with `FormDefinition.validate(data, locale=...)`.
"""

from forms.catalogue.common import RESOLUTION_FIELDS, SERVICE_RECORD_FIELDS
from forms.definition import FormDefinition, FormValidationError, RenderedField
from forms.messages import PARTS_MAX_ROWS, STRING_MAX_LENGTH, TEXT_MAX_LENGTH
from forms.model import FIELD_TYPES, Choice, Field, FieldType, InvalidFormDefinition
from forms.registry import FORMS, UnknownFormKey, form_keys, get_form
from forms.schema import NON_FIELD_ERRORS

__all__ = [
    "FIELD_TYPES",
    "FORMS",
    "NON_FIELD_ERRORS",
    "PARTS_MAX_ROWS",
    "RESOLUTION_FIELDS",
    "SERVICE_RECORD_FIELDS",
    "STRING_MAX_LENGTH",
    "TEXT_MAX_LENGTH",
    "Choice",
    "Field",
    "FieldType",
    "FormDefinition",
    "FormValidationError",
    "InvalidFormDefinition",
    "RenderedField",
    "UnknownFormKey",
    "form_keys",
    "get_form",
]
