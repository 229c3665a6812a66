"""Timers under real schedulers in separate OS processes on PostgreSQL: several schedulers fire each
timer exactly once, and a scheduler killed with SIGKILL loses nothing (its successor fires what fell
due meanwhile, recording how late).

Each test gets a database of its own (not the shared, truncated one): scheduler processes poll the
whole timer table, and must see only this test's timers.
"""
from __future__ import annotations

import datetime as dt
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import select as sql_select

from engine import clock, users
from engine.process import definitions, persistence, runtime
from engine.store import schema
from engine.store.db import Database
from engine.store.models import HistoryEvent, TaskRecord, Timer
from tests.support import pg
from tests.support.flows import Flow

ROOT = Path(__file__).resolve().parents[2]
MANY = (Path(__file__).parent / "diagrams" / "many_timers.bpmn").read_bytes()
WARN_AFTER = dt.timedelta(seconds=2)  # many_timers.bpmn: `work_warn` is "PT2S"; `work_timeout` "PT1000H"
START_TIMEOUT = 60.0  # a cold Python start importing SpiffWorkflow on a busy 2-core runner



FreshPg = tuple[str, Database]


@pytest.fixture
def fresh_pg(postgres_server: pg.PostgresServer, request: pytest.FixtureRequest) -> Iterator[FreshPg]:
    """A database of this test's own, migrated, with a requester and many_timers deployed."""
    name = "opsflow_" + request.node.name.removeprefix("test_")[:40]
    forget_other_databases()
    url = postgres_server.create_database(name)
    schema.upgrade(url)
    database = Database(url)
    with database.transaction() as session:
        users.ensure_groups(session)
        users.create_user(session, username="requester", password="pw", groups=["requester"])
        definitions.deploy(session, [definitions.SourceFile("many_timers.bpmn", MANY)])
    try:
        yield url, database
    finally:
        database.dispose()
        postgres_server.drop_database(name)
        forget_other_databases()


def forget_other_databases() -> None:
    """The workflow cache is keyed by instance id, which repeats across databases."""
    persistence.workflow_cache.clear()


class Worker:
    """`python -m tests.support.timer_worker` as a child process; its stderr goes to a log file."""

    def __init__(self, url: str, name: str, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "tests.support.timer_worker", url, name, "0.2"],
                                        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self._log)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}: {self.log()}")
            readable, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if readable:
                line = self.process.stdout.readline().decode()
                if line.startswith("ready"):
                    return
        pytest.fail(f"{self.name} not ready after {timeout} s: {self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no rollback, no goodbye to the database."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]


Spawn = Callable[[str, str], Worker]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Spawn]:
    """spawn(url, name) -> Worker; every worker is stopped (or killed) when the test ends, whatever happens."""
    started: list[Worker] = []

    def spawn(url: str, name: str) -> Worker:
        worker = Worker(url, name, tmp_path)
        started.append(worker)
        return worker

    try:
        yield spawn
    finally:
        for worker in started:
            worker.stop()


def wait_until(condition: Callable[[], bool], timeout: float, what: str,
               explain: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}. {explain()}")
        time.sleep(0.1)


def start_instances(database: Database, moments: list[dt.datetime], batch: int = 50) -> list[int]:
    """Start one many_timers instance per entry, with the engine clock frozen at that moment (so its
    `work_warn` falls due 2 s later, its `work_timeout` 1000 h later)."""
    ids = []
    with database.transaction() as session:
        actor = users.actor(session, "requester")
    for first in range(0, len(moments), batch):
        with database.transaction() as session:
            for moment in moments[first:first + batch]:
                with clock.frozen(moment):
                    ids.append(runtime.start_instance(session, process_id="many_timers", data={}, actor=actor).id)
    return ids


def warn_timers(database: Database) -> dict[int, Any]:
    with database.transaction() as session:
        return {row.id: row for row in session.execute(sql_select(Timer).where(Timer.element_id == "work_warn"))
                .scalars()}


def fired_count(database: Database, fired_by: str | None = None) -> int:
    rows = warn_timers(database).values()
    return sum(1 for r in rows if r.status == "fired" and (fired_by is None or r.fired_by == fired_by))


def timer_fired_events(database: Database) -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [e.payload for e in session.scalars(sql_select(HistoryEvent).where(HistoryEvent.kind == "timer_fired"))]


def assert_each_fired_exactly_once(database: Database, expected: int) -> dict[int, dict[str, Any]]:
    """Every work_warn timer fired once (row and history agree), no timeout fired; events by timer id."""
    rows = warn_timers(database)
    assert len(rows) == expected
    assert Counter(r.status for r in rows.values()) == {"fired": expected}
    events = timer_fired_events(database)
    per_timer = Counter(int(e["timer_id"]) for e in events)
    assert set(per_timer) == set(rows), "a timer_fired event for a timer that is not a due work_warn"
    assert [t for t, n in per_timer.items() if n != 1] == [], "timers that fired more than once"
    by_id = {int(e["timer_id"]): e for e in events}
    for timer_id, row in rows.items():
        assert by_id[timer_id]["fired_by"] == row.fired_by
    with database.transaction() as session:
        timeouts = Counter(session.scalars(sql_select(Timer.status).where(Timer.element_id == "work_timeout")))
        warnings = Counter(session.scalars(sql_select(TaskRecord.instance_id)
                                           .where(TaskRecord.element_id == "work_warning")))
    assert timeouts == {"pending": expected}  # 1000 h away: nobody fires those
    assert len(warnings) == expected and set(warnings.values()) == {1}  # one warning task per instance
    return by_id


