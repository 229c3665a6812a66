"""Timer benchmark: how late escalations commit when 1 000 of 10 000 pending timers fall due within 20 s.

Every timer is a real one, made by starting an instance through engine/: the bench diagram's task
has a boundary timer "PT20S". Instances are started with the engine clock frozen, so the timer of
due instance k falls due at T + k * 20 ms (T a few seconds after set-up ends) and each of the other
9 000 falls due a month from now. Then the real clock runs and TimerScheduler(s) fire what falls
due; lateness is measured from the due time to the COMMIT of the firing transaction (the moment
the escalation task exists for everyone), with the in-transaction lateness the engine records in
history (late_ms) and the dispatch lateness (job start) beside it.

Run: .venv/bin/python -m bench.timers [--postgres] [--schedulers N] [--due N] [--far N] [--spread S]
                                      [--poll S] [--workers N] [--gc-freeze]
Last line: RESULT timers=… fired=… duplicates=… p50_late_ms=… p99_late_ms=…
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import func, select

from engine import clock, users
from engine.process import definitions, persistence, runtime
from engine.process.scheduler import TimerScheduler
from engine.store import schema
from engine.store.db import Database
from engine.store.models import HistoryEvent, Timer

DURATION = dt.timedelta(seconds=20)  # the diagram's "PT20S"
BENCH_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="bench_timers_defs" targetNamespace="http://opsflow.dev/bench">
  <bpmn:process id="bench_timers" name="Timer bench" isExecutable="true">
    <bpmn:startEvent id="start" name="start"/>
    <bpmn:userTask id="work" name="work" camunda:formKey="resolution" camunda:candidateGroups="engineer"/>
    <bpmn:boundaryEvent id="work_escalate" name="escalate" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition id="ted">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT20S"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="work_escalation" name="escalation" camunda:formKey="sla_escalation"
        camunda:candidateGroups="service_manager"/>
    <bpmn:endEvent id="end_escalation"/>
    <bpmn:endEvent id="end_done"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end_done"/>
    <bpmn:sequenceFlow id="f3" sourceRef="work_escalate" targetRef="work_escalation"/>
    <bpmn:sequenceFlow id="f4" sourceRef="work_escalation" targetRef="end_escalation"/>
  </bpmn:process>
</bpmn:definitions>
"""


