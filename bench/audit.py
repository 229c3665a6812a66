"""Audit benchmark: verify (hash chain + re-execution) over finished service-desk instances on SQLite.

Run: .venv/bin/python -m bench.audit [--instances N]
Last line: RESULT instances=… events=… events_per_s=… divergences=…
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.engine import HAPPY_PATH, Opsflow
from engine.audit import verification as audit
from engine.process import persistence


def create_instances(opsflow: Opsflow, count: int) -> None:
    for _ in range(count):
        state = opsflow.start()
        for element_id, data, user in HAPPY_PATH:
            state = opsflow.step(state, element_id, data, user)
        assert state.status == "completed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000, help="finished service-desk instances to verify")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="opsflow-bench-audit-") as directory:
        opsflow = Opsflow(Path(directory))
        began = time.perf_counter()
        create_instances(opsflow, args.instances)
        print(f"created {args.instances} finished service-desk instances in {time.perf_counter() - began:.1f} s",
              file=sys.stderr)
        # Verification must not lean on workflows the runtime left in its cache; the parsed spec
        # stays cached, as it would in any process that ever ran or verified this version.
        persistence.workflow_cache.clear()
        with opsflow.db.transaction() as session:
            began, cpu_began = time.perf_counter(), time.process_time()
            verdicts = audit.verify_all(session)
            elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        events = sum(v.events_checked for v in verdicts)
        failed = [v for v in verdicts if not v.ok]
        for verdict in failed[:5]:
            print(f"instance {verdict.instance_id}: {verdict.first_divergence}", file=sys.stderr)
        print(f"verified {len(verdicts)} instances, {events} events in {elapsed:.2f} s "
              f"({len(verdicts) / elapsed:.0f} instances/s, {elapsed / max(events, 1) * 1e6:.0f} µs per event; "
              f"CPU {cpu:.2f} s, {events / cpu:.0f} events per CPU second)", file=sys.stderr)
    print(f"RESULT instances={len(verdicts)} events={events} events_per_s={events / elapsed:.0f} "
          f"divergences={len(failed)}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
