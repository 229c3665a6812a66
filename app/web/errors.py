"""Errors as a page in the user's language (or JSON for JSON clients), keeping what the user typed."""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from app.api import problems
from app.web.error_details import describe, describe_csrf, describe_http
from app.web.form_display import labelled, posted_form_data
from app.web.requests import wants_json
from app.web.session import login_manager
from engine.errors import DatabaseBusy, OpsflowError

# Seconds a client is asked to wait after "the database is busy".
BUSY_RETRY_AFTER = 5

_HEADLINES = {
    400: lazy_gettext("The request could not be understood"),
    403: lazy_gettext("You may not do this"),
    404: lazy_gettext("Not found"),
    405: lazy_gettext("Not allowed here"),
    409: lazy_gettext("Someone else was faster"),
    413: lazy_gettext("Too much data"),
    422: lazy_gettext("Please check what you entered"),
    500: lazy_gettext("Something went wrong on our side"),
    503: lazy_gettext("The database is busy"),
}
_EXPLANATIONS = {
    403: lazy_gettext("Your account has no access to this page or action. Tasks are open to the members of "
                      "their group and to the person they are assigned to; auditors can read everything but "
                      "change nothing."),
    404: lazy_gettext("There is nothing at this address. It may have been mistyped, or the item does not exist."),
    409: lazy_gettext("Someone changed this item while you were working on it. Nothing you sent was saved."),
    500: lazy_gettext("The error has been logged. Nothing you sent was saved; please try again later."),
    503: lazy_gettext("Another opsflow process is writing to the database right now. Nothing you sent was "
                      "saved; please try again in a moment."),
}
_CSRF_EXPLANATION = lazy_gettext("This form has expired or was not sent from this site, so nothing was saved. "
                                 "Go back, reload the page and send it again.")


def render_error(status: int, detail: str | None, *, code: str | None = None,
                 explanation: str | None = None) -> Any:
    """The error page (or JSON): a headline and explanation in the user's language, the exact cause,
    and whatever the user had typed, so nothing is lost."""
    form = _posted_form()
    typed = posted_form_data(form) if form else {}
    body = render_template("errors/error.html", status=status, code=code,
                           headline=_HEADLINES.get(status, _HEADLINES[400]),
                           explanation=explanation or _EXPLANATIONS.get(status, ""), detail=detail,
                           typed=labelled(form.get("_form"), typed) if typed else [])
    return body, status


def _posted_form() -> Any:
    """The posted form, if it can be read: a body over the size limit (413) cannot, and reading it again
    here would raise the 413 again inside its own handler."""
    if request.method != "POST":
        return None
    try:
        return request.form
    except HTTPException:
        return None


def register_errors(app: Flask) -> None:
    @app.errorhandler(OpsflowError)
    def _domain_error(error: OpsflowError) -> Any:
        if problems.is_api_request():
            return problems.from_domain(error)
        if wants_json():
            return jsonify(error.to_dict()), error.status
        return render_error(error.status, describe(error), code=error.code)

    @app.errorhandler(DatabaseBusy)
    def _busy(error: DatabaseBusy) -> Any:
        if problems.is_api_request():
            return problems.from_domain(error)
        # Loading the signed-in user needs the database too: answer as to someone signed out, so
        # rendering the page does not wait for the lock (and fail) a second time.
        login_manager._update_request_context_with_user()
        body, status = _domain_error(error)
        return body, status, {"Retry-After": str(BUSY_RETRY_AFTER)}

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        if wants_json():
            return jsonify(code="csrf", message=error.description), 400
        return render_error(400, describe_csrf(error.description), code="csrf", explanation=str(_CSRF_EXPLANATION))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if problems.is_api_request():
            return problems.from_http(error)
        if wants_json():
            return jsonify(code=error.name.lower().replace(" ", "_"), message=error.description), status
        detail = describe_http(error) or (Markup('<span lang="en">{}</span>').format(error.description)
                                          if error.description and status < 500 else None)
        return render_error(status, detail, code=error.name)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return _http_error(error)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if app.config.get("TESTING") and app.config.get("PROPAGATE_EXCEPTIONS") is not False:
            raise error
        if problems.is_api_request():
            return problems.unexpected()
        if wants_json():
            return jsonify(code="internal_error", message="internal error"), 500
        return render_error(500, None, code="internal_error")
