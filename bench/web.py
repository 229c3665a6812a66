"""Web load benchmark: agents working service-desk requests over HTTP through gunicorn on PostgreSQL,
then one engineer's inbox page with 100 000 open tasks.

A throwaway PostgreSQL (tests/support/pg.py) is migrated and set up as `flask opsflow setup` does;
agent users (half service desk, half engineers) and more requests than they can finish are made
through engine/. gunicorn serves wsgi:app with the production config on 127.0.0.1 (sync workers by
default: gthread pins each keep-alive client to one worker and left the other idle). Each agent is a
thread with its own cookie jar that signs in, then, like a person in a browser: reads the inbox,
opens an unclaimed task of its group, claims it (the redirect brings the task page back), submits
the form for its form key (the redirect lands on the inbox again), pausing --pause seconds after
each page. After --warmup seconds every HTTP request is timed for --seconds, redirects included.
A 409 (a colleague claimed or completed the task first) is a conflict, not an error; errors are
5xx, connection failures and any other unexpected status. The satisfaction call belongs to the
requester, so completions count 受理 (accept), 事件分类 (classify) and 远程解决 (resolution).
Then the database is filled to 100 000 open tasks (bench/inbox.py's rows, then ANALYZE as
autovacuum would) and the demo engineer's GET /inbox is timed through gunicorn.

The targets assume two cores to ourselves: stderr also says how many cores gunicorn, PostgreSQL,
the agents and other processes used during the measured window.

Run: .venv/bin/python -m bench.web [--seconds 30] [--agents 20] [--workers 2] [--threads 1]
Last line: RESULT completions_per_s=… p50_ms=… p95_ms=… errors=… inbox_p95_ms=…
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import html
import http.client
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlalchemy import func, select, text

from bench import inbox as inbox_bench
from bench.engine import REQUEST
from engine import bootstrap, users
from engine.process import runtime
from engine.store import schema
from engine.store.db import Database
from engine.store.models import TaskRecord
from tests.support.pg import PostgresServer, start_postgres

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
PASSWORD = bootstrap.DEMO_PASSWORD
# What an agent types into each form of the happy path (form key -> posted fields).
FORM_DATA = {
    "accept": {"request_confirmed": "true", "notes": "电话回拨确认"},
    "classify": {"category": "fault", "fault_level": "III"},
    "resolution": {"resolved": "true", "method": "remote", "actions": "远程重启服务，已恢复"},
}
TIMEOUT = 30.0

_CLAIM = re.compile(r'action="/tasks/(\d+)/claim"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_FORM_KEY = re.compile(r'name="_form" value="([^"]*)"')


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile (share 0..1) of the samples; 0 without any."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data

@contextlib.contextmanager
def fast_password_hashes() -> Iterator[None]:
    """Cheap hashes while creating users: setup stays quick, and sign-in measures the app, not scrypt."""
    method, users.PASSWORD_HASH_METHOD = users.PASSWORD_HASH_METHOD, "pbkdf2:sha256:1"
    try:
        yield
    finally:
        users.PASSWORD_HASH_METHOD = method


def agent_names(count: int) -> list[tuple[str, str]]:
    """(username, group): half the agents at the service desk, half engineers."""
    desk = (count + 1) // 2
    return [(f"desk{n:02d}", "service_desk") for n in range(1, desk + 1)] + \
           [(f"eng{n:02d}", "engineer") for n in range(1, count - desk + 1)]


def setup(database: Database, agents: list[tuple[str, str]]) -> None:
    """What `flask opsflow setup` does (groups, bundled diagrams, demo users), plus the agents."""
    with fast_password_hashes(), database.transaction() as session:
        users.ensure_groups(session)
        bootstrap.deploy_directory(session, ROOT / "bpmn", user="setup")
        bootstrap.create_demo_users(session)
        for username, group in agents:
            users.create_user(session, username=username, password=PASSWORD, groups=[group])


def seed_requests(database: Database, *, at_accept: int, at_remote_fix: int) -> None:
    """Requests waiting at 受理 (for the desk) and, accepted and classified, at 远程解决 (for engineers)."""
    with database.transaction() as session:
        requester, desk = users.actor(session, "requester"), users.actor(session, "service_desk")
    for n in range(at_accept + at_remote_fix):
        with database.transaction() as session:
            state = runtime.start_instance(session, process_id="service_desk", actor=requester,
                                           data={**REQUEST, "title": f"HIS 无法登录 #{n}"})
        if n < at_accept:
            continue
        for element_id, data in (("accept", {"request_confirmed": True}),
                                 ("classify", {"category": "fault", "fault_level": "III"})):
            task_id = next(t["id"] for t in state.new_tasks if t["element_id"] == element_id)
            with database.transaction() as session:
                state = runtime.complete_task(session, task_id=task_id, data=data, actor=desk)


def open_task_count(database: Database) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(TaskRecord).where(TaskRecord.state == "ready"))
                   or 0)


# ---------------------------------------------------------------- gunicorn

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gunicorn:
    """gunicorn serving wsgi:app on 127.0.0.1 with the production config against `database_url`."""

    def __init__(self, database_url: str, *, workers: int, threads: int, log_path: Path):
        self.port = _free_port()
        self.base = f"127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {**os.environ, "DATABASE_URL": database_url, "OPSFLOW_CONFIG": "production",
               "SECRET_KEY": secrets.token_hex(32)}
        # gthread keeps a client's connection in the worker that accepted it, which can leave the other
        # worker idle; without keep-alive (as behind a proxy) every request is balanced again.
        worker_class = ["--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "0"] \
            if threads > 1 else ["--worker-class", "sync"]
        argv = [str(GUNICORN), "--bind", self.base, "--workers", str(workers), *worker_class,
                "--log-level", "warning", "--error-logfile", str(log_path), "--timeout", "60", "wsgi:app"]
        log(f"starting {' '.join(argv[1:])}")
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection(self.base, timeout=5)
                connection.request("GET", "/login")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the arbiter stops its workers
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


# ---------------------------------------------------------------- where the CPU went

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float:
    """CPU seconds a live process has used (user + system), 0 if it is gone or there is no /proc."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    if int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
    return found


