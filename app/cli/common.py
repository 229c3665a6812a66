"""What every `flask opsflow` command shares: one-line errors, --data and --json, the database, actors.

Errors print one line on stderr and exit 1 (2 for bad command-line input). `--json` output is
documented in docs/cli-json.md and kept stable: other tools parse it.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import current_app

from app import database
from engine import users
from engine.errors import OpsflowError
from engine.store.db import Database


def _fail_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except OpsflowError as error:
            click.echo(f"error: {error}", err=True)
            problems = error.details.get("problems") or []
            for problem in problems[1:]:
                click.echo(f"error: {problem['filename'] or '-'}:{problem['element_id'] or '-'}: "
                           f"{problem['message']}", err=True)
            sys.exit(1)
    return wrapper


class CommandLineError(click.UsageError):
    """Bad command-line input: one `error:` line like every other error here, exit status 2."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", file=file, err=file is None)


def _json_argument(value: str | None) -> dict[str, Any]:
    """--data: a JSON object, or @path to a file holding one."""
    if value is None:
        return {}
    if value.startswith("@"):
        try:
            value = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandLineError(f"--data: cannot read {value[1:]}: {exc.strerror}") from None
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise CommandLineError(f"--data: not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict):
        raise CommandLineError("--data: must be a JSON object ({...})")
    return data


def _emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) if as_json else text(data))


def _db() -> Database:
    return database(current_app)


def _actor(session: Any, username: str) -> users.Actor:
    return users.actor(session, username)
