"""Inbox benchmark: one inbox page (and its next page, filters, an auditor's view) with N open tasks.

The tasks are written as rows (building 100 000 cases through the engine would take an hour and
measure the engine, not the inbox queries); definitions and users come from engine/ as usual.

Run: .venv/bin/python -m bench.inbox [--tasks N] [--url postgresql+psycopg://…]
Last line: RESULT tasks=… first_page_ms=… next_page_ms=… filtered_ms=… auditor_ms=… mine_ms=…
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select

from engine import bootstrap, clock, users
from engine.desk import inbox
from engine.store import schema
from engine.store.db import Database
from engine.store.models import ProcessDefinition, ProcessInstance, ServiceCase, TaskRecord

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ["engineer"] * 5 + ["service_desk"] * 3 + ["service_manager", "vendor"]
LEVELS = ["I", "II", "III", "IV", None]


def fill(database: Database, tasks: int, *, seed: int = 7) -> None:
    """Deploy the bundled diagrams, create the demo users, then `tasks` open tasks in as many cases."""
    rng = random.Random(seed)
    with database.transaction() as session:
        users.ensure_groups(session)
        bootstrap.deploy_directory(session, ROOT / "bpmn", user="bench")
        bootstrap.create_demo_users(session)
        definitions = list(session.execute(select(ProcessDefinition.id, ProcessDefinition.process_id)))
    instances_table = cast(Table, ProcessInstance.__table__)
    tasks_table = cast(Table, TaskRecord.__table__)
    cases_table = cast(Table, ServiceCase.__table__)
    now = clock.now()
    batch = 5000
    for start in range(0, tasks, batch):
        count = min(batch, tasks - start)
        instance_rows, case_rows, task_rows = [], [], []
        for n in range(count):
            definition_id, process_id = rng.choice(definitions)
            created = now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 10))
            instance_rows.append({
                "definition_id": definition_id, "process_id": process_id, "status": "running",
                "title": f"case {start + n}", "fault_level": rng.choice(LEVELS), "started_by": "requester",
                "started_at": created, "workflow_state": "", "lock_version": 1, "last_event_seq": 0,
                "last_event_hash": ""})
        with database.transaction() as session:
            ids = session.execute(insert(instances_table).returning(instances_table.c.id, sort_by_parameter_order=True),
                                  instance_rows).scalars().all()
            for instance_id, row in zip(ids, instance_rows, strict=True):
                case_rows.append({"instance_id": instance_id, "fault_level": row["fault_level"],
                                  "opened_at": row["started_at"], "chase_count": 0, "is_complaint": False})
                group = rng.choice(GROUPS)
                assignee = rng.choice([None, None, None, group, f"{group}_colleague"])
                due = row["started_at"] + dt.timedelta(hours=rng.choice([2, 24, 72, 120])) \
                    if rng.random() < 0.7 else None
                task_rows.append({
                    "instance_id": instance_id, "spiff_task_id": f"{instance_id:036d}", "element_id": "work",
                    "name": "处理", "lane": None, "candidate_group": group, "form_key": "resolution",
                    "state": "ready", "assignee": assignee, "due_at": due, "created_at": row["started_at"]})
            session.execute(insert(cases_table), case_rows)
            session.execute(insert(tasks_table), task_rows)


def _ms(run: Callable[[], Any], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        begin = time.perf_counter()
        run()
        times.append((time.perf_counter() - begin) * 1000)
    return statistics.median(times)


def measure(database: Database) -> dict[str, float]:
    """Median milliseconds of the inbox reads that matter."""
    engineer = users.Actor("engineer", frozenset({"engineer"}))
    auditor = users.Actor("auditor", frozenset({"auditor"}))

    def page(actor: users.Actor, **kwargs: Any) -> inbox.InboxPage:
        with database.transaction() as session:
            return inbox.inbox_page(session, actor=actor, **kwargs)

    first = page(engineer)
    assert first.rows and first.next_cursor, "the benchmark needs more than one page"
    return {
        "first_page_ms": _ms(lambda: page(engineer)),
        "next_page_ms": _ms(lambda: page(engineer, after=first.next_cursor)),
        "filtered_ms": _ms(lambda: page(engineer, process_id="emergency", fault_level="I")),
        "auditor_ms": _ms(lambda: page(auditor, state="all")),
        "mine_ms": _ms(lambda: page(engineer, state="mine")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--url", help="database URL (an empty database); default: a temporary SQLite file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'inbox.db'}"
        schema.upgrade(url)
        database = Database(url)
        begin = time.perf_counter()
        fill(database, args.tasks)
        print(f"filled {args.tasks} open tasks in {time.perf_counter() - begin:.1f} s", file=sys.stderr)
        result = measure(database)
        database.dispose()
    print("RESULT tasks={} {}".format(args.tasks, " ".join(f"{k}={v:.1f}" for k, v in result.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
