"""Agent pages: the inbox, a task (request, earlier steps, form, diagram) and the task actions."""
from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup

from app.inbox import bp
from app.inbox.schemas import AssignArgs, InboxArgs, TaskActionArgs
from app.web.display import data
from app.web.error_details import describe
from app.web.form_display import posted_form_data
from app.web.i18n import locale
from app.web.requests import load_args, safe_next, wants_json
from app.web.session import actor, unit_of_work
from engine import access, users
from engine.desk import complaint, conversation, inbox, zones
from engine.errors import Conflict, InvalidInput, TaskTaken
from engine.process import runtime


@bp.get("/inbox")
def index() -> Any:
    args = load_args(InboxArgs(), request.args)
    with unit_of_work() as session:
        page = inbox.inbox_page(session, actor=actor(), **args)
        zone_choices = zones.zone_choices(session)
        chases = complaint.recent_chases(session, actor=actor())
    filters = {"state": args["state"], "process": args["process_id"] or "", "level": args["fault_level"] or "",
               "zone": args["zone"] or ""}
    return render_template("inbox/index.html", page=page, filters=filters, limit=args["limit"], zones=zone_choices,
                           chases=chases)


def _task_page(task_id: int, *, values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
               conflict: Markup | None = None, taken_by: str | None = None, status: int = 200) -> Any:
    with unit_of_work() as session:
        page = inbox.task_page(session, task_id=task_id, actor=actor())
        thread = conversation.panel(session, instance_id=page["instance"]["id"], actor=actor())
    return render_template("inbox/task.html", page=page, values=page["suggested"] if values is None else values,
                           errors=errors or {}, conflict=conflict, taken_by=taken_by, thread=thread), status


@bp.get("/tasks/<int:task_id>")
def task(task_id: int) -> Any:
    return _task_page(task_id)


@bp.post("/tasks/<int:task_id>")
def complete(task_id: int) -> Any:
    data = posted_form_data(request.form)
    try:
        with unit_of_work() as session:
            done = runtime.complete_task(session, task_id=task_id, data=data, actor=actor(), locale=locale())
    except (InvalidInput, Conflict) as error:
        if wants_json():
            raise
        if isinstance(error, Conflict):
            # Shown on the task page as it is now, with everything the user typed, so nothing is lost;
            # a colleague who took the task meanwhile is named.
            taken_by = error.assignee if isinstance(error, TaskTaken) else None
            return _task_page(task_id, values=data, conflict=describe(error), taken_by=taken_by, status=409)
        errors = error.field_errors or {"_schema": [error.message]}
        if error.reason and error.field_errors:  # a rule of the engine's, worded in the page's language
            errors = {key: [describe(error)] for key in error.field_errors}
        return _task_page(task_id, values=data, errors=errors, status=422)
    if done.status == "completed":
        flash(gettext("Saved. Request no. %(id)d is closed.", id=done.id), "success")
    else:
        flash(gettext("Saved. Request no. %(id)d moved on.", id=done.id), "success")
    if not access.may_use_inbox(actor()):
        with unit_of_work() as session:
            theirs = access.may_view_request(runtime.load_instance(session, done.id), actor())
        # A need owner deciding on a colleague's request (engine.desk.zones) goes back to their own list.
        return redirect(url_for("portal.request_detail", instance_id=done.id) if theirs else url_for("portal.index"))
    return redirect(url_for("inbox.index"))


@bp.post("/tasks/<int:task_id>/claim")
def claim(task_id: int) -> Any:
    args = load_args(TaskActionArgs(), request.form)
    with unit_of_work() as session:
        runtime.claim_task(session, task_id=task_id, actor=actor())
    flash(gettext("You claimed this task; your colleagues see it as yours."), "success")
    return redirect(safe_next(args["next"], url_for("inbox.task", task_id=task_id)))


@bp.post("/tasks/<int:task_id>/release")
def release(task_id: int) -> Any:
    args = load_args(TaskActionArgs(), request.form)
    with unit_of_work() as session:
        runtime.release_task(session, task_id=task_id, actor=actor())
    flash(gettext("The task is back in its group's queue."), "success")
    return redirect(safe_next(args["next"], url_for("inbox.task", task_id=task_id)))


@bp.post("/tasks/<int:task_id>/assign")
def assign(task_id: int) -> Any:
    args = load_args(AssignArgs(), request.form)
    with unit_of_work() as session:
        record = runtime.assign_task(session, task_id=task_id, assignee=users.actor(session, args["assignee"]),
                                     actor=actor())
        assignee = record.assignee
    flash(Markup(gettext("The task is now assigned to %(user)s.")) % {"user": data(assignee)}, "success")
    return redirect(safe_next(args["next"], url_for("inbox.task", task_id=task_id)))


@bp.get("/tasks/<int:task_id>/diagram")
def diagram(task_id: int) -> Any:
    """The process diagram (BPMN XML) of the task's case, with the elements to highlight."""
    with unit_of_work() as session:
        found = inbox.diagram(session, task_id=task_id, actor=actor())
    return jsonify(found)