@pytest.mark.postgres
@pytest.mark.slow
def test_two_scheduler_processes_fire_500_timers_exactly_once(fresh_pg: FreshPg, workers: Spawn) -> None:
    url, database = fresh_pg
    count = 500
    first, second = workers(url, "sched-a"), workers(url, "sched-b")
    first.wait_ready()
    second.wait_ready()
    # Instance k starts (frozen clock) so that its timer falls due at anchor + k * 6 ms: all 500
    # within 3 s, once every instance exists (or at once, if creating them took longer).
    anchor = clock.now() + dt.timedelta(seconds=4)
    began = time.monotonic()
    start_instances(database, [anchor - WARN_AFTER + k * dt.timedelta(milliseconds=6) for k in range(count)])
    created = time.monotonic() - began
    wait_until(lambda: fired_count(database) == count, 45, f"{count} timers to fire",
               lambda: f"fired {fired_count(database)}; a: {first.log()} b: {second.log()}")
    first.stop()  # nothing in flight any more when we count
    second.stop()
    events = assert_each_fired_exactly_once(database, count)
    by = Counter(e["fired_by"] for e in events.values())
    assert set(by) == {"sched-a", "sched-b"} and min(by.values()) > 0, by
    late = sorted(e["late_ms"] for e in events.values())
    print(f"created {count} instances in {created:.1f} s; fired by {dict(by)}; "
          f"late_ms p50 {late[len(late) // 2]} max {late[-1]}; {time.monotonic() - began:.1f} s in all")


@pytest.mark.postgres
@pytest.mark.slow
def test_a_scheduler_killed_with_sigkill_loses_no_timer(fresh_pg: FreshPg, workers: Spawn) -> None:
    url, database = fresh_pg
    count = 80
    step = dt.timedelta(milliseconds=75)  # due over 6 s: timers remain even if the kill comes late
    first = workers(url, "sched-killed")
    first.wait_ready()
    anchor = clock.now() + dt.timedelta(seconds=1)
    # Instance k starts (frozen clock) 2 s before its timer is to fall due at anchor + k * step.
    start_instances(database, [anchor - WARN_AFTER + k * step for k in range(count)], batch=count)

    wait_until(lambda: clock.now() >= anchor + dt.timedelta(seconds=1.5) and fired_count(database) > 0,
               30, "the first scheduler to fire some timers", first.log)
    first.kill()
    killed_at = clock.now()
    assert fired_count(database) < count, "the first scheduler fired everything before it was killed"
    # Nothing runs for a while: some timers fall due with no scheduler alive.
    wait_until(lambda: clock.now() >= killed_at + dt.timedelta(seconds=0.6), 5, "time to pass")
    restarted_at = clock.now()
    second = workers(url, "sched-restarted")
    second.wait_ready()
    wait_until(lambda: fired_count(database) == count, 30, "every timer to fire after the restart",
               lambda: f"fired {fired_count(database)}; {second.log()}")
    second.stop()

    events = assert_each_fired_exactly_once(database, count)
    rows = warn_timers(database)
    by = Counter(r.fired_by for r in rows.values())
    assert by["sched-killed"] > 0 and by["sched-restarted"] > 0, by
    assert set(by) == {"sched-killed", "sched-restarted"}
    # Timers that fell due while nothing ran fired late, after the restart, and say how late.
    orphans = [t for t, r in rows.items() if killed_at < r.due_at < restarted_at]
    assert len(orphans) >= 5, f"expected several timers due in the gap, got {len(orphans)}"
    for timer_id in orphans:
        event, row = events[timer_id], rows[timer_id]
        assert event["fired_by"] == "sched-restarted"
        assert row.fired_at >= restarted_at
        waited_ms = (restarted_at - row.due_at).total_seconds() * 1000
        assert event["late_ms"] >= waited_ms - 1, (timer_id, event, waited_ms)
        assert row.late_ms is not None and row.late_ms >= waited_ms - 1
        assert dt.datetime.fromisoformat(event["due_at"]) == row.due_at


def test_sla_detection_does_not_leak_between_databases(tmp_path: Path, sqlite_template: Path) -> None:
    """Definition 1 of one database has no SLA timers; definition 1 of another has. Starting the
    second must still compute its SLA deadlines (else every `sla_…` timer expression is None and the
    instance cannot move past 事件分类). In the suite this shows as order-dependent failures, e.g.
    `pytest tests/engine/test_runtime.py tests/engine/test_timers.py` fails 10 tests of test_timers."""
    forget_other_databases()
    databases = []
    try:
        for name, diagram in [("plain", "mini.bpmn"), ("with_sla", "sla.bpmn")]:
            path = tmp_path / f"{name}.db"
            shutil.copy(sqlite_template, path)
            database = Database(f"sqlite:///{path}")
            databases.append(database)
            with database.transaction() as session:
                users.ensure_groups(session)
                users.create_user(session, username="requester", password="pw", groups=["requester"])
                source = (Path(__file__).parent / "diagrams" / diagram).read_bytes()
                assert definitions.deploy(session, [definitions.SourceFile(diagram, source)]).definition_id == 1
        plain, with_sla = databases
        Flow(plain, "mini")
        started = Flow(with_sla, "sla_test")
        [event] = started.events("instance_started")
        assert "sla_resolve_due" in event["payload"]["engine_data"]
    finally:
        for database in databases:
            database.dispose()
        forget_other_databases()
