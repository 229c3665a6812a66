"""Agent pages: the search box's results, the all-requests list and its saved filters, a request by number."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from app.requests import bp
from app.requests.schemas import RequestListArgs, SavedFilterArgs, SearchArgs
from app.web.error_details import describe
from app.web.requests import load_args, wants_json
from app.web.session import actor, unit_of_work
from engine import access
from engine.desk import request_list, request_search
from engine.desk.inbox import request_processes
from engine.desk.request_list import FILTER_KEYS
from engine.errors import Conflict, InvalidInput


@bp.get("/search")
def search() -> Any:
    args = load_args(SearchArgs(), request.args)
    with unit_of_work() as session:
        result = request_search.search(session, actor=actor(), text=args["q"], page=args["page"])
    if result.exact is not None and result.exact.number:  # a whole number typed: straight to the request
        return redirect(url_for("requests.by_number", number=result.exact.number))
    return render_template("requests/search.html", q=args["q"], result=result)


@bp.get("/requests")
def index() -> Any:
    args = load_args(RequestListArgs(), request.args)
    filters = {key: args[key] for key in FILTER_KEYS}
    with unit_of_work() as session:
        page = request_list.list_requests(session, actor=actor(), filters=filters, page=args["page"])
        saved = request_list.saved_filters(session, actor=actor())
        processes = request_processes(session)
    query = urlencode({k: v for k, v in request.args.items() if k in FILTER_KEYS and v})
    return render_template("requests/index.html", page=page, filters=filters, saved=saved, query=query,
                           processes=processes, groups=sorted(actor().groups - {access.REQUESTERS}))


@bp.get("/requests/<string(maxlength=40):number>")
def by_number(number: str) -> Any:
    with unit_of_work() as session:
        found = request_list.landing(session, number=number, actor=actor())
    if found.page == "request":
        return redirect(url_for("portal.request_detail", instance_id=found.instance_id))
    if found.page == "task":
        return redirect(url_for("inbox.task", task_id=found.task_id))
    return redirect(url_for("audit.history", instance_id=found.instance_id))


def _back(query: str = "") -> Any:
    return redirect(url_for("requests.index") + (f"?{query}" if query else ""))


@bp.post("/requests/filters")
def save_filter() -> Any:
    args = load_args(SavedFilterArgs(), request.form)
    try:
        with unit_of_work() as session:
            saved = request_list.save_filter(session, actor=actor(), name=args["name"], query=args["query"],
                                             group_id=args["group_id"])
            query = saved.query
    except (Conflict, InvalidInput) as error:
        if wants_json():
            raise
        flash(describe(error), "warning")
        return _back(request_list.clean_query(args["query"]))
    flash(gettext("Filter “%(name)s” saved.", name=args["name"]), "success")
    return _back(query)


@bp.post("/requests/filters/<int:filter_id>/rename")
def rename_filter(filter_id: int) -> Any:
    args = load_args(SavedFilterArgs(), request.form)
    try:
        with unit_of_work() as session:
            request_list.rename_filter(session, actor=actor(), filter_id=filter_id, name=args["name"],
                                       group_id=args["group_id"])
    except Conflict as error:
        if wants_json():
            raise
        flash(describe(error), "warning")
        return _back()
    flash(gettext("Filter renamed to “%(name)s”.", name=args["name"]), "success")
    return _back()


@bp.post("/requests/filters/<int:filter_id>/delete")
def delete_filter(filter_id: int) -> Any:
    with unit_of_work() as session:
        request_list.delete_filter(session, actor=actor(), filter_id=filter_id)
    flash(gettext("Filter deleted."), "success")
    return _back()
