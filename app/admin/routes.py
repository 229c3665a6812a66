"""Users and groups: the list (process owners, managers, auditors, user administrators), and for user
administrators creating users, changing them, resetting passwords and (de)activating; the log of it all.

The engine (engine.desk.user_admin) checks who may; these views only hide what it would refuse.
"""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup

from app.admin import bp
from app.admin.schemas import DirectoryArgs, LogArgs
from app.web.error_details import describe
from app.web.requests import load_args
from app.web.session import actor, unit_of_work
from engine import access, users
from engine.desk import inbox, user_admin
from engine.errors import InvalidInput

FIELDS = ("username", "display_name", "email", "groups", "password")


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"min_password_length": users.MIN_PASSWORD_LENGTH}


def _posted() -> dict[str, Any]:
    """What the form sent, groups as a list; the password is never sent back to the page."""
    form = request.form
    return {"username": form.get("username", ""), "display_name": form.get("display_name", ""),
            "email": form.get("email", ""), "groups": form.getlist("groups")}


def _errors(error: InvalidInput) -> dict[str, list[Markup]]:
    """The engine's refusal in the page's language, beside the field it is about (`_form` when none)."""
    fields = [name for name in error.field_errors if name in FIELDS] or ["_form"]
    return {fields[0]: [describe(error)]}


def _groups() -> list[dict[str, str]]:
    with unit_of_work() as session:
        return [{"id": g.id, "name_zh": g.name_zh, "name_en": g.name_en} for g in users.list_groups(session)]


@bp.get("/users", endpoint="users")
def users_list() -> Any:
    args = load_args(DirectoryArgs(), request.args)
    with unit_of_work() as session:
        found = inbox.directory(session, actor=actor())
    if args["group"]:
        found["users"] = [u for u in found["users"] if args["group"] in u["groups"]]
    return render_template("admin/users.html", directory=found, group=args["group"])


@bp.get("/users/new")
def new_user() -> Any:
    access.require_administer_users(actor())
    return render_template("admin/new_user.html", values={"groups": []}, errors={}, groups=_groups())


@bp.post("/users/new")
def create_user() -> Any:
    access.require_administer_users(actor())  # a 403 before the input is looked at
    values = _posted()
    try:
        with unit_of_work() as session:
            user_admin.create_user(session, actor=actor(), password=request.form.get("password", ""), **values)
    except InvalidInput as error:
        return render_template("admin/new_user.html", values=values, errors=_errors(error), groups=_groups()), 422
    flash(gettext("User %(username)s is created; hand them their initial password.",
                  username=values["username"].strip()), "success")
    return redirect(url_for("admin.edit_user", username=values["username"].strip()))


def _edit_page(username: str, *, values: dict[str, Any] | None = None, errors: dict[str, Any] | None = None,
               status: int = 200) -> Any:
    with unit_of_work() as session:
        user = user_admin.user_details(session, actor=actor(), username=username)
        log = user_admin.log_entries(session, actor=actor(), username=username, limit=20)
    return render_template("admin/edit_user.html", user=user, values=values or user, errors=errors or {},
                           groups=_groups(), entries=log), status


@bp.get("/users/<username>/edit")
def edit_user(username: str) -> Any:
    return _edit_page(username)


@bp.post("/users/<username>/edit")
def save_user(username: str) -> Any:
    access.require_administer_users(actor())
    values = _posted()
    try:
        with unit_of_work() as session:
            user_admin.change_user(session, actor=actor(), username=username, display_name=values["display_name"],
                                   email=values["email"], groups=values["groups"])
    except InvalidInput as error:
        return _edit_page(username, values={**values, "username": username}, errors=_errors(error), status=422)
    flash(gettext("The changes to %(username)s are saved.", username=username), "success")
    return redirect(url_for("admin.edit_user", username=username))


@bp.post("/users/<username>/password")
def reset_password(username: str) -> Any:
    access.require_administer_users(actor())
    try:
        with unit_of_work() as session:
            user_admin.reset_password(session, actor=actor(), username=username,
                                      password=request.form.get("password", ""))
    except InvalidInput as error:
        return _edit_page(username, errors=_errors(error), status=422)
    flash(gettext("The password of %(username)s is reset; hand them the new one.", username=username), "success")
    return redirect(url_for("admin.edit_user", username=username))


@bp.post("/users/<username>/deactivate")
def deactivate_user(username: str) -> Any:
    access.require_administer_users(actor())
    try:
        with unit_of_work() as session:
            done = user_admin.deactivate_user(session, actor=actor(), username=username)
    except InvalidInput as error:
        flash(Markup(gettext("%(username)s was not deactivated: %(problem)s")) % {
            "username": username, "problem": describe(error)}, "warning")
        return redirect(url_for("admin.edit_user", username=username))
    flash(gettext("%(username)s is deactivated and can no longer sign in; %(released)d claimed tasks went back to "
                  "their groups, %(kept)d of their own requests stay theirs.", username=username,
                  released=len(done.released), kept=len(done.kept)), "success")
    return redirect(url_for("admin.edit_user", username=username))


@bp.post("/users/<username>/reactivate")
def reactivate_user(username: str) -> Any:
    access.require_administer_users(actor())
    try:
        with unit_of_work() as session:
            user_admin.reactivate_user(session, actor=actor(), username=username)
    except InvalidInput as error:
        flash(Markup(gettext("%(username)s was not reactivated: %(problem)s")) % {
            "username": username, "problem": describe(error)}, "warning")
        return redirect(url_for("admin.edit_user", username=username))
    flash(gettext("%(username)s is active again and can sign in.", username=username), "success")
    return redirect(url_for("admin.edit_user", username=username))


@bp.get("/log")
def log() -> Any:
    args = load_args(LogArgs(), request.args)
    with unit_of_work() as session:
        entries = user_admin.log_entries(session, actor=actor(), username=args["user"], before_id=args["before"])
    return render_template("admin/log.html", entries=entries, user=args["user"],
                           older=entries[-1].id if len(entries) == user_admin.LOG_PAGE else None)
