"""Database schema management through Alembic (migrations/ holds the revisions)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from engine.store.db import busy_as_error

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creating it if empty)."""
    with busy_as_error():
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
