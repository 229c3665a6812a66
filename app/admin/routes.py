"""The users-and-groups list (process owners, managers and auditors)."""
from __future__ import annotations

from typing import Any

from flask import render_template, request

from app.admin import bp
from app.admin.schemas import DirectoryArgs
from app.web.requests import load_args
from app.web.session import actor, unit_of_work
from engine.desk import inbox


@bp.get("/users")
def users() -> Any:
    args = load_args(DirectoryArgs(), request.args)
    with unit_of_work() as session:
        found = inbox.directory(session, actor=actor())
    if args["group"]:
        found["users"] = [u for u in found["users"] if args["group"] in u["groups"]]
    return render_template("admin/users.html", directory=found, group=args["group"])
