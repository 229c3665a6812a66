"""The notification list and settings pages."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from app.notifications import bp
from app.notifications.schemas import MarkReadArgs, NotificationListArgs, PreferencesArgs
from app.web.i18n import locale
from app.web.requests import load_args, safe_next
from app.web.session import actor, unit_of_work
from engine.desk import notification_texts, notifications


@bp.get("/notifications")
def index() -> Any:
    args = load_args(NotificationListArgs(), request.args)
    with unit_of_work() as session:
        rows, total, unread = notifications.list_for(session, actor=actor(), unread_only=args["unread"],
                                                     limit=args["limit"], offset=args["offset"], locale=locale())
    return render_template("notifications/index.html", rows=rows, total=total, unread=unread, args=args)


@bp.post("/notifications/<int:notification_id>/read")
def mark_read(notification_id: int) -> Any:
    args = load_args(MarkReadArgs(), request.form)
    with unit_of_work() as session:
        notifications.mark_read(session, actor=actor(), notification_id=notification_id)
    return redirect(safe_next(args["next"], url_for("notifications.index")))


@bp.post("/notifications/read-all")
def mark_all_read() -> Any:
    args = load_args(MarkReadArgs(), request.form)
    with unit_of_work() as session:
        marked = notifications.mark_read(session, actor=actor())
    flash(gettext("%(count)d notifications marked read.", count=marked), "success")
    return redirect(safe_next(args["next"], url_for("notifications.index")))


@bp.get("/notifications/settings")
def settings() -> Any:
    with unit_of_work() as session:
        chosen = notifications.preferences(session, actor=actor())
        has_email = notifications.has_email(session, actor=actor())
    kinds = [(kind, notification_texts.kind_name(kind, locale())) for kind in notifications.KINDS]
    return render_template("notifications/settings.html", chosen=chosen, kinds=kinds, has_email=has_email)


@bp.post("/notifications/settings")
def save_settings() -> Any:
    args = load_args(PreferencesArgs(), request.form)
    with unit_of_work() as session:
        notifications.set_preferences(session, actor=actor(), enabled=args["enabled"])
    flash(gettext("Your notification settings are saved."), "success")
    return redirect(url_for("notifications.settings"))
