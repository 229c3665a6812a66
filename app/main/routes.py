"""The front door (sends each user to their own start page) and a health check for load balancers."""
from __future__ import annotations

from typing import Any

from flask import jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from app.auth.routes import home_for
from app.main import bp
from app.web.session import unit_of_work


@bp.get("/")
def index() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(home_for(current_user))


@bp.get("/healthz")
def healthz() -> Any:
    with unit_of_work() as session:
        session.execute(text("select 1"))
    return jsonify(status="ok")


@bp.get("/favicon.ico")
def favicon() -> tuple[str, int]:
    """Answer without touching the session: a favicon request racing a sign-in must not undo it."""
    return "", 204
