"""A throwaway PostgreSQL server for the test suite.

`start_postgres()` either starts a private server (initdb into a temp dir, fsync off, listening on
127.0.0.1 on a free port) or, when `OPSFLOW_TEST_POSTGRES_URL` is set, uses that existing server.
Either way the returned `PostgresServer` hands out SQLAlchemy URLs for fresh databases:

    with start_postgres() as pg:
        engine = create_engine(pg.url)                 # default database `opsflow_test`
        other = pg.create_database("opsflow_other")    # -> postgresql+psycopg://...
        pg.drop_database("opsflow_other")

A private server is stopped (`pg_ctl stop -m immediate`) and its directory removed by `stop()`,
on leaving the `with` block, and from an atexit hook, whichever comes first.

Debian's initdb refuses to run as root, so when the tests run as root (CI containers) the data
directory is handed to the `postgres` user and initdb/pg_ctl run through `runuser`/`su`.

Anything that prevents getting a server raises `PostgresUnavailable`; `postgres_required()` tells
the caller whether that should fail the run (CI) or merely skip the PostgreSQL tests (laptops).
"""
from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

EXTERNAL_URL_ENV = "OPSFLOW_TEST_POSTGRES_URL"
REQUIRE_ENV = "OPSFLOW_REQUIRE_POSTGRES"
DEFAULT_DATABASE = "opsflow_test"
START_TIMEOUT = 30.0
SERVICE_USER = "postgres"

_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_TMP_PREFIX = "opsflow-pg-"
_OWNER_FILE = "owner.pid"
_SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be found, started or reached."""


def postgres_required() -> bool:
    """True when a missing PostgreSQL must fail the run rather than skip: in CI or on request."""
    ci = os.environ.get("CI", "").strip().lower()
    return ci not in ("", "0", "false", "no") or os.environ.get(REQUIRE_ENV) == "1"


def find_bindir() -> Path:
    """The directory holding initdb/pg_ctl: newest /usr/lib/postgresql/*/bin, else pg_config's."""
    candidates: list[tuple[tuple[int, ...], Path]] = []
    if _DEBIAN_ROOT.is_dir():
        for entry in _DEBIAN_ROOT.iterdir():
            bindir = entry / "bin"
            if _has_server_binaries(bindir):
                version = tuple(int(part) for part in re.findall(r"\d+", entry.name))
                candidates.append((version, bindir))
    if candidates:
        return max(candidates)[1]

    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out and _has_server_binaries(Path(out)):
                return Path(out)

    initdb = shutil.which("initdb")
    if initdb and _has_server_binaries(Path(initdb).parent):
        return Path(initdb).parent

    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
        f"{_DEBIAN_ROOT}/*/bin, `pg_config --bindir` or PATH. Install them "
        "(`apt-get install -y postgresql`, or run .ci/install-system-deps), or point "
        f"{EXTERNAL_URL_ENV} at an existing server."
    )


def _has_server_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    """True if `pid` is a live process (a zombie awaiting its reaper does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat_line = Path(f"/proc/{pid}/stat").read_text()
        return stat_line.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    """Guard against pid reuse: is `pid` a postgres process serving `data_dir`?"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _pid_alive(pid)  # no /proc to check with: trust the pid file
    return str(data_dir).encode() in argv and any(a.endswith(b"postgres") for a in argv[:1])


