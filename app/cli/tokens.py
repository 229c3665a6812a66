"""`flask opsflow api-token create | list | revoke`: personal API tokens from the console (the web page is
/api-tokens). The console acts for the token's owner."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.cli.common import _db, _fail_cleanly
from engine import tokens, users


@click.group("api-token")
def api_token_group() -> None:
    """Personal API tokens for /api/v1."""


@api_token_group.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for, e.g. the calling system.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(tokens.SCOPES), default=("api",),
              show_default=True, help="api: the REST API as the user; alerts: monitoring intake (service desk).")
@with_appcontext
@_fail_cleanly
def create_command(username: str, name: str, scopes: tuple[str, ...]) -> None:
    """Make a token of USERNAME and print its secret (shown this once)."""
    with _db().transaction() as session:
        owner = users.actor(session, username)
        token, secret = tokens.create_token(session, owner=owner, name=name, scopes=scopes, actor=owner)
        token_id = token.id
    click.echo(f"token {token_id} of {username} ({', '.join(scopes)}); the secret is shown only now:")
    click.echo(secret)


@api_token_group.command("list")
@click.argument("username")
@with_appcontext
@_fail_cleanly
def list_command(username: str) -> None:
    """USERNAME's tokens: id, name, scopes, created, last used, revoked."""
    with _db().transaction() as session:
        owner = users.actor(session, username)
        for token in tokens.list_tokens(session, owner=username, actor=owner):
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "-"
            click.echo(f"{token.id}\t{token.name}\t{token.scopes}\t{token.created_at:%Y-%m-%d %H:%M}\t{used}\t{state}")


@api_token_group.command("revoke")
@click.argument("token_id", type=int)
@click.option("--user", "username", required=True, help="The token's owner.")
@with_appcontext
@_fail_cleanly
def revoke_command(token_id: int, username: str) -> None:
    """Revoke token TOKEN_ID of --user at once."""
    with _db().transaction() as session:
        tokens.revoke_token(session, token_id=token_id, actor=users.actor(session, username))
    click.echo(f"token {token_id} revoked")
