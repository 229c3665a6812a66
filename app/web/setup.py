"""Wiring the web layer into the app: sessions, CSRF, languages, template helpers, bpmn-js."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, send_from_directory
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFProtect

import config as config_module
from app import api
from app.web.display import (
    FAULT_LEVEL_NAMES,
    INBOX_STATE_NAMES,
    STATUS_NAMES,
    data,
    group_name,
    process_name,
    step_name,
    time_left,
    when,
)
from app.web.form_display import display_value, form_fields, form_title, labelled, unplaced_errors
from app.web.i18n import CatalogDomain, babel, locale, select_locale
from app.web.requests import DatabaseIdConverter
from app.web.session import count_unread_notifications, load_user, login_manager, may, unread_notifications
from engine.errors import NotFound

BPMN_JS_DIST = config_module.ROOT / "node_modules" / "bpmn-js" / "dist"

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Sessions (Flask-Login), CSRF on every form, languages and the template helpers."""
    app.url_map.converters["int"] = DatabaseIdConverter  # before any route is added
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_timezone=app.config["BABEL_DEFAULT_TIMEZONE"])
    babel.domain_instance = CatalogDomain()
    app.jinja_env.globals.update(
        labelled=labelled, form_fields=form_fields, form_title=form_title, process_name=process_name,
        group_name=group_name, step_name=step_name, when=when, time_left=time_left, locale=locale,
        fault_level_names=FAULT_LEVEL_NAMES, status_names=STATUS_NAMES, inbox_state_names=INBOX_STATE_NAMES,
        display_value=display_value, unplaced_errors=unplaced_errors, data=data, may=may,
        unread_notifications=unread_notifications)
    app.before_request(count_unread_notifications)
    app.add_url_rule("/vendor/bpmn-js/<path:filename>", "bpmn_js", _bpmn_js)
    api.register(app, csrf)  # /api/v1 (app/api): token auth, exempt from CSRF


def _bpmn_js(filename: str) -> Any:
    """bpmn-js from node_modules (installed by scripts/install with npm ci): no CDN."""
    if not Path(BPMN_JS_DIST).is_dir():
        raise NotFound("the diagram viewer is not installed (run scripts/install)", reason="viewer_missing")
    return send_from_directory(BPMN_JS_DIST, filename, max_age=24 * 3600)