def _terminate_postmaster(pid: int, data_dir: Path) -> None:
    """SIGQUIT (what `pg_ctl stop -m immediate` sends) the postmaster, then SIGKILL if need be."""
    if not (_pid_alive(pid) and _is_postmaster_of(pid, data_dir)):
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGQUIT)
    end = time.monotonic() + 5
    while _pid_alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    if _pid_alive(pid):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _reap_abandoned_servers(base: Path) -> None:
    """Stop and delete servers left behind by test runs that died without running atexit
    (SIGKILL, SIGTERM): those whose owner process, recorded at creation, is gone."""
    for tmpdir in base.glob(f"{_TMP_PREFIX}*"):
        try:
            owner = int((tmpdir / _OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue  # not ours, or still being set up
        if owner == os.getpid() or _pid_alive(owner):
            continue
        pid = _read_postmaster_pid(tmpdir / "data")
        with contextlib.suppress(OSError):
            if pid:
                _terminate_postmaster(pid, tmpdir / "data")
            shutil.rmtree(tmpdir)


def _read_postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[0].strip())
    except (OSError, IndexError, ValueError):
        return None


class PostgresServer:
    """A PostgreSQL server for tests: a private throwaway one, or an external one from a URL.

    `start()` (or entering the `with` block) brings it up and creates `opsflow_test`;
    `stop()` tears everything down again and is safe to call more than once.
    """

    def __init__(self, external_url: str | None = None, *, bindir: str | Path | None = None):
        self.external_url: URL | None = make_url(external_url) if external_url else None
        self._bindir = Path(bindir) if bindir else None
        self._tmpdir: Path | None = None
        self._postmaster_pid: int | None = None
        self._run_as: str | None = None
        self._created: list[str] = []
        self._base_url: URL | None = None
        self._started = False
        self.host = "127.0.0.1"
        self.port: int | None = None

    # ----------------------------------------------------------------- public API

    @property
    def is_external(self) -> bool:
        return self.external_url is not None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the default database `opsflow_test`."""
        return self.url_for(DEFAULT_DATABASE)

    @property
    def data_dir(self) -> Path | None:
        return self._tmpdir / "data" if self._tmpdir else None

    @property
    def tmpdir(self) -> Path | None:
        """The private server's temp directory (data dir, socket, log); None if external."""
        return self._tmpdir

    @property
    def log_path(self) -> Path | None:
        return self._tmpdir / "postgres.log" if self._tmpdir else None

    def url_for(self, name: str) -> str:
        """SQLAlchemy URL (`postgresql+psycopg://...`) of database `name` on this server."""
        if self._base_url is None:
            raise RuntimeError("PostgresServer is not started")
        return self._base_url.set(database=name).render_as_string(hide_password=False)

    def create_database(self, name: str) -> str:
        """Create database `name` (dropping any leftover of that name) and return its URL."""
        with self._admin_connection() as conn:
            self._drop(conn, name)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if name not in self._created:
            self._created.append(name)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, disconnecting anyone still connected to it."""
        with self._admin_connection() as conn:
            self._drop(conn, name)
        if name in self._created:
            self._created.remove(name)

    def start(self) -> Self:
        if self._started:
            return self
        if self.external_url is not None:
            self._start_external(self.external_url)
        else:
            self._start_private()
        self._started = True
        atexit.register(self.stop)
        try:
            self.create_database(DEFAULT_DATABASE)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop a private server and delete its directory; on an external one drop our databases."""
        atexit.unregister(self.stop)
        if self.external_url is not None and self._started:
            for name in list(self._created):
                with contextlib.suppress(Exception):
                    self.drop_database(name)
        self._created.clear()
        self._started = False
        self._shutdown_private()

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None:
            return ""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = "external" if self.is_external else f"private, {self._tmpdir}"
        return f"<PostgresServer {self.host}:{self.port} ({where})>"

    # ----------------------------------------------------------------- connections

    def _admin_conninfo(self) -> dict[str, Any]:
        if self.external_url is not None:
            url = self.external_url
            params: dict[str, Any] = url.translate_connect_args(
                username="user", database="dbname"
            )
            params.update({k: v for k, v in url.query.items() if isinstance(v, str)})
            params.setdefault("dbname", "postgres")
            return params
        return {"host": self.host, "port": self.port, "user": SERVICE_USER, "dbname": "postgres"}

    @contextlib.contextmanager
    def _admin_connection(self) -> Iterator[psycopg.Connection[Any]]:
        if not self._started:
            raise RuntimeError("PostgresServer is not started")
        params = self._admin_conninfo()
        params.setdefault("connect_timeout", 10)
        with psycopg.connect(autocommit=True, **params) as conn:
            yield conn

    @staticmethod
    def _drop(conn: psycopg.Connection[Any], name: str) -> None:
        force = " WITH (FORCE)" if conn.info.server_version >= 130000 else ""
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {}" + force).format(sql.Identifier(name))
        )

    # ----------------------------------------------------------------- external server

    def _start_external(self, url: URL) -> None:
        self.host = url.host or "localhost"
        self.port = url.port or 5432
        self._base_url = url.set(drivername="postgresql+psycopg")
        try:
            with psycopg.connect(autocommit=True, connect_timeout=10, **self._admin_conninfo()):
                pass
        except psycopg.Error as exc:
            raise PostgresUnavailable(
                f"cannot connect to the server in {EXTERNAL_URL_ENV} "
                f"({url.render_as_string(hide_password=True)}): {exc}"
            ) from exc

    # ----------------------------------------------------------------- private server

    def _start_private(self) -> None:
        bindir = self._bindir = self._bindir or find_bindir()
        if not _has_server_binaries(bindir):
            raise PostgresUnavailable(f"no initdb/pg_ctl/postgres in {bindir}")
        self._run_as = self._choose_run_as()
        self._tmpdir = self._make_tmpdir()
        try:
            deadline = time.monotonic() + START_TIMEOUT
            self._initdb(bindir)
            for attempt in range(3):
                self.port = _free_port()
                if self._pg_ctl_start(bindir, deadline, last_try=attempt == 2):
                    break
            self._postmaster_pid = _read_postmaster_pid(self._tmpdir / "data")
            self._base_url = URL.create(
                "postgresql+psycopg", username=SERVICE_USER, host=self.host, port=self.port
            )
            self._wait_for_connections(deadline)
        except BaseException:
            self._shutdown_private()
            raise

    def _choose_run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root but there is no `{SERVICE_USER}` user to run initdb as "
                "(initdb refuses to run as root); install the postgresql package or run "
                "the tests as a normal user"
            ) from None
        return SERVICE_USER

    def _make_tmpdir(self) -> Path:
        base = Path(tempfile.gettempdir())
        # The socket lives in this dir (paths are limited to ~107 bytes), and when we are root the
        # postgres user must be able to reach it: fall back to /tmp if the default is unsuitable.
        if len(str(base)) > 60 or (self._run_as and not _world_traversable(base)):
            base = Path("/tmp")
        _reap_abandoned_servers(base)
        path = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=base))
        (path / _OWNER_FILE).write_text(f"{os.getpid()}\n")
        if self._run_as:
            user = pwd.getpwnam(self._run_as)
            os.chown(path, user.pw_uid, user.pw_gid)
        return path

    def _command(self, argv: list[str]) -> list[str]:
        if not self._run_as:
            return argv
        runuser = shutil.which("runuser") or next(
            (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.access(p, os.X_OK)), None
        )
        if runuser:
            return [runuser, "-u", self._run_as, "--", *argv]
        su = shutil.which("su") or "/bin/su"
        return [su, self._run_as, "-s", "/bin/sh", "-c", shlex.join(argv)]

    def _run(
        self, argv: list[str], timeout: float, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        return subprocess.run(
            self._command(argv),
            cwd=cwd or self._tmpdir,  # the postgres user may not be able to enter our cwd
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=max(timeout, 1.0),
            check=False,
        )

    def _initdb(self, bindir: Path) -> None:
        assert self.data_dir is not None
        argv = [
            str(bindir / "initdb"),
            "-D", str(self.data_dir),
            "-A", "trust",
            "-U", SERVICE_USER,
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]  # fmt: skip
        try:
            result = self._run(argv, timeout=120)
        except subprocess.TimeoutExpired as exc:
            raise PostgresUnavailable(f"initdb timed out: {shlex.join(argv)}") from exc
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"initdb failed (exit {result.returncode}): {shlex.join(self._command(argv))}\n"
                f"{result.stdout}{result.stderr}"
            )

    def _pg_ctl_start(self, bindir: Path, deadline: float, *, last_try: bool) -> bool:
        """Start the server; False (to retry on another port) if the port was taken meanwhile."""
        assert self.data_dir is not None and self.log_path is not None and self._tmpdir
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self._tmpdir),
            **_SERVER_SETTINGS,
        }
        # pg_ctl hands -o to /bin/sh, hence the quoting.
        options = " ".join(f"-c {shlex.quote(f'{k}={v}')}" for k, v in settings.items())
        remaining = max(int(deadline - time.monotonic()), 1)
        argv = [
            str(bindir / "pg_ctl"), "start",
            "-D", str(self.data_dir),
            "-l", str(self.log_path),
            "-w", "-t", str(remaining),
            "-o", options,
        ]  # fmt: skip
        try:
            result = self._run(argv, timeout=remaining + 10)
        except subprocess.TimeoutExpired:
            result = None
        if result is not None and result.returncode == 0:
            return True
        log = self.log_tail()
        if not last_try and "could not bind" in log and time.monotonic() < deadline:
            self._kill_postmaster()
            self.log_path.unlink(missing_ok=True)
            return False
        if result is None:
            problem = f"did not start within {START_TIMEOUT:.0f}s"
        else:
            problem = f"failed to start: {(result.stdout + result.stderr).strip()}"
        raise PostgresUnavailable(
            f"PostgreSQL on {self.host}:{self.port} {problem}\n"
            f"--- server log tail ({self.log_path}) ---\n{log}"
        )

    def _wait_for_connections(self, deadline: float) -> None:
        last_error: Exception | None = None
        while True:
            try:
                with psycopg.connect(
                    host=self.host, port=self.port, user=SERVICE_USER, dbname="postgres",
                    connect_timeout=2, autocommit=True,
                ) as conn:  # fmt: skip
                    conn.execute("SELECT 1")
                return
            except psycopg.Error as exc:
                last_error = exc
            if time.monotonic() >= deadline:
                raise PostgresUnavailable(
                    f"PostgreSQL on {self.host}:{self.port} does not accept connections "
                    f"after {START_TIMEOUT:.0f}s: {last_error}\n"
                    f"--- server log tail ({self.log_path}) ---\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def _kill_postmaster(self) -> None:
        pid = _read_postmaster_pid(self.data_dir) if self.data_dir else None
        if pid and _pid_alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def _shutdown_private(self) -> None:
        tmpdir, self._tmpdir = self._tmpdir, None
        if tmpdir is None:
            return
        data_dir = tmpdir / "data"
        pid = self._postmaster_pid or _read_postmaster_pid(data_dir)
        self._postmaster_pid = None
        if (data_dir / "postmaster.pid").exists() and self._bindir is not None:
            argv = [str(self._bindir / "pg_ctl"), "stop", "-D", str(data_dir),
                    "-m", "immediate", "-w", "-t", "15"]  # fmt: skip
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                self._run(argv, timeout=20, cwd=tmpdir)
        if pid:
            _terminate_postmaster(pid, data_dir)  # in case pg_ctl could not do it
        shutil.rmtree(tmpdir, ignore_errors=True)


def _world_traversable(path: Path) -> bool:
    path = path.resolve()
    for part in (path, *path.parents):
        try:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def start_postgres() -> PostgresServer:
    """Start (or, given OPSFLOW_TEST_POSTGRES_URL, attach to) a server; or PostgresUnavailable."""
    return PostgresServer(os.environ.get(EXTERNAL_URL_ENV) or None).start()