def _machine_busy() -> float:
    """CPU seconds all cores have spent not idle since boot."""
    with contextlib.suppress(OSError, ValueError):
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return (sum(values) - values[3] - values[4]) / _TICK  # minus idle and iowait
    return 0.0


class CpuMeter:
    """CPU seconds used by gunicorn, PostgreSQL, the agents and everything else on the machine over
    the measured window: the targets assume the two cores are ours, and other work shows up here."""

    def __init__(self, groups: dict[str, int]):
        self.groups = groups  # name -> parent pid (the process and its children count)

    def sample(self) -> dict[str, float]:
        used = {name: sum(_proc_cpu(p) for p in [pid, *_children(pid)]) for name, pid in self.groups.items() if pid}
        times = os.times()
        used["agents (this process)"] = times.user + times.system
        used["machine"] = _machine_busy()
        return used

    @staticmethod
    def report(before: dict[str, float], after: dict[str, float], seconds: float) -> None:
        spent = {name: max(0.0, after[name] - before.get(name, 0.0)) for name in after}
        machine = spent.pop("machine")
        ours = sum(spent.values())
        parts = ", ".join(f"{name} {value / seconds:.2f}" for name, value in spent.items())
        log(f"CPU in cores: {parts}; other processes {max(0.0, machine - ours) / seconds:.2f}; "
            f"machine {machine / seconds:.2f} of {os.cpu_count()}")


# ---------------------------------------------------------------- simulated agents

@dataclass
class Stats:
    """Shared by every agent thread (list.append and Counter updates under the lock)."""

    latencies: list[tuple[str, float]] = field(default_factory=list)
    completions: collections.Counter[str] = field(default_factory=collections.Counter)
    conflicts: collections.Counter[str] = field(default_factory=collections.Counter)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    error_samples: list[str] = field(default_factory=list)
    idle: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        """Forget the warm-up."""
        with self.lock:
            self.latencies.clear()
            self.completions.clear()
            self.conflicts.clear()
            self.errors.clear()
            self.error_samples.clear()
            self.idle = 0

    def error(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.error_samples) < 10:
                self.error_samples.append(detail)


