"""SLA pages: the proactive report of targets at risk, the policy table, and re-grading a request."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup

from app.sla import bp
from app.sla.schemas import AtRiskSchema, PolicyArgs, PolicySchema, RegradeArgs
from app.web.requests import load_args, safe_next, wants_json
from app.web.session import actor, unit_of_work
from engine import access, sla_clock
from engine.desk import sla
from engine.errors import InvalidInput


def _posted() -> dict[str, Any]:
    """The form's fields (or a JSON body), without the CSRF token."""
    posted = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(posted, dict):
        return {}
    posted.pop("csrf_token", None)
    return posted


def _english(message: str) -> Markup:
    return Markup('<span lang="en">{}</span>').format(message)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"sla_duration_text": sla.duration_text}


@bp.get("/at-risk")
def at_risk() -> Any:
    access.require_read_sla(actor())
    with unit_of_work() as session:
        rows = sla.at_risk(session)
    if wants_json():
        return jsonify(rows=AtRiskSchema(many=True).dump(rows))
    for row in rows:
        # Seconds as the inbox counts them: negative once late (a missed target is never "0 min left").
        row["seconds_left"] = -row["late_minutes"] * 60 - 1 if row["state"] == "missed" else row["minutes_left"] * 60
    missed = sum(1 for row in rows if row["state"] == "missed")
    return render_template("sla/at_risk.html", rows=rows, missed=missed, at_risk=len(rows) - missed)


def _process(value: Any) -> str:
    """The process whose policy a page or form is about (the service desk's, the defaults, unless named)."""
    return value if isinstance(value, str) and value else sla.DEFAULT_PROCESS


def _policy_page(*, process_id: str, level: str | None = None, values: dict[str, Any] | None = None,
                 errors: Mapping[str, Sequence[str]] | None = None, status: int = 200) -> Any:
    with unit_of_work() as session:
        processes = sla.policy_processes(session)
        policies = sla.list_policies(session, process_id)
    return render_template("sla/policy.html", policies=policies, editing=level, values=values or {},
                           errors=errors or {}, may_edit=access.may_edit_sla_policy(actor()),
                           processes=processes, process_id=process_id,
                           holidays_until=sla_clock.covered_until()), status


@bp.get("/policy")
def policy() -> Any:
    access.require_read_sla(actor(), "read the SLA policy")
    process_id = _process(request.args.get("process"))
    if wants_json():
        with unit_of_work() as session:
            return jsonify(policies=PolicySchema(many=True).dump(sla.list_policies(session, process_id)))
    return _policy_page(process_id=process_id)


@bp.post("/policy/<level>")
def save_policy(level: str) -> Any:
    access.require_edit_sla_policy(actor())  # before the input is checked: a 403, not a 422, for others
    posted = _posted()
    process_id = _process(posted.pop("process", None) or request.args.get("process"))
    try:
        changes = load_args(PolicyArgs(), posted)
    except InvalidInput as error:
        if wants_json():
            raise
        return _policy_page(process_id=process_id, level=level, values=posted, errors=error.field_errors,
                            status=422)
    try:
        with unit_of_work() as session:
            sla.set_policy(session, level, actor=actor(), process_id=process_id, **changes)
    except InvalidInput as error:
        if wants_json():
            raise
        # The engine's words are English: marked so, beside the field they are about.
        errors = {field: [_english(m) for m in messages]
                  for field, messages in (error.field_errors or {"_schema": [error.message]}).items()}
        return _policy_page(process_id=process_id, level=level, values=posted, errors=errors, status=422)
    if wants_json():
        return jsonify(fault_level=level, process_id=process_id,
                       **{name: sla.minutes_of(sla.duration_seconds(value)) if isinstance(value, dt.timedelta)
                          else value for name, value in changes.items()})
    flash(gettext("The SLA targets of fault level %(level)s are saved; new and re-graded requests use them.",
                  level=level), "success")
    return redirect(url_for("sla.policy", process=process_id if process_id != sla.DEFAULT_PROCESS else None))


@bp.post("/instances/<int:instance_id>/level")
def regrade(instance_id: int) -> Any:
    """Re-grade a running request: new deadlines from the level's targets, waiting timers re-armed."""
    posted = _posted()
    back = safe_next(posted.get("next"), url_for("sla.at_risk"))
    try:
        args = load_args(RegradeArgs(), posted)
        with unit_of_work() as session:
            sla.change_fault_level(session, instance_id=instance_id, level=args["level"], actor=actor(),
                                   reason=args["reason"])
    except InvalidInput as error:
        if wants_json():
            raise
        problems: Any = "; ".join(m for messages in (error.field_errors or {}).values() for m in messages)
        if not problems:  # the engine's own words (e.g. the level it already has)
            problems = _english(error.message)
        flash(Markup(gettext("The fault level was not changed: %(problems)s")) % {"problems": problems}, "warning")
        return redirect(back)
    if wants_json():
        return jsonify(instance_id=instance_id, fault_level=args["level"])
    flash(gettext("Request no. %(id)d is now fault level %(level)s; its deadlines follow the new level.",
                  id=instance_id, level=args["level"]), "success")
    return redirect(back)
