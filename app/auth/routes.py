"""Sign in with a user name and password (Flask-Login session), sign out, switch language."""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext, refresh
from flask_login import current_user, login_user, logout_user

from app.auth import bp
from app.auth.schemas import LocaleArgs, LoginArgs
from app.web.requests import load_args, safe_next
from app.web.session import WebUser, unit_of_work
from engine import access, users


def home_for(user: Any) -> str:
    """Where a user starts: requesters in the portal, everyone else in the inbox."""
    return url_for("inbox.index") if access.may_use_inbox(user.actor) else url_for("portal.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    args = load_args(LoginArgs(), request.values)
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(safe_next(args["next"], home_for(current_user)))
        return render_template("auth/login.html", username="", next=args["next"], error=None)
    with unit_of_work() as db_session:
        user = users.authenticate(db_session, username=args["username"].strip(), password=args["password"])
        web_user = WebUser.from_model(user) if user is not None else None
    if web_user is None:
        error = gettext("Wrong user name or password.")
        return render_template("auth/login.html", username=args["username"], next=args["next"], error=error), 401
    session.pop("locale", None)  # the user's own language from now on
    login_user(web_user)
    refresh()
    return redirect(safe_next(args["next"], home_for(web_user)))


@bp.post("/logout")
def logout() -> Any:
    locale = current_user.locale if current_user.is_authenticated else None
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale  # the sign-in page stays in the language just used
    return redirect(url_for("auth.login"))


@bp.post("/locale")
def switch_locale() -> Any:
    args = load_args(LocaleArgs(), request.form)
    if current_user.is_authenticated:
        with unit_of_work() as db_session:
            users.set_locale(db_session, username=current_user.username, locale=args["locale"])
    session["locale"] = args["locale"]
    return redirect(safe_next(args["next"], url_for("main.index")))