class Unexpected(Exception):
    """An answer the agent cannot go on from: counted as an error, the agent starts over."""


class Browser:
    """One user's HTTP client: a keep-alive connection and a cookie jar, each request timed."""

    def __init__(self, base: str, stats: Stats | None):
        self.base, self.stats = base, stats
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, kind: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(status, Location, body); connection errors are counted and raised as Unexpected."""
        headers = {"Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        began = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.base, timeout=TIMEOUT)
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            payload = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            self.close()
            if self.stats is not None:
                self.stats.error("connection", f"{method} {path}: {error!r}")
            raise Unexpected(f"{method} {path}: {error!r}") from error
        elapsed = (time.perf_counter() - began) * 1000
        if response.will_close:
            self.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        if self.stats is not None:
            self.stats.latencies.append((kind, elapsed))
            if response.status >= 500:
                self.stats.error(f"http {response.status}", f"{method} {path} -> {response.status}")
        if response.status >= 500:
            raise Unexpected(f"{method} {path} -> {response.status}")
        return response.status, response.headers.get("Location", ""), payload

    def follow(self, method: str, path: str, kind: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        """A request and, as a browser does, the GET its redirect points to: (status, final page)."""
        status, location, body = self.request(method, path, kind, form)
        if status in (301, 302, 303) and location:
            status, _, body = self.request("GET", urlsplit(location).path + _query(location), "redirect")
        return status, body

    def sign_in(self, username: str) -> None:
        status, _, page = self.request("GET", "/login", "login")
        token = _csrf(page)
        status, location, _ = self.request("POST", "/login", "login",
                                           {"csrf_token": token, "username": username, "password": PASSWORD})
        if status != 302 or "/login" in location:
            raise RuntimeError(f"{username} could not sign in ({status})")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _query(url: str) -> str:
    query = urlsplit(url).query
    return f"?{query}" if query else ""


def _csrf(page: str) -> str:
    match = _CSRF.search(page)
    if match is None:
        raise Unexpected("no CSRF token on the page")
    return html.unescape(match[1])


class Agent(threading.Thread):
    """One agent working their group's queue until `stop` is set."""

    def __init__(self, base: str, username: str, stats: Stats, *, pause: float, seed: int,
                 start: threading.Barrier, stop: threading.Event):
        super().__init__(name=f"agent-{username}", daemon=True)
        self.username, self.stats, self.pause = username, stats, pause
        self.browser = Browser(base, stats=None)  # sign-in is not part of the measured window
        self.rng = random.Random(seed)
        self.start_barrier, self.stop_event = start, stop
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self.browser.sign_in(self.username)
        except BaseException as error:  # reported by the main thread
            self.failure = error
            self.start_barrier.abort()
            return
        try:
            self.start_barrier.wait()
        except threading.BrokenBarrierError:
            return
        self.browser.stats = self.stats
        inbox: str | None = None
        while not self.stop_event.is_set():
            try:
                inbox = self.work_one(inbox)
            except Unexpected:
                inbox = None
                self.stop_event.wait(self.pause)
        self.browser.close()

    def _expect(self, status: int, wanted: int, what: str) -> None:
        if status != wanted:
            self.stats.error(f"http {status}", f"{self.username}: {what} -> {status}")
            raise Unexpected(what)

    def work_one(self, inbox: str | None) -> str | None:
        """One task from the inbox to done; returns the page the agent is on if it is the inbox."""
        if inbox is None:
            status, _, inbox = self.browser.request("GET", "/inbox", "inbox")
            self._expect(status, 200, "GET /inbox")
            self.stop_event.wait(self.pause)
        candidates = _CLAIM.findall(inbox)
        if not candidates:
            with self.stats.lock:
                self.stats.idle += 1
            self.stop_event.wait(self.pause)
            return None
        task_id = self.rng.choice(candidates)
        status, _, page = self.browser.request("GET", f"/tasks/{task_id}", "task")
        self._expect(status, 200, f"GET /tasks/{task_id}")
        self.stop_event.wait(self.pause)
        status, page = self.browser.follow("POST", f"/tasks/{task_id}/claim", "claim", {"csrf_token": _csrf(page)})
        if status == 409:  # a colleague was faster
            with self.stats.lock:
                self.stats.conflicts["claim"] += 1
            self.stop_event.wait(self.pause)
            return None
        self._expect(status, 200, f"POST /tasks/{task_id}/claim")
        key_match = _FORM_KEY.search(page)
        form_key = key_match[1] if key_match else ""
        if form_key not in FORM_DATA:
            self.stats.error("unexpected form", f"{self.username}: task {task_id} has form {form_key!r}")
            raise Unexpected(form_key)
        self.stop_event.wait(self.pause)
        form = {"csrf_token": _csrf(page), "_form": form_key, **FORM_DATA[form_key]}
        status, location, body = self.browser.request("POST", f"/tasks/{task_id}", "complete", form)
        if status == 409:
            with self.stats.lock:
                self.stats.conflicts["complete"] += 1
            self.stop_event.wait(self.pause)
            return None
        if status != 302:
            self._expect(status, 302, f"POST /tasks/{task_id} ({form_key})")
        with self.stats.lock:
            self.stats.completions[form_key] += 1
        status, _, body = self.browser.request("GET", urlsplit(location).path + _query(location), "redirect")
        self._expect(status, 200, f"GET {location}")
        self.stop_event.wait(self.pause)
        return body


