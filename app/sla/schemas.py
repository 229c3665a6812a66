"""Input of the SLA pages (policy form, re-grade form) and the JSON they answer.

Messages are looked up when a schema is made, so each request gets them in its own language.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from engine import sla_clock
from engine.desk import sla
from engine.desk.levels import FAULT_LEVELS

EMERGENCY_FIELDS = ("emergency_plan_after_minutes", "emergency_plan_due_minutes")


class Duration(fields.Field):
    """A target as the engine reads it (engine.desk.sla.duration_seconds): whole minutes, or seconds
    such as 90s for drills and tests; loaded as a timedelta, so form and engine cannot disagree."""

    default_error_messages = {"invalid": "Not a duration."}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> dt.timedelta:
        try:
            return dt.timedelta(seconds=sla.duration_seconds(value))
        except (TypeError, ValueError):
            raise self.make_error("invalid") from None


def _minutes(value: dt.timedelta) -> None:
    if not dt.timedelta(seconds=1) <= value <= dt.timedelta(seconds=sla.MAX_SECONDS):
        raise ValidationError(gettext("Must be between %(min)d and %(max)d minutes.", min=1,
                                      max=sla.MAX_SECONDS // 60))


def _ratio(value: float) -> None:
    if not 0 < value < 1:
        raise ValidationError(gettext("Must be a number between 0 and 1, such as 0.8."))


class _Translated(Schema):
    """Marshmallow's own messages (required, not a number …) in the page's language."""

    class Meta:
        unknown = EXCLUDE

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for field in self.fields.values():
            field.error_messages = {**field.error_messages, "required": gettext("Please enter a value."),
                                    "null": gettext("Please enter a value.")}
            if isinstance(field, Duration):
                field.error_messages["invalid"] = gettext("Must be a whole number of minutes.")
            elif isinstance(field, fields.Float):
                field.error_messages["invalid"] = gettext("Must be a number between 0 and 1, such as 0.8.")


class PolicyArgs(_Translated):
    """One fault level's targets as the policy form sends them; blank emergency-plan times clear them."""

    respond_minutes = Duration(required=True, validate=_minutes)
    plan_minutes = Duration(required=True, validate=_minutes)
    resolve_minutes = Duration(required=True, validate=_minutes)
    warn_ratio = fields.Float(required=True, allow_nan=False, validate=_ratio)
    emergency_plan_after_minutes = Duration(allow_none=True, validate=_minutes)
    emergency_plan_due_minutes = Duration(allow_none=True, validate=_minutes)
    fault_report_minutes = Duration(required=True, validate=_minutes)
    # The SLA clock (engine.sla_clock); a form without them leaves the calendar as it is.
    calendar = fields.String(validate=validate.OneOf(sla_clock.KINDS))
    work_start = fields.String(validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))
    work_end = fields.String(validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields["calendar"].validators = [validate.OneOf(sla_clock.KINDS, error=gettext("Choose a calendar."))]
        for name in ("work_start", "work_end"):
            self.fields[name].validators = [validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$",
                                                            error=gettext("A time of day such as 09:00."))]

    @pre_load
    def _blanks(self, data: Any, **kwargs: Any) -> Any:
        """An empty required box is missing; an empty emergency-plan box means 'no emergency plan'."""
        cleaned: dict[str, Any] = {}
        for key, value in dict(data).items():
            if isinstance(value, str):
                value = value.strip()
            if value == "":
                if key in EMERGENCY_FIELDS:
                    cleaned[key] = None
                continue
            cleaned[key] = value
        return cleaned

    @validates_schema
    def _emergency_plan(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not any(key in data for key in EMERGENCY_FIELDS):
            return
        after, due = (data.get(key) for key in EMERGENCY_FIELDS)
        if (after is None) != (due is None):
            missing = EMERGENCY_FIELDS[0] if after is None else EMERGENCY_FIELDS[1]
            raise ValidationError(gettext("Give both emergency-plan times, or neither."), missing)
        if after is not None and due is not None and due <= after:
            raise ValidationError(gettext("The emergency plan must be due after it is started."),
                                  EMERGENCY_FIELDS[1])


class RegradeArgs(_Translated):
    """The re-grade form: the new level and why (recorded in the history)."""

    level = fields.String(required=True)
    reason = fields.String(required=True)
    next = fields.String(load_default=None, validate=validate.Length(max=2000))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields["level"].error_messages["required"] = gettext("Choose the new fault level.")
        self.fields["level"].validators = [validate.OneOf(FAULT_LEVELS, error=gettext("Choose the new fault level."))]
        self.fields["reason"].error_messages["required"] = gettext("Please give a reason.")
        self.fields["reason"].validators = [validate.Length(min=1, max=2000, error=gettext("Please give a reason."))]

    @pre_load
    def _trim(self, data: Any, **kwargs: Any) -> Any:
        return {key: value.strip() if isinstance(value, str) else value for key, value in dict(data).items()
                if value != ""}


class AtRiskSchema(Schema):
    """One row of the SLA report (engine.desk.sla.at_risk) as JSON clients get it."""

    task_id = fields.Integer()
    instance_id = fields.Integer()
    process_id = fields.String()
    title = fields.String(allow_none=True)
    fault_level = fields.String(allow_none=True)
    element_id = fields.String()
    name = fields.String(allow_none=True)
    group = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    due_at = fields.String()
    state = fields.String()
    late_minutes = fields.Integer()
    minutes_left = fields.Integer()


class PolicySchema(Schema):
    """One fault level's targets (engine.desk.sla.list_policies) as JSON clients get it."""

    fault_level = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    # Whole minutes as integers; a target set in seconds for a drill shows as a fraction (1.5).
    respond_minutes = fields.Raw()
    plan_minutes = fields.Raw()
    resolve_minutes = fields.Raw()
    warn_ratio = fields.Float()
    emergency_plan_after_minutes = fields.Raw(allow_none=True)
    emergency_plan_due_minutes = fields.Raw(allow_none=True)
    fault_report_minutes = fields.Raw()
    respond_seconds = fields.Integer()
    plan_seconds = fields.Integer()
    resolve_seconds = fields.Integer()
    emergency_plan_after_seconds = fields.Integer(allow_none=True)
    emergency_plan_due_seconds = fields.Integer(allow_none=True)
    fault_report_seconds = fields.Integer()
    process_id = fields.String()
    calendar = fields.String()
    work_start = fields.String()
    work_end = fields.String()
    updated_by = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
