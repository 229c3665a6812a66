"""Input of the modeler pages (diagram posts, version choices, migration choices) and the JSON they answer."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from engine.process.definitions import MAX_FILE_BYTES
from engine.process.drafts import PROCESS_ID

COMMENT_MAX = 2000
MIGRATE_MAX = 200  # instances per request: each is its own transaction
_PROCESS_ID = validate.Regexp(PROCESS_ID.pattern + r"\Z")  # Regexp only anchors the start


class _Args(Schema):
    class Meta:
        unknown = EXCLUDE


class ProcessArgs(_Args):
    """The process in the address, which version to open, and whether to open the user's draft instead."""

    process_id = fields.String(required=True, validate=_PROCESS_ID)
    version = fields.Integer(load_default=None, validate=validate.Range(min=1))
    draft = fields.Boolean(load_default=False)


class DiagramArgs(_Args):
    """A diagram sent by the modeler (validate, save as draft)."""

    process_id = fields.String(required=True, validate=_PROCESS_ID)
    # Characters, not bytes: the engine checks the byte size when it loads the XML.
    xml = fields.String(required=True, validate=validate.Length(min=1, max=MAX_FILE_BYTES))
    base_version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class DeployArgs(DiagramArgs):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=COMMENT_MAX))

    @pre_load
    def _strip(self, data: Any, **kwargs: Any) -> Any:
        data = dict(data)
        if isinstance(data.get("comment"), str):
            data["comment"] = data["comment"].strip()
        return data


class DiffArgs(_Args):
    """Two versions to compare, in either order; compared older to newer."""

    process_id = fields.String(required=True, validate=_PROCESS_ID)
    from_version = fields.Integer(required=True, data_key="from", validate=validate.Range(min=1))
    to_version = fields.Integer(required=True, data_key="to", validate=validate.Range(min=1))

    @validates_schema
    def _two(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["from_version"] == data["to_version"]:
            raise ValidationError(gettext("Choose two different versions."), "to")

    @post_load
    def _older_first(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        low, high = sorted((data["from_version"], data["to_version"]))
        return {**data, "from_version": low, "to_version": high}


class RollbackArgs(_Args):
    comment = fields.String(load_default=None, validate=validate.Length(max=COMMENT_MAX))


class MigrationArgs(_Args):
    """The target version and the instances chosen (as repeated `instance` parameters)."""

    to_version = fields.Integer(load_default=None, validate=validate.Range(min=1))
    instances = fields.List(fields.Integer(validate=validate.Range(min=1)), data_key="instance",
                            load_default=list, validate=validate.Length(max=MIGRATE_MAX))


def migration_input(multi: Any) -> dict[str, Any]:
    """A query string or form with repeated `instance` keys, as MigrationArgs loads it."""
    data: dict[str, Any] = {key: multi.get(key) for key in multi if key != "instance"}
    data["instance"] = multi.getlist("instance")
    return data


class ProblemSchema(Schema):
    element_id = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    message = fields.String()  # in the page's language (app.modeler.problems)
    filename = fields.String(allow_none=True)


class DraftSchema(Schema):
    process_id = fields.String()
    base_version = fields.Integer(allow_none=True)
    saved_at = fields.DateTime()
    size = fields.Integer()


class DeployedSchema(Schema):
    process_id = fields.String()
    version = fields.Integer()
    definition_id = fields.Integer()
