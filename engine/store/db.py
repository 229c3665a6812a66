"""Database access: one SQLAlchemy engine per URL and the unit of work every boundary uses.

Engine code receives a `Session` and only flushes; the caller (a request, a CLI command, a timer
job) opens `Database.transaction()`, which commits once and then runs after-commit callbacks
(arming timers, warming caches) — side effects never happen for work that rolled back.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import DatabaseBusy

_AFTER_COMMIT = "opsflow_after_commit"
log = logging.getLogger(__name__)

# With the checkpointer running, a commit checkpoints by itself only past this many WAL pages (40 MB
# with 4 KB pages): a backstop for when the checkpointer cannot keep up, not the usual path.
_BACKSTOP_PAGES = 10_000
# How long a SQLite connection waits for another's write lock before giving up (DatabaseBusy).
BUSY_TIMEOUT_MS = 30_000


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database file from a thread of its own.

    By default the commit that fills the WAL past 1 000 pages does the copy and its fsyncs: measured
    here, 1 commit in ~70 took 12–16 ms instead of 0.2 ms, and those commits were 60 % of all
    commit time. SQLite's documentation suggests running checkpoints in a separate thread for
    this; one thread serves every file database of the process. PASSIVE checkpoints never wait for
    readers or writers, so they cannot block a request.
    """

    interval = 0.1  # seconds between checkpoints; the WAL grows ~700 pages/s under the engine benchmark

    def __init__(self) -> None:
        self._paths: dict[str, int] = {}  # database file -> how many Database objects use it
        self._connections: dict[str, sqlite3.Connection] = {}
        self._lock = threading.Lock()  # held while checkpointing, so `remove` never races a checkpoint
        self._thread: threading.Thread | None = None

    def add(self, path: str) -> None:
        with self._lock:
            self._paths[path] = self._paths.get(path, 0) + 1
            self._ensure_thread()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="opsflow-wal-checkpoint", daemon=True)
            self._thread.start()

    def after_fork(self) -> None:
        """In a forked child (gunicorn --preload): no thread, a lock that may be held, and the
        parent's SQLite connections, which must not be used here — start afresh."""
        self._lock = threading.Lock()
        self._connections = {}
        self._thread = None
        if self._paths:
            self._ensure_thread()

    def remove(self, path: str) -> None:
        """Stop checkpointing `path`; closes our connection to it at once, so that the engine's own
        connections are the last ones and closing them folds the WAL into the file as usual."""
        with self._lock:
            left = self._paths.get(path, 0) - 1
            if left > 0:
                self._paths[path] = left
                return
            self._paths.pop(path, None)
            connection = self._connections.pop(path, None)
            if connection is not None:
                connection.close()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                for path in list(self._paths):
                    self._checkpoint(path)

    def _checkpoint(self, path: str) -> None:
        try:
            connection = self._connections.get(path)
            if connection is None:
                # mode=rw: never create a database file that was deleted meanwhile.
                connection = self._connections[path] = sqlite3.connect(
                    f"{Path(path).resolve().as_uri()}?mode=rw", uri=True, isolation_level=None,
                    check_same_thread=False)
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # the next commit's backstop checkpoint still protects the WAL size
            log.debug("WAL checkpoint of %s skipped: %s", path, exc)
            stale = self._connections.pop(path, None)
            if stale is not None:
                stale.close()


checkpointer = WalCheckpointer()
os.register_at_fork(after_in_child=checkpointer.after_fork)


def _sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL; None for other databases and in-memory ones."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return database


def is_busy(error: BaseException) -> bool:
    """SQLite gave up waiting for a lock another connection holds ("database is locked")."""
    cause = error.orig if isinstance(error, OperationalError) else error
    code = getattr(cause, "sqlite_errorcode", None)
    return isinstance(cause, sqlite3.OperationalError) and code is not None \
        and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


@contextmanager
def busy_as_error() -> Iterator[None]:
    """Turns SQLite's lock timeout into DatabaseBusy: one clear error instead of a driver traceback."""
    try:
        yield
    except OperationalError as error:
        if is_busy(error):
            raise DatabaseBusy() from error
        raise


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, issue BEGIN so that we can make it IMMEDIATE below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={_BACKSTOP_PAGES}")  # see WalCheckpointer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers queue up at BEGIN instead of failing later when a read snapshot goes stale.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    """Create an engine with the settings opsflow relies on for `url`'s backend."""
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:  # a fresh checkout has no instance/ yet; SQLite creates files, not directories
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class Database:
    """An engine plus a session factory; `transaction()` is the unit of work."""

    def __init__(self, url: str, **engine_kwargs: Any):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        path = _sqlite_file(url)
        self._stop_checkpoints: weakref.finalize[Any, Any] | None = None
        if path is not None:
            checkpointer.add(path)
            self._stop_checkpoints = weakref.finalize(self, checkpointer.remove, path)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session; commit at the end (then run after-commit hooks) or roll back on error."""
        session = self._sessions()
        try:
            with busy_as_error():
                yield session
                session.commit()
            callbacks = session.info.pop(_AFTER_COMMIT, [])
        except BaseException:
            session.rollback()
            session.info.pop(_AFTER_COMMIT, None)
            raise
        finally:
            session.close()
        for callback in callbacks:
            callback()

    def dispose(self) -> None:
        if self._stop_checkpoints is not None:
            self._stop_checkpoints()
        self.engine.dispose()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed (never if it rolls back)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)
