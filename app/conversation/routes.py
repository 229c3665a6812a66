"""Posting on a request's conversation, then back to the page the form was on; `post` is the unit of work
the API shares."""
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
from engine.users import Actor

# A comment waits on no step: when a colleague's change to the request wins the race for its history, the
# comment is simply written after it (a fresh unit of work, the rules read again).
ATTEMPTS = 3


def post(instance_id: int, *, who: Actor, body: str, visibility: str) -> conversation.Comment:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with unit_of_work() as session:
                return conversation.add_comment(session, instance_id=instance_id, actor=who, body=body,
                                                visibility=visibility)
        except Conflict as error:
            if error.reason or attempt == ATTEMPTS:  # a rule (the request closed), not a race
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@bp.post("/requests/<int:instance_id>/comments")
def post_comment(instance_id: int) -> Any:
    back = safe_next(request.form.get("next"), url_for("portal.request_detail", instance_id=instance_id))
    try:
        args = load_args(CommentArgs(), request.form)
        posted = post(instance_id, who=actor(), body=args["body"], visibility=args["visibility"])
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