class GcPauses:
    """Garbage-collector pauses while the schedulers run (a suspect for lateness outliers)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, dt.datetime]] = []  # generation, ms, when it began
        self._began = 0.0
        self._began_at = clock.now()

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began, self._began_at = time.perf_counter(), clock.now()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._began) * 1000, self._began_at))

    def summary(self, origin: dt.datetime) -> str:
        full = [(ms, (at - origin).total_seconds()) for generation, ms, at in self.pauses if generation == 2]
        return (f"GC: {len(self.pauses)} collections, {sum(ms for _, ms, _ in self.pauses):.0f} ms in all; "
                f"{len(full)} full: " + ", ".join(f"{ms:.0f} ms at {second:.1f}s" for ms, second in full))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class MeasuredScheduler(TimerScheduler):
    """A TimerScheduler that notes when each firing job started and when its transaction had committed."""

    def __init__(self, database: Database, **kwargs: object) -> None:
        super().__init__(database, **kwargs)  # type: ignore[arg-type]
        self.started: dict[int, dt.datetime] = {}
        self.committed: dict[int, dt.datetime] = {}
        self._notes = threading.Lock()

    def fire(self, timer_id: int) -> None:
        began = clock.now()
        super().fire(timer_id)  # returns after its transaction committed (or gave up)
        done = clock.now()
        with self._notes:  # a timer is only re-armed while its row is pending: the last attempt fired it
            self.started[timer_id] = began
            self.committed[timer_id] = done


@contextmanager
def database(postgres: bool) -> Iterator[Database]:
    """A migrated, empty database: a throwaway PostgreSQL server, or a SQLite file in a temporary directory."""
    with ExitStack() as stack:
        if postgres:
            from tests.support import pg

            url = stack.enter_context(pg.start_postgres()).create_database("opsflow_bench_timers")
        else:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="opsflow-bench-timers-"))
            url = f"sqlite:///{Path(directory) / 'bench.db'}"
        schema.upgrade(url)
        db = Database(url)
        stack.callback(db.dispose)
        yield db


def create(db: Database, started_at: list[dt.datetime], batch: int = 200) -> None:
    """Start one bench instance per entry, with the engine clock frozen at that moment."""
    with db.transaction() as session:
        actor = users.actor(session, "bench")
    for first in range(0, len(started_at), batch):
        with db.transaction() as session:
            for moment in started_at[first:first + batch]:
                with clock.frozen(moment):
                    runtime.start_instance(session, process_id="bench_timers", data={}, actor=actor)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def describe(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none"
    return (f"{name}: p50 {percentile(values, .5):.0f} ms, p90 {percentile(values, .9):.0f}, "
            f"p99 {percentile(values, .99):.0f}, max {max(values):.0f}, mean {statistics.fmean(values):.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="a private PostgreSQL server instead of SQLite")
    parser.add_argument("--due", type=int, default=1000, help="timers falling due during the run")
    parser.add_argument("--far", type=int, default=9000, help="timers falling due a month later")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds over which the due timers fall due")
    parser.add_argument("--schedulers", type=int, default=1, help="TimerSchedulers in this process")
    parser.add_argument("--poll", type=float, default=1.0, help="scheduler poll interval (s)")
    parser.add_argument("--workers", type=int, default=4, help="firing threads per scheduler")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.freeze() the set-up's objects before the schedulers start (an experiment)")
    args = parser.parse_args(argv)

    with database(args.postgres) as db:
        backend = db.engine.dialect.name
        with db.transaction() as session:
            users.ensure_groups(session)
            users.create_user(session, username="bench", password="bench", groups=["requester"])
            definitions.deploy(session, [definitions.SourceFile("bench_timers.bpmn", BENCH_BPMN)], user="bench")

        began = time.perf_counter()
        far_start = clock.now() + dt.timedelta(days=30)
        create(db, [far_start + i * dt.timedelta(milliseconds=1) for i in range(args.far)])
        far_seconds = time.perf_counter() - began
        per_instance = far_seconds / max(args.far, 1)
        log(f"{backend}: started {args.far} far-future instances in {far_seconds:.1f} s "
            f"({per_instance * 1000:.2f} ms each)")

        # The first due timer falls due once the due instances exist and the schedulers run.
        lead = dt.timedelta(seconds=max(per_instance, 0.01) * args.due * 1.5 + 3)
        first_due = clock.now() + lead
        step = dt.timedelta(seconds=args.spread / max(args.due, 1))
        began = time.perf_counter()
        create(db, [first_due - DURATION + k * step for k in range(args.due)])
        log(f"started {args.due} instances whose timers fall due from {first_due:%H:%M:%S.%f} every "
            f"{step.total_seconds() * 1000:.0f} ms, in {time.perf_counter() - began:.1f} s")
        # A scheduler normally runs in another process than the one that started the instances: neither their
        # cached workflows nor the garbage they leave (collected here, not in the first firing's pause) are its.
        persistence.workflow_cache.clear()
        gc.collect()

        with db.transaction() as session:
            pending = session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "pending")) or 0
        log(f"{pending} pending timers")
        schedulers = [MeasuredScheduler(db, name=f"bench-{n + 1}", poll_seconds=args.poll, workers=args.workers)
                      for n in range(args.schedulers)]
        if args.gc_freeze:
            gc.collect()
            gc.freeze()
        gc_pauses = GcPauses()
        gc.callbacks.append(gc_pauses)
        load_before = os.getloadavg()[0]
        for scheduler in schedulers:
            scheduler.start()
        if clock.now() >= first_due:
            log(f"WARNING: set-up ran past the first due time by {(clock.now() - first_due).total_seconds():.1f} s")
        last_due = first_due + (args.due - 1) * step
        try:
            deadline = last_due + dt.timedelta(seconds=30)
            fired = 0
            while clock.now() < deadline:
                with db.transaction() as session:
                    fired = session.scalar(select(func.count()).select_from(Timer)
                                           .where(Timer.status == "fired")) or 0
                if fired >= args.due and clock.now() > last_due + dt.timedelta(seconds=2):
                    break
                time.sleep(0.25)
        finally:
            for scheduler in schedulers:
                scheduler.shutdown()
            gc.callbacks.remove(gc_pauses)

        with db.transaction() as session:
            rows = session.execute(select(Timer.id, Timer.due_at, Timer.fired_at, Timer.fired_by, Timer.late_ms)
                                   .where(Timer.status == "fired")).all()
            events = [e.payload for e in session.scalars(select(HistoryEvent)
                                                         .where(HistoryEvent.kind == "timer_fired"))]
            timers_total = session.scalar(select(func.count()).select_from(Timer)) or 0
            escalations = session.scalar(select(func.count()).select_from(HistoryEvent).where(
                HistoryEvent.kind == "task_ready", HistoryEvent.element_id == "work_escalation")) or 0
    per_timer = Counter(int(e["timer_id"]) for e in events)
    duplicates = sum(n - 1 for n in per_timer.values() if n > 1)
    by_scheduler = {s.name: s for s in schedulers}

    committed, dispatch, recorded, in_row = [], [], [], []
    by_second: dict[int, list[float]] = {}
    for row in rows:
        due = row.due_at if row.due_at.tzinfo else row.due_at.replace(tzinfo=dt.UTC)
        owner = by_scheduler.get(row.fired_by or "")
        if owner is not None and row.id in owner.committed:
            committed.append((owner.committed[row.id] - due).total_seconds() * 1000)
            dispatch.append((owner.started[row.id] - due).total_seconds() * 1000)
            by_second.setdefault(int((due - first_due).total_seconds()), []).append(committed[-1])
        recorded.append(float(row.late_ms or 0))
        fired_at = row.fired_at if row.fired_at.tzinfo else row.fired_at.replace(tzinfo=dt.UTC)
        in_row.append((fired_at - due).total_seconds() * 1000)
    transaction = [c - d for c, d in zip(committed, dispatch, strict=True)]
    log(f"fired {len(rows)} of {args.due} due ({escalations} escalation tasks opened), "
        f"by {dict(Counter(r.fired_by for r in rows))}, {duplicates} duplicate timer_fired events")
    log(describe("committed lateness (due -> firing transaction committed)", committed))
    log(describe("dispatch lateness (due -> firing job started)", dispatch))
    log(describe("firing job (start -> committed)", transaction))
    log(describe("recorded late_ms (due -> claim, in the transaction)", recorded))
    log("committed lateness by second of the run (max ms): " + " ".join(
        f"{second}s:{max(values):.0f}" for second, values in sorted(by_second.items())))
    log(gc_pauses.summary(first_due))
    log(f"load average (1 min) {load_before:.1f} before the run, {os.getloadavg()[0]:.1f} after, "
        f"on {os.cpu_count()} CPUs")
    if len(committed) < len(rows):
        log(f"WARNING: {len(rows) - len(committed)} fired timers have no commit time noted")
    p50 = percentile(committed, .5) if committed else float("nan")
    p99 = percentile(committed, .99) if committed else float("nan")
    print(f"RESULT timers={timers_total} fired={len(rows)} duplicates={duplicates} "
          f"p50_late_ms={p50:.0f} p99_late_ms={p99:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
