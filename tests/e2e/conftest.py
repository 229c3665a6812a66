"""Browser tests: a real opsflow server on 127.0.0.1 (in a thread) and Debian's Chromium driven by
Playwright. Browsers are never downloaded; without /usr/bin/chromium (or Playwright) the tests skip,
except in CI, where scripts/test installs Chromium and a skip would hide a broken UI."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from app import database
from engine.process import persistence
from tests.app.conftest import make_app, web_template  # noqa: F401  (the fixture, shared with tests/app)

CHROMIUM = Path(os.environ.get("OPSFLOW_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def server(tmp_path: Path, web_template: Path) -> Iterator[str]:  # noqa: F811
    """The app on a free port of 127.0.0.1, serving until the test ends; yields its base URL."""
    persistence.workflow_cache.clear()
    app = make_app(tmp_path, web_template)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="opsflow-e2e", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)
    database(app).dispose()
    persistence.workflow_cache.clear()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server_database(server: str, tmp_path: Path) -> Iterator[Any]:
    """The live server's own database (make_app copies the template to tmp_path/web.db), so a test can
    build its data through engine/ while the server runs."""
    from engine.store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'web.db'}")
    yield db
    db.dispose()
