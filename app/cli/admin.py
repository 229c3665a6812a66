"""`flask opsflow migrate | setup | create-user`: the database, the bundled diagrams and users."""
from __future__ import annotations

import getpass

import click
from flask import current_app
from flask.cli import with_appcontext

from app.cli.common import _db, _fail_cleanly
from engine import bootstrap, users
from engine.desk import user_admin
from engine.store import schema


@click.command("migrate")
@with_appcontext
@_fail_cleanly
def migrate_command() -> None:
    """Create or upgrade the database schema."""
    schema.upgrade(current_app.config["DATABASE_URL"])
    click.echo("database is at the newest schema")


@click.command("setup")
@click.option("--demo/--no-demo", default=True, help="Create one demo user per group.")
@with_appcontext
@_fail_cleanly
def setup_command(demo: bool) -> None:
    """Migrate, create the groups, deploy the bundled diagrams and (by default) the demo users."""
    schema.upgrade(current_app.config["DATABASE_URL"])
    with _db().transaction() as session:
        users.ensure_groups(session)
        results = bootstrap.deploy_directory(session, current_app.config["BPMN_DIR"], user="setup")
        created = bootstrap.create_demo_users(session) if demo else []
    for result in results:
        state = "deployed" if result.created else "unchanged"
        click.echo(f"{result.process_id} v{result.version} {state}")
    if created:
        click.echo(f"demo users (password {bootstrap.DEMO_PASSWORD}): {', '.join(created)}")


@click.command("create-user")
@click.argument("username")
@click.option("--group", "groups", multiple=True, required=True, type=click.Choice(sorted(users.GROUPS)))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name")
@with_appcontext
@_fail_cleanly
def create_user_command(username: str, groups: tuple[str, ...], password: str, display_name: str | None) -> None:
    """Create a user in one or more groups."""
    with _db().transaction() as session:
        users.ensure_groups(session)
        user = users.create_user(session, username=username, password=password, groups=list(groups),
                                 display_name=display_name)
        user_admin.log_console_creation(session, user=user, operator=getpass.getuser())
    click.echo(f"user {username} created in {', '.join(groups)}")