def run_agents(base: str, agents: list[tuple[str, str]], *, seconds: float, pause: float,
               warmup: float = 0.0, meter: CpuMeter | None = None) -> tuple[Stats, float]:
    """Sign every agent in, let them work `warmup` seconds unmeasured, then `seconds` measured."""
    stats = Stats()
    start = threading.Barrier(len(agents) + 1)
    stop = threading.Event()
    threads = [Agent(base, name, stats, pause=pause, seed=n, start=start, stop=stop)
               for n, (name, _group) in enumerate(agents)]
    for thread in threads:
        thread.start()
    try:
        start.wait(timeout=120)
    except threading.BrokenBarrierError:
        stop.set()
        failures = [t.failure for t in threads if t.failure]
        raise RuntimeError(f"agents could not sign in: {failures[:3]}") from None
    if warmup:
        time.sleep(warmup)
        log(f"warm-up: {sum(stats.completions.values())} completions in {warmup:.0f} s, errors {dict(stats.errors)}")
        warmup_errors = sum(stats.errors.values())
        stats.reset()
        if warmup_errors:  # errors count wherever they happen
            stats.errors["during warm-up"] = warmup_errors
    cpu_before = meter.sample() if meter else {}
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - began
    if meter:
        meter.report(cpu_before, meter.sample(), elapsed)
    for thread in threads:
        thread.join(timeout=TIMEOUT + 5)
    return stats, elapsed


def report(stats: Stats, elapsed: float) -> None:
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    for kind, ms in stats.latencies:
        by_kind[kind].append(ms)
    log(f"{len(stats.latencies)} requests in {elapsed:.1f} s ({len(stats.latencies) / elapsed:.0f}/s)")
    for kind, samples in sorted(by_kind.items()):
        log(f"  {kind:<9} n={len(samples):<5} p50={percentile(samples, 0.5):7.1f} ms  "
            f"p95={percentile(samples, 0.95):7.1f} ms  max={max(samples):7.1f} ms")
    log(f"completions {dict(stats.completions)}; conflicts (409) {dict(stats.conflicts)}; "
        f"empty inbox {stats.idle}; errors {dict(stats.errors)}")
    for sample in stats.error_samples:
        log(f"  error: {sample}")


# ---------------------------------------------------------------- the inbox with 100 000 open tasks

