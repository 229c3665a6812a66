"""Spare-parts benchmark: 20 agents issuing parts to cases at once on PostgreSQL, never selling a unit twice.

Each agent (a thread with its own connection) books one part out per transaction through
engine.desk.parts.issue_parts, the booking a step's `parts_used` runs on completion (catalogue lookup,
conditional UPDATE … WHERE quantity >= n, ledger row, replenishment check). The parts' stock is a little
less than the attempts, so the last units are fought over and the late attempts are refused. The
baseline, measured in the same run with the same agents, is the bare conditional UPDATE and commit of
the stock row alone (no lookup, no ledger); the ratio says what the rest of a booking costs.

Afterwards: oversold counts issues beyond the stock plus any stock row that differs from its ledger's sum
(must be 0); errors counts anything but a clean refusal (must be 0).

Run: .venv/bin/python -m bench.parts [--agents 20] [--attempts 100] [--seconds 60] [--quick] [--url URL]
Last line: RESULT issues=… per_s=… oversold=… errors=…
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import func, select, update

from engine import bootstrap, users
from engine.desk import parts
from engine.errors import InvalidInput
from engine.process import runtime
from engine.store import schema
from engine.store.db import Database
from engine.store.parts_models import Part, PartMovement, PartStock
from engine.users import Actor

PARTS = 4
# The baseline's parts (as many, as contended): its bare UPDATEs leave the ledger alone, so its rows are left
# out of the ledger check.
BASELINE_PARTS = tuple(f"BASE{number}" for number in range(PARTS))
KEEPER = Actor("bench-keeper", frozenset({"service_manager"}))
REQUEST = {"channel": "phone", "requester_name": "张三", "contact_phone": "13800000000", "organisation": "市医院",
           "system": "HIS", "title": "交换机电源故障", "description": "核心交换机断电", "urgency": "high"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def database(url: str | None) -> Iterator[Database]:
    """A migrated database: the one at `url`, or a throwaway PostgreSQL server (tests/support/pg.py); a pool
    big enough for every agent."""
    with ExitStack() as stack:
        if url is None:
            from tests.support import pg

            url = stack.enter_context(pg.start_postgres()).create_database("opsflow_bench_parts")
        schema.upgrade(url)
        db = Database(url, pool_size=30, max_overflow=10) if url.startswith("postgresql") else Database(url)
        stack.callback(db.dispose)
        yield db


def prepare(db: Database, stock_per_part: int, baseline_stock: int, cases: int) -> list[int]:
    """A centre holding PARTS parts, `stock_per_part` each, and the baseline's parts; `cases` open requests."""
    with db.transaction() as session:
        users.ensure_groups(session)
        bootstrap.deploy_directory(session, Path(__file__).resolve().parent.parent / "bpmn", user="bench")
        bootstrap.create_demo_users(session)
        parts.add_centre(session, code="SZ", name="深圳服务中心", actor=KEEPER)
        for code, stock in [*((f"P{number}", stock_per_part) for number in range(PARTS)),
                            *((code, baseline_stock) for code in BASELINE_PARTS)]:
            parts.add_part(session, code=code, label=f"备件 {code}", unit_price_yuan=10, actor=KEEPER)
            parts.receive(session, part=code, centre="SZ", quantity=stock, actor=KEEPER)
            parts.set_minimum(session, part=code, centre="SZ", minimum=stock // 10, actor=KEEPER)
        requester = users.actor(session, "requester")
        return [runtime.start_instance(session, process_id="service_desk", data=REQUEST, actor=requester).id
                for _ in range(cases)]


def run_agents(agents: int, attempts: int, seconds: float,
               attempt: Callable[[int, int], str]) -> tuple[dict[str, int], float, list[str]]:
    """`agents` threads, each up to `attempts` attempts or until `seconds` pass: counts per outcome, seconds."""
    barrier = threading.Barrier(agents + 1)
    counts: dict[str, int] = {"won": 0, "refused": 0}
    errors: list[str] = []
    lock = threading.Lock()
    deadline: list[float] = []

    def agent(number: int) -> None:
        barrier.wait()
        for turn in range(attempts):
            if time.perf_counter() > deadline[0]:
                return
            try:
                outcome = attempt(number, turn)
            except Exception as error:  # every failure is counted; the run goes on
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                continue
            with lock:
                counts[outcome] += 1

    threads = [threading.Thread(target=agent, args=(number,)) for number in range(agents)]
    for thread in threads:
        thread.start()
    deadline.append(time.perf_counter() + seconds)
    began = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    return counts, time.perf_counter() - began, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--attempts", type=int, default=100, help="per agent")
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit per phase")
    parser.add_argument("--quick", action="store_true", help="a smoke test: 10 attempts per agent")
    parser.add_argument("--url", help="an existing database instead of a throwaway PostgreSQL server")
    args = parser.parse_args(argv)
    attempts = 10 if args.quick else args.attempts
    total = args.agents * attempts
    stock_per_part = max(1, total // PARTS - args.agents // 2)  # a little short: the last units are contested
    with database(args.url) as db:
        cases = prepare(db, stock_per_part, total, args.agents)
        with db.transaction() as session:
            engineer = users.actor(session, "engineer")
            baseline = list(session.scalars(select(Part.id).where(Part.code.in_(BASELINE_PARTS)).order_by(Part.code)))

        def bare(number: int, turn: int) -> str:
            with db.transaction() as session:
                taken = session.connection().execute(
                    update(PartStock).where(PartStock.part_id == baseline[(number + turn) % PARTS],
                                            PartStock.quantity >= 1)
                    .values(quantity=PartStock.quantity - 1))
                return "won" if taken.rowcount == 1 else "refused"

        def issue(number: int, turn: int) -> str:
            code = f"P{(number + turn) % PARTS}"
            try:
                with db.transaction() as session:
                    parts.issue_parts(session, rows=[{"part": code, "quantity": 1, "centre": "SZ"}],
                                      instance_id=cases[number], actor=engineer, element_id="onsite_fix")
            except InvalidInput:
                return "refused"
            return "won"

        log(f"{args.agents} agents × {attempts} attempts on {db.engine.dialect.name}; "
            f"stock {stock_per_part} of each of {PARTS} parts ({PARTS * stock_per_part} units for {total} attempts)")
        base_counts, base_seconds, base_errors = run_agents(args.agents, attempts, args.seconds, bare)
        base_rate = (base_counts["won"] + base_counts["refused"]) / base_seconds
        log(f"baseline (bare conditional UPDATE + commit): {base_rate:.0f}/s, errors {len(base_errors)}")
        counts, seconds, errors = run_agents(args.agents, attempts, args.seconds, issue)
        rate = counts["won"] / seconds
        log(f"issues: {counts['won']} issued, {counts['refused']} refused in {seconds:.2f} s = {rate:.0f}/s; "
            f"ratio to the baseline {rate / base_rate:.3f}")
        with db.transaction() as session:
            mismatched = sum(1 for row in session.scalars(select(PartStock).where(PartStock.part_id.not_in(baseline)))
                             if row.quantity != parts.ledger_balance(session, row.part_id, row.centre_id)
                             or row.quantity < 0)
            issued = session.scalar(select(func.count()).select_from(PartMovement)
                                    .where(PartMovement.kind == "issue")) or 0
        oversold = max(0, issued - PARTS * stock_per_part) + mismatched
        for message in sorted(set(errors + base_errors))[:5]:
            log(f"error: {message}")
    print(f"RESULT issues={counts['won']} per_s={rate:.0f} oversold={oversold} errors={len(errors) + len(base_errors)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
