"""The REST API under /api/v1 (flask-smorest): personal-token auth, problem+json errors, pagination,
ETag/If-Match on instance changes, the OpenAPI document at /api/v1/openapi.json and Swagger UI at
/api/v1/docs, served from node_modules/swagger-ui-dist (no CDN). See docs/api.md."""
from __future__ import annotations

import http
from pathlib import Path
from typing import Any

from flask import Flask, send_from_directory
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from flask_wtf.csrf import CSRFProtect

import config as config_module
from app.api.problems import MEDIA_TYPE, PREFIX, ProblemSchema
from engine.errors import NotFound

SWAGGER_UI_DIST = config_module.ROOT / "node_modules" / "swagger-ui-dist"
SETTINGS = {
    "API_TITLE": "opsflow", "API_VERSION": "v1", "OPENAPI_VERSION": "3.0.3", "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json", "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": f"{PREFIX}/swagger-ui/",
    "API_SPEC_OPTIONS": {
        "security": [{"token": []}],
        "components": {"securitySchemes": {"token": {
            "type": "http", "scheme": "bearer",
            "description": "A personal API token (made at /api-tokens or with `flask opsflow api-token create`)"}}},
        "info": {"description": "opsflow's REST API. Errors are application/problem+json (RFC 9457). Changes "
                                "of an existing instance need If-Match with its ETag (428 without, 412 stale)."},
    },
}


class OpsflowApi(Api):
    """flask-smorest's Api, but errors are the app's to answer (app/web/errors.py hands /api/v1 to
    app/api/problems.py), and they are documented as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Not flask-smorest's app-wide HTTPException handler: it would answer the web pages' errors too."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            if status < 400:
                continue
            response = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
            prepare_response(response, self.spec, MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error (problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def register(app: Flask, csrf: CSRFProtect) -> None:
    """The API's blueprints, exempt from CSRF (a token authenticates them, never the session cookie)."""
    from app.api import alerts, attachments, reports, routes, tokens

    for name, value in SETTINGS.items():
        app.config.setdefault(name, value)
    api = OpsflowApi(app)
    for blueprint in (*routes.BLUEPRINTS, *alerts.BLUEPRINTS, *attachments.BLUEPRINTS, *reports.BLUEPRINTS,
                      tokens.api):
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    app.register_blueprint(tokens.page)
    app.add_url_rule(f"{PREFIX}/swagger-ui/<path:filename>", "swagger_ui", _swagger_ui)
    app.extensions["opsflow_api"] = api


def _swagger_ui(filename: str) -> Any:
    if not Path(SWAGGER_UI_DIST).is_dir():
        raise NotFound("Swagger UI is not installed (run scripts/install)", reason="swagger_ui_missing")
    return send_from_directory(SWAGGER_UI_DIST, filename, max_age=24 * 3600)
