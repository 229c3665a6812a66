"""What every web page shares: the signed-in user, language, CSRF, the unit of work, errors, display helpers.

Views import from here; nothing here holds domain rules (those are in engine/).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babel import support
from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    session,
)
from flask_babel import Babel, Domain, format_datetime, get_locale, gettext, lazy_gettext, ngettext
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup
from marshmallow import Schema, ValidationError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

import config as config_module
import forms
from app import database
from engine import users
from engine.desk.inbox import DIRECTORY_GROUPS
from engine.errors import Forbidden, InvalidInput, NotFound, OpsflowError
from engine.store.models import User

LOCALES = users.LOCALES
BPMN_JS_DIST = config_module.ROOT / "node_modules" / "bpmn-js" / "dist"

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


class WebUser(UserMixin):
    """The signed-in user as pages need it: plain data, loaded once per request."""

    def __init__(self, username: str, display_name: str, groups: frozenset[str], locale: str):
        self.username = username
        self.display_name = display_name
        self.groups = groups
        self.locale = locale

    @classmethod
    def from_model(cls, user: User) -> WebUser:
        return cls(user.username, user.display_name, frozenset(g.id for g in user.groups), user.locale)

    def get_id(self) -> str:
        return self.username

    @property
    def actor(self) -> users.Actor:
        return users.Actor(self.username, self.groups)

    @property
    def is_auditor(self) -> bool:
        return self.actor.is_auditor

    @property
    def is_agent(self) -> bool:
        """Works tasks of some group other than the requesters'."""
        return bool(self.groups - {"requester", "auditor"})

    @property
    def may_see_directory(self) -> bool:
        return bool(self.groups & DIRECTORY_GROUPS)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One request's transaction: commits when the block ends, rolls back on any error."""
    with database(current_app).transaction() as db_session:
        yield db_session


def actor() -> users.Actor:
    return current_user.actor  # type: ignore[no-any-return]


def locale() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def wants_json() -> bool:
    """JSON for API clients (JSON body or Accept: application/json), HTML for browsers."""
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def safe_next(target: str | None, default: str) -> str:
    """A same-site path to go back to, never another host (open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_required_for(blueprint: Blueprint, *, read_only_for_auditors: bool = True) -> None:
    """Every view of the blueprint needs a signed-in user; auditors may look but never POST."""

    @blueprint.before_request
    def _check() -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if read_only_for_auditors and request.method not in ("GET", "HEAD", "OPTIONS") and current_user.is_auditor:
            raise Forbidden(f"{current_user.username} is an auditor: auditors read, they never change anything")
        return None


# --- HTML form data -------------------------------------------------------------------------------

_ROW_KEY = re.compile(r"([a-z][a-z0-9_]{0,60})-(\d{1,3})-([a-z][a-z0-9_]{0,60})")


def posted_form_data(posted: MultiDict[str, str]) -> dict[str, Any]:
    """A form post as the form definitions read it: field -> text, parts-list rows from `field-<n>-<column>`.

    Keys starting with `_` and the CSRF token are the page's own, not form fields.
    """
    data: dict[str, Any] = {}
    rows: dict[str, dict[int, dict[str, str]]] = {}
    for key in posted:
        if key == "csrf_token" or key.startswith("_"):
            continue
        match = _ROW_KEY.fullmatch(key)
        if match:
            rows.setdefault(match[1], {}).setdefault(int(match[2]), {})[match[3]] = posted[key]
        else:
            data[key] = posted[key]
    for name, by_index in rows.items():
        data[name] = [by_index[index] for index in sorted(by_index)]
    return data


def display_value(spec: forms.Field | None, value: Any) -> str:
    """One stored form value as a person reads it, in the page's language."""
    if value is None or value == "":
        return "—"
    if (spec is not None and spec.type == "bool") or isinstance(value, bool):
        return gettext("Yes") if value in (True, "true", "on", "1") else gettext("No")
    if spec is not None and spec.type == "datetime" and isinstance(value, str):
        return value.replace("T", " ")[:16]
    if spec is not None and spec.type == "enum":
        for choice in spec.choices:
            if choice.value == value:
                return choice.label(locale())
    if isinstance(value, list):
        return "; ".join(" × ".join(str(v) for v in row.values()) if isinstance(row, Mapping) else str(row)
                         for row in value)
    return str(value)


