"""Posting on a request's conversation, then back to the page the form was on."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext

from app.conversation import bp
from app.conversation.schemas import CommentArgs
from app.web.error_details import describe
from app.web.requests import load_args, safe_next, wants_json
from app.web.session import actor, unit_of_work
from engine.desk import conversation
from engine.errors import Conflict, InvalidInput


@bp.post("/requests/<int:instance_id>/comments")
def post_comment(instance_id: int) -> Any:
    back = safe_next(request.form.get("next"), url_for("portal.request_detail", instance_id=instance_id))
    try:
        args = load_args(CommentArgs(), request.form)
        with unit_of_work() as session:
            posted = conversation.add_comment(session, instance_id=instance_id, actor=actor(), body=args["body"],
                                              visibility=args["visibility"])
    except (InvalidInput, Conflict) as error:
        if wants_json():
            raise
        flash(describe(error), "warning")  # an empty text, a closed request: said on the page it came from
        return redirect(back)
    if posted.is_internal:
        flash(gettext("Internal note added. The requester does not see it."), "success")
    else:
        flash(gettext("Reply sent."), "success")
    return redirect(back + "#conversation")
