"""Knowledge-base pages. The engine decides who sees and changes what (engine.desk.knowledge)."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext

import forms
from app.kb import bp
from app.kb.schemas import PAGE_SIZE, EditorArgs, LinkArgs, SearchArgs, WaiveArgs
from app.web.form_display import display_value, posted_form_data
from app.web.i18n import locale
from app.web.requests import load_args, safe_next, wants_json
from app.web.session import actor, unit_of_work
from engine.desk import knowledge
from engine.errors import InvalidInput

EDIT_FORM = knowledge.EDIT_FORM
SOLUTION_STATUS_NAMES = {
    "draft": lazy_gettext("draft"),
    "in_review": lazy_gettext("in review"),
    "approved": lazy_gettext("approved"),
    "retired": lazy_gettext("retired"),
}
OUTCOME_NAMES = {
    "approve": lazy_gettext("approved"),
    "send_back": lazy_gettext("sent back for changes"),
    "reject": lazy_gettext("rejected"),
}


def _choice_name(field_id: str, value: str | None) -> str:
    """A solution attribute's label in the page's language (kind, device type)."""
    return display_value(forms.get_form(EDIT_FORM).field(field_id), value)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    """For other pages: the knowledge panel of a task page, and whether the review queue link fits."""
    def kb_panel(page: dict[str, Any]) -> dict[str, Any] | None:
        task, instance = page["task"], page["instance"]
        if task["state"] != "ready" or instance["status"] != "running":
            return None
        with unit_of_work() as session:
            if instance["process_id"] == knowledge.REVIEW_PROCESS:
                return {"review": knowledge.review_subject(session, instance_id=instance["id"], actor=actor())}
            closing = (instance["process_id"], task["element_id"]) in knowledge.CLOSING_STEPS
            if task["form_key"] in knowledge.RESOLUTION_FORMS or closing:
                return {"closing": closing, **knowledge.incident_panel(session, instance_id=instance["id"],
                                                                       actor=actor())}
        return None

    def may_review_knowledge() -> bool:
        return knowledge.REVIEWERS in actor().groups

    return {"kb_panel": kb_panel, "may_review_knowledge": may_review_knowledge, "kb_kinds": knowledge.KINDS,
            "kb_statuses": knowledge.STATUSES, "kb_status_names": SOLUTION_STATUS_NAMES,
            "kb_outcome_names": OUTCOME_NAMES, "kb_choice": _choice_name}


@bp.get("/kb")
def index() -> Any:
    args = load_args(SearchArgs(), request.args)
    who = actor()
    with unit_of_work() as session:
        found = knowledge.search(session, actor=who, text=args["text"], kind=args["kind"], system=args["system"],
                                 device_type=args["device_type"], category=args["category"],
                                 status=args["status"], author=who.username if args["mine"] else None,
                                 limit=PAGE_SIZE, offset=args["offset"])
        counts = knowledge.status_counts(session) if found.statuses != ("approved",) else {}
    return render_template("kb/index.html", found=found, args=args, counts=counts, page_size=PAGE_SIZE,
                           device_types=forms.get_form(EDIT_FORM).field("device_type").choices)


@bp.get("/kb/<int:solution_id>")
def solution(solution_id: int) -> Any:
    with unit_of_work() as session:
        page = knowledge.solution_page(session, solution_id=solution_id, actor=actor())
    return render_template("kb/solution.html", page=page, s=page["solution"])


def _editor(values: dict[str, Any], errors: dict[str, list[str]], *, solution_id: int | None = None,
            incident: int | None = None, next_url: str | None = None, status: int = 200) -> Any:
    return render_template("kb/edit.html", values=values, errors=errors, solution_id=solution_id,
                           incident=incident, next_url=next_url, form_key=EDIT_FORM), status


@bp.get("/kb/new")
def new() -> Any:
    args = load_args(EditorArgs(), request.args)
    values: dict[str, Any] = {"kind": "solution"}
    if args["incident"]:
        with unit_of_work() as session:  # start from what the request said
            values.update(knowledge.draft_from_request(session, instance_id=args["incident"], actor=actor()))
    return _editor(values, {}, incident=args["incident"], next_url=args["next"])


@bp.post("/kb/new")
def create() -> Any:
    # The page's own fields start with "_", so they are not taken for the solution's.
    args = load_args(EditorArgs(), {"incident": request.form.get("_incident", ""),
                                    "next": request.form.get("_next", "")})
    data = posted_form_data(request.form)
    try:
        with unit_of_work() as session:
            created = knowledge.create_solution(session, data=data, actor=actor(), incident_id=args["incident"],
                                                locale=locale())
            if request.form.get("_submit"):
                knowledge.submit_for_review(session, solution_id=created.id, actor=actor())
            solution_id = created.id
    except InvalidInput as error:
        if wants_json():
            raise
        return _editor(data, error.field_errors or {"_schema": [error.message]}, incident=args["incident"],
                       next_url=args["next"], status=422)
    flash(gettext("Solution no. %(id)d saved.", id=solution_id), "success")
    return redirect(safe_next(args["next"], url_for("kb.solution", solution_id=solution_id)))


@bp.get("/kb/<int:solution_id>/edit")
def edit(solution_id: int) -> Any:
    with unit_of_work() as session:
        current = knowledge.solution_page(session, solution_id=solution_id, actor=actor())["solution"]
        values = {name: getattr(current, name) for name in forms.get_form(EDIT_FORM).field_ids}
    return _editor(values, {}, solution_id=solution_id)


@bp.post("/kb/<int:solution_id>/edit")
def update(solution_id: int) -> Any:
    data = posted_form_data(request.form)
    try:
        with unit_of_work() as session:
            knowledge.update_solution(session, solution_id=solution_id, data=data, actor=actor(), locale=locale())
            if request.form.get("_submit"):
                knowledge.submit_for_review(session, solution_id=solution_id, actor=actor())
    except InvalidInput as error:
        if wants_json():
            raise
        return _editor(data, error.field_errors or {"_schema": [error.message]}, solution_id=solution_id,
                       status=422)
    flash(gettext("Solution no. %(id)d saved.", id=solution_id), "success")
    return redirect(url_for("kb.solution", solution_id=solution_id))


@bp.post("/kb/<int:solution_id>/submit")
def submit(solution_id: int) -> Any:
    with unit_of_work() as session:
        knowledge.submit_for_review(session, solution_id=solution_id, actor=actor())
    flash(gettext("Submitted: the technical lead reviews it next."), "success")
    return redirect(url_for("kb.solution", solution_id=solution_id))


@bp.post("/kb/<int:solution_id>/retire")
def retire(solution_id: int) -> Any:
    with unit_of_work() as session:
        knowledge.retire_solution(session, solution_id=solution_id, actor=actor())
    flash(gettext("The solution is retired."), "success")
    return redirect(url_for("kb.solution", solution_id=solution_id))


@bp.get("/kb/review")
def review_queue() -> Any:
    with unit_of_work() as session:
        rows = knowledge.review_queue(session, actor=actor())
    return render_template("kb/review.html", rows=rows)


@bp.post("/kb/link")
def link() -> Any:
    args = load_args(LinkArgs(), request.form)
    with unit_of_work() as session:
        knowledge.link_solution(session, instance_id=args["instance_id"], solution_id=args["solution_id"],
                                actor=actor())
    flash(gettext("Solution no. %(solution)d is now linked to request no. %(request)d.",
                  solution=args["solution_id"], request=args["instance_id"]), "success")
    return redirect(safe_next(args["next"], url_for("kb.solution", solution_id=args["solution_id"])))


@bp.post("/kb/no-reusable-solution")
def waive() -> Any:
    args = load_args(WaiveArgs(), request.form)
    with unit_of_work() as session:
        knowledge.mark_no_reusable_solution(session, instance_id=args["instance_id"], reason=args["reason"],
                                            actor=actor())
    flash(gettext("Recorded: request no. %(id)d has no reusable solution.", id=args["instance_id"]), "success")
    return redirect(safe_next(args["next"], url_for("kb.index")))

