"""Notification benchmark: what the outbox costs a request, that a hanging relay costs it nothing, how fast the
sender drains.

1. Starting a service-desk request (it notifies the service desk's members: 11 agents here) on SQLite, with the
   notification receivers connected and without them (the baseline, measured in the same run).
2. The same start with OPSFLOW_SMTP_HOST pointing at a relay that accepts connections and never answers (its
   timeout 5 s): the request must take as long as with mail off; the mails wait on the worker thread.
3. The sender against a local SMTP sink (tests/support/smtp_sink.py): pending mails drained per second by one
   `deliver_due` loop (a claim transaction, one SMTP connection and one outcome transaction per mail).

Run: .venv/bin/python -m bench.notifications [--requests 100] [--mails 300]
Last line: RESULT start_ms=… baseline_ms=… hanging_relay_ms=… drain_per_s=… duplicates=…
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from engine import bootstrap, users
from engine.desk import notifications
from engine.process import hooks, runtime
from engine.store import schema
from engine.store.db import Database
from engine.store.notification_models import Notification
from tests.support.flows import REQUEST
from tests.support.smtp_sink import silent_server, smtp_sink

AGENTS = 10  # besides the demo service_desk user


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare(path: Path) -> Database:
    url = f"sqlite:///{path}"
    schema.upgrade(url)
    db = Database(url)
    users.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"
    with db.transaction() as session:
        users.ensure_groups(session)
        bootstrap.deploy_directory(session, Path(__file__).resolve().parent.parent / "bpmn", user="bench")
        bootstrap.create_demo_users(session)
        for number in range(AGENTS):
            users.create_user(session, username=f"agent{number}", password="pw", groups=["service_desk"],
                              email=f"agent{number}@ops.example")
    return db


def start_ms(db: Database, count: int) -> list[float]:
    times = []
    for _ in range(count):
        began = time.perf_counter()
        with db.transaction() as session:
            runtime.start_instance(session, process_id="service_desk", data=dict(REQUEST),
                                   actor=users.actor(session, "requester"))
        times.append((time.perf_counter() - began) * 1000)
    return times


def without_receivers(run: Callable[[], list[float]]) -> list[float]:
    connected = [(hook, receiver) for hook in vars(hooks).values() if isinstance(hook, hooks.Hook)
                 for receiver in list(hook.receivers) if getattr(receiver, "__module__", "") == notifications.__name__]
    for hook, receiver in connected:
        hook.disconnect(receiver)
    try:
        return run()
    finally:
        for hook, receiver in connected:
            hook.connect(receiver)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--mails", type=int, default=300)
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("OPSFLOW_SMTP_")]:
        del os.environ[name]
    with tempfile.TemporaryDirectory() as directory:
        db = prepare(Path(directory) / "bench.db")
        start_ms(db, 10)  # warm caches
        baseline, with_outbox = [], []
        for _ in range(3):  # interleaved, so drift in a shared machine hits both alike
            baseline += without_receivers(lambda: start_ms(db, args.requests // 3))
            with_outbox += start_ms(db, args.requests // 3)
        log(f"start, no receivers: median {statistics.median(baseline):.2f} ms; with the outbox (mail off, "
            f"{AGENTS + 1} notices each): median {statistics.median(with_outbox):.2f} ms")

        with silent_server() as port:
            os.environ.update(OPSFLOW_SMTP_HOST="127.0.0.1", OPSFLOW_SMTP_PORT=str(port), OPSFLOW_SMTP_TIMEOUT="5")
            hanging = start_ms(db, 20)
            log(f"start with the relay hanging: median {statistics.median(hanging):.2f} ms, "
                f"max {max(hanging):.2f} ms")
            notifications.wait_for_sends(timeout=60)
        with db.transaction() as session:  # what the hanging relay left pending: out of the drain's way
            session.execute(Notification.__table__.delete())

        with smtp_sink() as (port, sink):
            os.environ["OPSFLOW_SMTP_PORT"] = str(port)
            original = notifications.send_soon
            notifications.send_soon = lambda bind, ids: None  # type: ignore[assignment]
            try:
                start_ms(db, -(-args.mails // AGENTS))
            finally:
                notifications.send_soon = original  # type: ignore[assignment]
            with db.transaction() as session:
                pending = session.scalar(select(func.count()).select_from(Notification)
                                         .where(Notification.email_state == "pending")) or 0
            began = time.perf_counter()
            while notifications.deliver_due(db.engine).sent:
                pass
            seconds = time.perf_counter() - began
            sent = Counter(m.message()["Message-ID"] for m in sink.messages)
        duplicates = sum(n - 1 for n in sent.values())
        log(f"drained {len(sent)} of {pending} pending mails in {seconds:.2f} s ({len(sent) / seconds:.0f}/s), "
            f"duplicates {duplicates}")
        db.dispose()
    print(f"RESULT start_ms={statistics.median(with_outbox):.2f} baseline_ms={statistics.median(baseline):.2f} "
          f"hanging_relay_ms={statistics.median(hanging):.2f} hanging_relay_max_ms={max(hanging):.2f} "
          f"drain_per_s={len(sent) / seconds:.0f} duplicates={duplicates}")


if __name__ == "__main__":
    main()
