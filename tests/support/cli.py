"""Drive `flask opsflow …` in tests: an app on its own empty SQLite file, and the runner."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import Result
from flask import Flask

import config
from app import create_app


def cli_app(directory: Path, **settings: Any) -> Flask:
    """An app whose database is a fresh SQLite file in `directory` (not migrated: `setup` does that)."""
    attributes = {"DATABASE_URL": f"sqlite:///{directory / 'cli.db'}", **settings}
    return create_app(type("CliTestConfig", (config.TestConfig,), attributes))


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["opsflow", *args])


def run_json(app: Flask, *args: str) -> Any:
    result = run(app, *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)
