"""Personal API tokens: /api/v1/tokens for a token's own user, and the web page /api-tokens where a signed-in
user makes (secret shown once) and revokes theirs. The work is engine.tokens'."""
from __future__ import annotations

from typing import Any

from flask import Blueprint as WebBlueprint
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_smorest import Blueprint

from app.api.auth import actor, token_required
from app.api.routes import documented_errors
from app.api.schemas import NewTokenSchema, TokenArgs, TokenSchema
from app.web.requests import load_args
from app.web.session import actor as web_actor
from app.web.session import login_required_for, unit_of_work
from engine import tokens

api = Blueprint("api_tokens_api", __name__, url_prefix="/api/v1/tokens", description="My personal API tokens")
token_required(api, "api")
page = WebBlueprint("api_tokens", __name__)
login_required_for(page, read_only_for_auditors=False)  # an auditor may read through the API too


@api.get("")
@api.response(200, TokenSchema(many=True))
@documented_errors(api)
def list_tokens() -> Any:
    with unit_of_work() as session:
        who = actor()
        return [tokens.token_row(t) for t in tokens.list_tokens(session, owner=who.username, actor=who)]


@api.post("")
@api.arguments(TokenArgs)
@api.response(201, NewTokenSchema)
@documented_errors(api, 422)
def create_token(args: dict[str, Any]) -> Any:
    """A new token of mine; its secret is in this answer only."""
    who = actor()
    with unit_of_work() as session:
        token, secret = tokens.create_token(session, owner=who, name=args["name"], scopes=args["scopes"], actor=who)
        return {**tokens.token_row(token), "secret": secret}, 201


@api.delete("/<int:token_id>")
@api.response(200, TokenSchema)
@documented_errors(api, 404)
def revoke_token(token_id: int) -> Any:
    with unit_of_work() as session:
        return tokens.token_row(tokens.revoke_token(session, token_id=token_id, actor=actor()))


# --- the web page -----------------------------------------------------------------------------------

def _page(secret: str | None = None, status: int = 200) -> Any:
    who = web_actor()
    with unit_of_work() as session:
        rows = [tokens.token_row(t) for t in tokens.list_tokens(session, owner=who.username, actor=who)]
    return render_template("api/tokens.html", tokens=rows, secret=secret, scopes=tokens.SCOPES), status


@page.get("/api-tokens")
def tokens_page() -> Any:
    return _page()


@page.post("/api-tokens")
def new_token() -> Any:
    args = load_args(TokenArgs(), {"name": request.form.get("name", ""),
                                   "scopes": request.form.getlist("scopes") or ["api"]})
    who = web_actor()
    with unit_of_work() as session:
        _token, secret = tokens.create_token(session, owner=who, name=args["name"], scopes=args["scopes"], actor=who)
    return _page(secret=secret, status=201)


@page.post("/api-tokens/<int:token_id>/revoke")
def revoke(token_id: int) -> Any:
    with unit_of_work() as session:
        tokens.revoke_token(session, token_id=token_id, actor=web_actor())
    flash(gettext("The API token is revoked; it no longer works."), "success")
    return redirect(url_for("api_tokens.tokens_page"))
