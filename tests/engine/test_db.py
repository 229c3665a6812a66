"""SQLite's write-ahead log is copied back into the database file by a background thread, not by commits."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from engine.store import db as db_module
from engine.store.db import Database


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_commits_leave_checkpoints_to_the_background_thread(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    database = Database(f"sqlite:///{path}")
    try:
        with database.transaction() as session:
            connection = session.connection()
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == db_module._BACKSTOP_PAGES
            connection.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)"))
        for _ in range(20):  # ~2 MB in the WAL, more than SQLite's default 1 000-page checkpoint
            with database.transaction() as session:
                session.connection().execute(text("INSERT INTO filler (body) VALUES (:body)"),
                                             [{"body": "x" * 1000} for _ in range(100)])
        # The database file itself only grows when a checkpoint copies the pages into it.
        assert _wait_for(lambda: path.stat().st_size > 1_500_000), path.stat().st_size
        with database.transaction() as session:
            assert session.connection().execute(text("SELECT count(*) FROM filler")).scalar() == 2000
    finally:
        database.dispose()
    assert str(path) not in db_module.checkpointer._paths


def test_the_checkpointer_never_recreates_a_deleted_database(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    db_module.checkpointer.add(str(path))
    try:
        time.sleep(db_module.WalCheckpointer.interval * 3)
        assert not path.exists()
    finally:
        db_module.checkpointer.remove(str(path))


def test_a_disposed_database_file_holds_all_its_data(tmp_path: Path) -> None:
    """Copying the file after dispose (a backup, a test template) must not need the -wal file."""
    path = tmp_path / "copied.db"
    database = Database(f"sqlite:///{path}")
    with database.transaction() as session:
        session.connection().execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        session.connection().execute(text("INSERT INTO t DEFAULT VALUES"))
    time.sleep(db_module.WalCheckpointer.interval * 2)  # let the checkpointer open its connection
    database.dispose()
    assert not Path(f"{path}-wal").exists()
    copy = tmp_path / "copy.db"
    copy.write_bytes(path.read_bytes())
    check = Database(f"sqlite:///{copy}")
    try:
        with check.transaction() as session:
            assert session.connection().execute(text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        check.dispose()
