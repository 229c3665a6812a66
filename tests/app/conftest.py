"""Web fixtures: an app on a fresh SQLite copy with the bundled diagrams and demo users, and clients
signed in as any demo user. CSRF is off here; tests/app/test_csrf.py turns it on."""
from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import config
from app import create_app, database
from engine import bootstrap, users
from engine.process import persistence
from engine.store import schema
from engine.store.db import Database
from engine.store.models import ProcessInstance, TaskRecord
from tests.conftest import BPMN_DIR
from tests.support.flows import REQUEST

PASSWORD = bootstrap.DEMO_PASSWORD


@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`flask opsflow setup` once (migrate, groups, diagrams, demo users); each test copies the file."""
    path = tmp_path_factory.mktemp("web") / "web.db"
    url = f"sqlite:///{path}"
    schema.upgrade(url)
    method, users.PASSWORD_HASH_METHOD = users.PASSWORD_HASH_METHOD, "pbkdf2:sha256:1"
    database = Database(url)
    try:
        with database.transaction() as session:
            users.ensure_groups(session)
            bootstrap.deploy_directory(session, BPMN_DIR, user="setup")
            bootstrap.create_demo_users(session)
            users.create_user(session, username="engineer2", password=PASSWORD, groups=["engineer"])
            users.create_user(session, username="requester2", password=PASSWORD, groups=["requester"])
    finally:
        users.PASSWORD_HASH_METHOD = method
        database.dispose()
    return path


def make_app(tmp_path: Path, template: Path, **settings: Any) -> Flask:
    path = tmp_path / "web.db"
    shutil.copy(template, path)
    attributes = {"DATABASE_URL": f"sqlite:///{path}", "WTF_CSRF_ENABLED": False,
                  "ATTACHMENT_DIR": str(tmp_path / "attachments"), **settings}
    web_config = type("WebTestConfig", (config.TestConfig,), attributes)
    return create_app(web_config)


def _serving(flask_app: Flask) -> Iterator[Flask]:
    persistence.workflow_cache.clear()
    yield flask_app
    database(flask_app).dispose()
    persistence.workflow_cache.clear()


@pytest.fixture
def app(tmp_path: Path, web_template: Path) -> Iterator[Flask]:
    yield from _serving(make_app(tmp_path, web_template))


@pytest.fixture
def csrf_app(tmp_path: Path, web_template: Path) -> Iterator[Flask]:
    """Like `app`, with CSRF protection on as in production."""
    yield from _serving(make_app(tmp_path, web_template, WTF_CSRF_ENABLED=True))


def csrf_token_on(client: FlaskClient, path: str) -> str:
    """The CSRF token a page at `path` hands out in its forms."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found[1]


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> FlaskClient:
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.text
    return client


@pytest.fixture
def client_for(app: Flask) -> Callable[[str], FlaskClient]:
    """client_for("engineer") -> a test client signed in as that user (its own cookie jar)."""
    def make(username: str) -> FlaskClient:
        return sign_in(app.test_client(), username)
    return make


def start_request(client: FlaskClient, process: str = "service_desk", **changes: Any) -> int:
    """Raise a request through the portal; returns its number."""
    response = client.post("/portal/new", data={"_process": process, **REQUEST, **changes})
    assert response.status_code == 302, response.text
    match = re.fullmatch(r"/portal/requests/(\d+)", response.location)
    assert match, response.location
    return int(match[1])


def request_number(app: Flask, instance_id: int) -> str:
    """The readable number a request got when it started (INC-2026-000123)."""
    with database(app).transaction() as session:
        number = session.scalar(select(ProcessInstance.number).where(ProcessInstance.id == instance_id))
    assert number and re.fullmatch(r"[A-Z]{3}-\d{4}-\d{6}", number), number
    return str(number)


def open_task(app: Flask, instance_id: int, element_id: str) -> int:
    """Id of the one open task of an instance at element_id (read-only lookup for tests)."""
    with database(app).transaction() as session:
        ids = list(session.scalars(select(TaskRecord.id).where(
            TaskRecord.instance_id == instance_id, TaskRecord.element_id == element_id,
            TaskRecord.state == "ready")))
    assert len(ids) == 1, f"expected one open {element_id!r} in instance {instance_id}, got {ids}"
    return ids[0]


def at_remote_fix(app: Flask, client_for: Callable[[str], FlaskClient]) -> tuple[int, int]:
    """(request, its 远程解决 task): raised by `requester`, accepted and classified (level III) by the desk."""
    instance_id = start_request(client_for("requester"))
    desk = client_for("service_desk")
    complete(desk, open_task(app, instance_id, "accept"), {"request_confirmed": "true"})
    complete(desk, open_task(app, instance_id, "classify"), {"category": "fault", "fault_level": "III"})
    return instance_id, open_task(app, instance_id, "remote_fix")


def complete(client: FlaskClient, task_id: int, data: dict[str, Any]) -> Any:
    response = client.post(f"/tasks/{task_id}", data=data)
    assert response.status_code == 302, response.text
    return response


def visible_text(html: str) -> str:
    """Text a person reads (no tags, scripts, styles)."""
    html = re.sub(r"(?s)<(script|style|template)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
