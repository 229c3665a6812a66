"""Requester pages: my requests, a new request, one request (with the chase button)."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from app.portal import bp
from app.portal.schemas import ChaseArgs, MyRequestsArgs, NewRequestArgs
from app.web.error_details import describe
from app.web.form_display import posted_form_data
from app.web.i18n import locale
from app.web.requests import load_args, wants_json
from app.web.session import actor, unit_of_work
from engine.desk import case, conversation, customers, inbox
from engine.errors import Conflict, InvalidInput
from engine.process import runtime

REQUEST_FORM = "request"


@bp.get("/")
def index() -> Any:
    args = load_args(MyRequestsArgs(), request.args)
    with unit_of_work() as session:
        page = inbox.my_requests(session, actor=actor(), before=args["before"])
        decisions = customers.decisions_waiting(session, actor=actor())
    return render_template("portal/index.html", page=page, decisions=decisions)


def _new_request_page(process: str, values: dict[str, Any], errors: dict[str, list[str]], status: int = 200) -> Any:
    with unit_of_work() as session:
        processes = inbox.request_processes(session)
    return render_template("portal/new.html", processes=processes, process=process, form_key=REQUEST_FORM,
                           values=values, errors=errors), status


@bp.get("/new")
def new_request() -> Any:
    args = load_args(NewRequestArgs(), request.args)
    return _new_request_page(args["process"], {}, {})


@bp.post("/new")
def submit_request() -> Any:
    args = load_args(NewRequestArgs(), {"process": request.form.get("_process", "service_desk")})
    data = posted_form_data(request.form)
    try:
        with unit_of_work() as session:
            started = runtime.start_instance(session, process_id=args["process"], data=data, actor=actor(),
                                             locale=locale())
    except InvalidInput as error:
        if wants_json():
            raise
        errors = error.field_errors or {"_schema": [error.message]}
        return _new_request_page(args["process"], data, errors, 422)
    flash(gettext("Your request no. %(id)d was sent to the service desk.", id=started.id), "success")
    return redirect(url_for("portal.request_detail", instance_id=started.id))


@bp.get("/requests/<int:instance_id>")
def request_detail(instance_id: int) -> Any:
    with unit_of_work() as session:
        page = inbox.request_page(session, instance_id=instance_id, actor=actor())
        thread = conversation.thread(session, instance_id=instance_id, actor=actor())
    return render_template("portal/request.html", page=page, thread=thread)


@bp.post("/requests/<int:instance_id>/chase")
def chase(instance_id: int) -> Any:
    args = load_args(ChaseArgs(), request.form)
    try:
        with unit_of_work() as session:
            count = case.chase_request(session, instance_id=instance_id, actor=actor(), note=args["note"] or None)
    except Conflict as error:
        if error.reason != "chase_too_soon" or wants_json():
            raise
        flash(describe(error), "warning")  # says when the next chase is possible
        return redirect(url_for("portal.request_detail", instance_id=instance_id))
    if count >= case.COMPLAINT_AFTER_CHASES:
        flash(gettext("Chase no. %(count)d recorded. This request is now handled as a complaint.",
                      count=count), "warning")
    else:
        flash(gettext("Chase no. %(count)d recorded; the service desk has been reminded.", count=count), "success")
    return redirect(url_for("portal.request_detail", instance_id=instance_id))