def labelled(form_key: str | None, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs of form data in form order, labels in the page's language."""
    try:
        definition = forms.get_form(form_key) if form_key else None
    except forms.UnknownFormKey:
        definition = None
    pairs = []
    seen = set()
    if definition is not None:
        for spec in definition.fields:
            if spec.id in data:
                pairs.append((spec.label(locale()), display_value(spec, data[spec.id])))
                seen.add(spec.id)
    for key, value in data.items():
        if key not in seen:
            pairs.append((key, display_value(None, value)))
    return pairs


def load_args(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """Request parameters through an `*Args` schema; bad ones are a 422 naming each parameter."""
    try:
        return dict(schema.load(data))
    except ValidationError as error:
        problems = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        raise InvalidInput("invalid request parameters",
                           field_errors={str(k): [str(m) for m in v] if isinstance(v, list) else [str(v)]
                                         for k, v in problems.items()}) from None


def unplaced_errors(fields: list[forms.RenderedField], errors: Mapping[str, list[str]]) -> list[str]:
    """Messages no field of the form shows: about the data as a whole, or keys the form does not know."""
    ids = {f["id"] for f in fields}
    return [message for key, messages in errors.items() if key not in ids for message in messages]


def form_fields(form_key: str | None) -> list[forms.RenderedField]:
    if not form_key:
        return []
    return forms.get_form(form_key).render_fields(locale())


def form_title(form_key: str | None) -> str:
    if not form_key:
        return ""
    try:
        return forms.get_form(form_key).title(locale())
    except forms.UnknownFormKey:
        return form_key


# --- names shown for ids --------------------------------------------------------------------------

# BPMN names are Chinese; these give the English UI its own words (the zh_CN catalogue maps back).
PROCESS_NAMES = {
    "service_desk": lazy_gettext("Service desk and on-site service"),
    "emergency": lazy_gettext("Emergency service"),
    "health_check": lazy_gettext("Health check"),
    "third_party": lazy_gettext("Third-party service"),
    "other_service": lazy_gettext("Other services"),
    "problem_management": lazy_gettext("Problem management"),
    "software_adjustment": lazy_gettext("Software adjustment"),
    "knowledge_review": lazy_gettext("Knowledge-base solution review"),
}
FAULT_LEVEL_NAMES = {
    "I": lazy_gettext("I · critical"),
    "II": lazy_gettext("II · major"),
    "III": lazy_gettext("III · minor"),
    "IV": lazy_gettext("IV · normal"),
}
STATUS_NAMES = {
    "running": lazy_gettext("in progress"),
    "completed": lazy_gettext("closed"),
    "error": lazy_gettext("failed"),
    "ready": lazy_gettext("waiting"),
    "cancelled": lazy_gettext("cancelled"),
}
INBOX_STATE_NAMES = {
    "open": lazy_gettext("For me and my groups"),
    "mine": lazy_gettext("Claimed by me"),
    "unclaimed": lazy_gettext("Not claimed yet"),
    "claimed": lazy_gettext("Claimed by colleagues"),
    "all": lazy_gettext("All of my groups"),
}


def process_name(process_id: str | None, fallback: str | None = None) -> str:
    if process_id in PROCESS_NAMES:
        return str(PROCESS_NAMES[process_id])
    return fallback or process_id or ""


def group_name(group_id: str | None) -> str:
    if not group_id:
        return "—"
    names = users.GROUPS.get(group_id)
    if names is None:
        return group_id
    return names[0] if locale().startswith("zh") else names[1]


def step_name(name: str | None, form_key: str | None = None) -> str:
    """A task's diagram name; the English UI adds the form's English title, as diagrams are Chinese."""
    name = name or ""
    if locale().startswith("zh") or not form_key:
        return name
    return f"{form_title(form_key)} ({name})"


def data(value: Any) -> Markup:
    """User data or an id inside translated text: marked so it is neither translated nor flagged."""
    return Markup('<span translate="no">{}</span>').format("—" if value is None else value)


def when(value: dt.datetime | str | None, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC time in the configured time zone and the page's language."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return format_datetime(value, pattern)


def time_left(seconds: int | None) -> str:
    """'3 h 20 min left' / 'late by 5 min'."""
    if seconds is None:
        return ""
    late = seconds < 0
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(num)d day", "%(num)d days", days))
    if hours:
        parts.append(gettext("%(num)d h", num=hours))
    if mins or not parts:
        parts.append(gettext("%(num)d min", num=mins))
    span = " ".join(parts)
    return gettext("late by %(span)s", span=span) if late else gettext("%(span)s left", span=span)


# --- set-up ---------------------------------------------------------------------------------------

class _CatalogDomain(Domain):
    """Finds app/translations/zh_CN for the locale Babel calls zh_Hans_CN (gettext alone would look
    for zh_Hans_CN and zh only)."""

    def get_translations(self) -> support.NullTranslations:
        found = get_locale()
        if found is None:
            return support.NullTranslations()
        name = f"{found.language}_{found.territory}" if found.territory else found.language
        cached = self.cache.get(name)
        if cached is None:
            cached = support.Translations()
            for directory in self.translation_directories:
                catalog = support.Translations.load(directory, [name, str(found)], self.domain[0])
                cached.merge(catalog)
                if hasattr(catalog, "plural"):  # merge() leaves the plural rule behind
                    cached.plural = catalog.plural
            self.cache[name] = cached
        return cached


def _select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return str(current_user.locale)
    chosen = session.get("locale")
    return chosen if chosen in LOCALES else current_app.config["BABEL_DEFAULT_LOCALE"]


def _load_user(username: str) -> WebUser | None:
    with unit_of_work() as db_session:
        try:
            return WebUser.from_model(users.get_user(db_session, username))
        except NotFound:
            return None


def init_app(app: Flask) -> None:
    """Sessions (Flask-Login), CSRF on every form, languages and the template helpers."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_timezone=app.config["BABEL_DEFAULT_TIMEZONE"])
    babel.domain_instance = _CatalogDomain()
    app.jinja_env.globals.update(
        labelled=labelled, form_fields=form_fields, form_title=form_title, process_name=process_name,
        group_name=group_name, step_name=step_name, when=when, time_left=time_left, locale=locale,
        fault_level_names=FAULT_LEVEL_NAMES, status_names=STATUS_NAMES, inbox_state_names=INBOX_STATE_NAMES,
        display_value=display_value, unplaced_errors=unplaced_errors, data=data)
    app.add_url_rule("/vendor/bpmn-js/<path:filename>", "bpmn_js", _bpmn_js)


def _bpmn_js(filename: str) -> Any:
    """bpmn-js from node_modules (installed by scripts/install with npm ci): no CDN."""
    if not Path(BPMN_JS_DIST).is_dir():
        raise NotFound("the diagram viewer is not installed (run scripts/install)")
    return send_from_directory(BPMN_JS_DIST, filename, max_age=24 * 3600)


# --- errors ---------------------------------------------------------------------------------------

_HEADLINES = {
    400: lazy_gettext("The request could not be understood"),
    403: lazy_gettext("You may not do this"),
    404: lazy_gettext("Not found"),
    405: lazy_gettext("Not allowed here"),
    409: lazy_gettext("Someone else was faster"),
    413: lazy_gettext("Too much data"),
    422: lazy_gettext("Please check what you entered"),
    500: lazy_gettext("Something went wrong on our side"),
}
_EXPLANATIONS = {
    403: lazy_gettext("Your account has no access to this page or action. Tasks are open to the members of "
                      "their group and to the person they are assigned to; auditors can read everything but "
                      "change nothing."),
    404: lazy_gettext("There is nothing at this address. It may have been mistyped, or the item does not exist."),
    409: lazy_gettext("Someone changed this item while you were working on it. Nothing you sent was saved."),
    500: lazy_gettext("The error has been logged. Nothing you sent was saved; please try again later."),
}
_CSRF_EXPLANATION = lazy_gettext("This form has expired or was not sent from this site, so nothing was saved. "
                                 "Go back, reload the page and send it again.")


def render_error(status: int, detail: str | None, *, code: str | None = None, explanation: str | None = None) -> Any:
    """The error page (or JSON): a headline and explanation in the user's language, the exact cause,
    and whatever the user had typed, so nothing is lost."""
    typed = posted_form_data(request.form) if request.method == "POST" and request.form else {}
    body = render_template("errors/error.html", status=status, code=code,
                           headline=_HEADLINES.get(status, _HEADLINES[400]),
                           explanation=explanation or _EXPLANATIONS.get(status, ""), detail=detail,
                           typed=labelled(request.form.get("_form"), typed) if typed else [])
    return body, status


def register_errors(app: Flask) -> None:
    @app.errorhandler(OpsflowError)
    def _domain_error(error: OpsflowError) -> Any:
        if wants_json():
            return jsonify(error.to_dict()), error.status
        return render_error(error.status, str(error), code=error.code)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        if wants_json():
            return jsonify(code="csrf", message=error.description), 400
        return render_error(400, error.description, code="csrf", explanation=str(_CSRF_EXPLANATION))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if wants_json():
            return jsonify(code=error.name.lower().replace(" ", "_"), message=error.description), status
        return render_error(status, error.description, code=error.name)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return _http_error(error)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if app.config.get("TESTING") and app.config.get("PROPAGATE_EXCEPTIONS") is not False:
            raise error
        if wants_json():
            return jsonify(code="internal_error", message="internal error"), 500
        return render_error(500, None, code="internal_error")
