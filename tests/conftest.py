"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL where asked), users, diagrams.

Fixtures build data through engine/, never by writing rows.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from engine import bootstrap, desk, users
from engine.process import persistence
from engine.store import schema
from engine.store.db import Database
from engine.store.models import Base
from tests.support import pg

ROOT = Path(__file__).resolve().parent.parent
BPMN_DIR = ROOT / "bpmn"


@pytest.fixture(autouse=True, scope="session")
def desk_rules() -> None:
    """The engine runs with the service desk's rules on its hooks, as in the app (engine.desk.install)."""
    desk.install()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt costs ~0.1 s per user and fixtures create many; one pbkdf2 round still verifies."""
    monkeypatch.setattr(users, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:1")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated once; each test gets a copy (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    schema.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg.PostgresServer]:
    try:
        server = pg.start_postgres()
    except pg.PostgresUnavailable as exc:
        if pg.postgres_required():
            pytest.fail(f"PostgreSQL is required here (CI) but could not start: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: pg.PostgresServer) -> str:
    url = postgres_server.create_database("opsflow_engine")
    schema.upgrade(url)
    return url


def _truncate_all(database: Database) -> None:
    # sla_policy and alert_level hold the defaults the migrations seeded; tests that edit them restore them.
    kept = {"alembic_version", "sla_policy", "alert_level"}
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name not in kept)
    with database.transaction() as session:
        session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A migrated, empty database with the spec's groups; runs each test on SQLite and on PostgreSQL."""
    persistence.workflow_cache.clear()
    if request.param == "sqlite":
        path = tmp_path / "opsflow.db"
        shutil.copy(sqlite_template, path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        _truncate_all(database)
    with database.transaction() as session:
        users.ensure_groups(session)
    yield database
    database.dispose()
    persistence.workflow_cache.clear()


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only, for tests about behaviour that does not depend on the backend."""
    persistence.workflow_cache.clear()
    path = tmp_path / "opsflow.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    with database.transaction() as session:
        users.ensure_groups(session)
    yield database
    database.dispose()
    persistence.workflow_cache.clear()


@pytest.fixture
def make_user(db: Database) -> Callable[..., users.Actor]:
    """make_user(name, *groups) -> Actor."""
    def make(username: str, *groups: str) -> users.Actor:
        with db.transaction() as session:
            users.create_user(session, username=username, password="pw", groups=list(groups))
            return users.actor(session, username)
    return make


@pytest.fixture
def bundled(db: Database) -> Database:
    """The database with every diagram of bpmn/ deployed and one demo user per group."""
    with db.transaction() as session:
        bootstrap.deploy_directory(session, BPMN_DIR, user="test")
        bootstrap.create_demo_users(session)
    return db