def inbox_p95(base: str, *, samples: int) -> float:
    """p95 ms of GET /inbox for the demo engineer (their own and the group's tasks), after a warm-up."""
    browser = Browser(base, stats=None)
    browser.sign_in("engineer")
    times = []
    for n in range(samples + 5):
        began = time.perf_counter()
        status, _, page = browser.request("GET", "/inbox", "inbox")
        ms = (time.perf_counter() - began) * 1000
        if status != 200 or 'class="list inbox"' not in page:
            raise RuntimeError(f"the engineer's inbox answered {status}")
        if n >= 5:
            times.append(ms)
    browser.close()
    log(f"engineer's inbox over HTTP: p50={percentile(times, 0.5):.1f} ms p95={percentile(times, 0.95):.1f} ms "
        f"max={max(times):.1f} ms ({samples} samples)")
    return percentile(times, 0.95)


# ---------------------------------------------------------------- main

def _postmaster(pg: PostgresServer) -> int:
    """The private server's postmaster pid (0 for an external server: not measured)."""
    with contextlib.suppress(OSError, ValueError, TypeError):
        return int((Path(str(pg.data_dir)) / "postmaster.pid").read_text().split()[0])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the agents work")
    parser.add_argument("--agents", type=int, default=20, help="concurrent agents (half desk, half engineers)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds an agent pauses between actions")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (1: sync workers, more: gthread)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds the agents work before measuring (workers parse diagrams, compile templates)")
    parser.add_argument("--requests", type=int, default=0,
                        help="requests made before the run, per stage (default: enough for --seconds)")
    parser.add_argument("--inbox-tasks", type=int, default=100_000, help="open tasks for the inbox measurement")
    parser.add_argument("--inbox-samples", type=int, default=50)
    args = parser.parse_args(argv)

    agents = agent_names(args.agents)
    # An agent needs at least three pauses per task, so no queue can run dry even with instant answers.
    busy = args.seconds + args.warmup
    per_stage = args.requests or int((len(agents) + 1) // 2 * busy / (3 * max(args.pause, 0.05))) + 50
    pg: PostgresServer | None = None
    server: Gunicorn | None = None
    database: Database | None = None
    with tempfile.TemporaryDirectory(prefix="opsflow-bench-web-") as tmp:
        try:
            pg = start_postgres()
            url = pg.create_database("opsflow_bench_web")
            schema.upgrade(url)
            database = Database(url)
            began = time.perf_counter()
            setup(database, agents)
            seed_requests(database, at_accept=per_stage, at_remote_fix=per_stage)
            log(f"set up PostgreSQL, {len(agents)} agents and {2 * per_stage} requests "
                f"({per_stage} at 受理, {per_stage} at 远程解决) in {time.perf_counter() - began:.1f} s")

            server = Gunicorn(url, workers=args.workers, threads=args.threads, log_path=Path(tmp) / "gunicorn.log")
            server.wait_ready()
            meter = CpuMeter({"gunicorn": server.process.pid, "postgres": _postmaster(pg)})
            stats, elapsed = run_agents(server.base, agents, seconds=args.seconds, pause=args.pause,
                                        warmup=args.warmup, meter=meter)
            report(stats, elapsed)
            samples = [ms for _kind, ms in stats.latencies]
            completed = sum(stats.completions.values())
            errors = sum(stats.errors.values())

            before = open_task_count(database)
            began = time.perf_counter()
            inbox_bench.fill(database, max(0, args.inbox_tasks - before))
            with database.transaction() as session:
                session.execute(text("ANALYZE"))  # as autovacuum would soon after a bulk load
            log(f"filled to {open_task_count(database)} open tasks in {time.perf_counter() - began:.1f} s")
            inbox_ms = inbox_p95(server.base, samples=args.inbox_samples)
            if errors:
                log(f"--- gunicorn log tail ---\n{server.log_tail()}")
        finally:
            if server is not None:
                server.stop()
            if database is not None:
                database.dispose()
            if pg is not None:
                pg.stop()
    print(f"RESULT completions_per_s={completed / elapsed:.1f} p50_ms={statistics.median(samples):.1f} "
          f"p95_ms={percentile(samples, 0.95):.1f} errors={errors} inbox_p95_ms={inbox_ms:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
