"""The alarm clock: APScheduler jobs that fire timer rows at their due time.

The database stays the truth. A scheduler arms a date job for every pending timer falling due
within its horizon — at start (so timers that fell due while nothing ran fire at once, their
lateness recorded), right after this process commits new timers, and on a short poll for timers
other processes created. Firing claims the row inside the firing transaction, so any number of
schedulers may arm the same timer and it still fires once.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from engine import clock
from engine.errors import Conflict
from engine.process import hooks, runtime, timers
from engine.store.db import Database

log = logging.getLogger(__name__)


class TimerScheduler:
    """Arms and fires timers for one database."""

    def __init__(self, database: Database, *, name: str | None = None, horizon: dt.timedelta = dt.timedelta(minutes=2),
                 poll_seconds: float = 1.0, workers: int = 4):
        self.database = database
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.horizon = horizon
        self.poll_seconds = poll_seconds
        self._armed: set[int] = set()
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            timezone=dt.UTC, executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})

    def start(self) -> None:
        timers.listeners.append(self.arm)
        self._scheduler.start()
        self.arm_due_soon()
        self._scheduler.add_job(self.arm_due_soon, "interval", seconds=self.poll_seconds, id="poll")
        for job in hooks.jobs:  # periodic work of the domain rules (e.g. engine.desk.schedules)
            self._scheduler.add_job(self.run_job, "interval", args=[job], seconds=job.seconds, id=job.id,
                                    next_run_time=clock.now())

    def shutdown(self, wait: bool = True) -> None:
        if self.arm in timers.listeners:
            timers.listeners.remove(self.arm)
        self._scheduler.shutdown(wait=wait)

    def run_job(self, job: hooks.Job) -> None:
        """One run of a registered job, in a transaction of its own; a failure is logged, the next run comes."""
        try:
            with self.database.transaction() as session:
                job.run(session)
        except Exception:
            log.exception("scheduled job %s failed", job.id)

    def arm_due_soon(self) -> None:
        with self.database.transaction() as session:
            due = timers.due_soon(session, clock.now() + self.horizon)
        self.arm(due)

    def arm(self, due: list[tuple[int, dt.datetime]]) -> None:
        """Add a date job per timer not yet armed here; overdue ones run at once."""
        horizon_end = clock.now() + self.horizon
        with self._lock:
            fresh = [(timer_id, at) for timer_id, at in due if timer_id not in self._armed and at <= horizon_end]
            self._armed.update(timer_id for timer_id, _ in fresh)
        for timer_id, at in fresh:
            # SpiffWorkflow fires strictly after the due time; aim a hair past it.
            run_at = max(at + dt.timedelta(milliseconds=1), clock.now())
            self._scheduler.add_job(self.fire, DateTrigger(run_date=run_at), args=[timer_id], id=f"timer-{timer_id}",
                                    replace_existing=True)

    def fire(self, timer_id: int) -> None:
        for _attempt in range(5):
            try:
                with self.database.transaction() as session:
                    runtime.fire_timer(session, timer_id=timer_id, fired_by=self.name)
                break
            except Conflict:
                continue  # the instance moved on meanwhile; the row is still ours to try again
            except Exception:
                log.exception("timer %s failed to fire", timer_id)
                break
        with self._lock:
            self._armed.discard(timer_id)
