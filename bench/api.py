"""API load benchmark: 20 clients raising and working service-desk requests through /api/v1 on gunicorn
and PostgreSQL, with the same steps straight through engine/ as the baseline, in the same run.

A throwaway PostgreSQL (tests/support/pg.py) is migrated and set up as `flask opsflow setup` does; each
client gets three users of its own (a requester, a service-desk agent, an engineer) and a personal API
token for each. gunicorn serves wsgi:app with the production config on 127.0.0.1 (sync workers). A client
repeats, for one request: POST /processes/service_desk/instances (requester), POST …/complete 受理 with the
start's ETag as If-Match (desk), GET the instance for its open task and ETag, complete 事件分类 (desk),
GET, complete 远程解决 (engineer): six HTTP requests. The request then waits at 满意度回访, which would close
it only past the knowledge gate (engine.desk.knowledge), so the benchmark stops there. Each client stops
after --per-client requests or --seconds, whichever comes first, and pauses --pause seconds after each HTTP
request (as bench/web.py's agents do: an integration reacting to answers, not a flood; with no pause, 20
clients on two workers measure queueing: each waits for the other nineteen). Every HTTP request is timed,
from sending it to its last byte. Errors are
any unexpected status (a 409 too: no two clients share a task) and connection failures.

The baseline runs the same steps for --baseline requests in this process through engine/ (no HTTP, no
token, no JSON), one at a time, on the same database: what the engine costs, for comparison.

Run: .venv/bin/python -m bench.api [--clients 20] [--seconds 30] [--per-client 40] [--pause 0.2] [--workers 2]
     [--quick]
Last line: RESULT requests_per_s=<HTTP requests per second> p95_ms=<p95 of one HTTP request> errors=<n>
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.engine import REQUEST
from bench.web import Gunicorn, fast_password_hashes, log, percentile
from engine import bootstrap, tokens, users
from engine.process import runtime
from engine.store import schema
from engine.store.db import Database
from tests.support.pg import start_postgres

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30.0
STEPS: list[tuple[str, dict[str, Any], str]] = [("accept", {"request_confirmed": True, "notes": "API 受理"}, "desk"),
         ("classify", {"category": "fault", "fault_level": "III"}, "desk"),
         ("remote_fix", {"resolved": True, "method": "remote", "actions": "远程重启服务，已恢复"}, "engineer")]


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    requests_done: int = 0  # service-desk requests brought to 满意度回访
    errors: list[str] = field(default_factory=list)


class Client(threading.Thread):
    """One API client: its own requester, desk agent and engineer tokens, one request at a time."""

    def __init__(self, base: str, secrets: dict[str, str], stats: Stats, *, per_client: int, deadline: float,
                 start: threading.Barrier, pause: float = 0.0):
        super().__init__(daemon=True)
        self.secrets, self.stats, self.per_client, self.deadline, self.start_barrier, self.pause = \
            secrets, stats, per_client, deadline, start, pause
        self.connection = http.client.HTTPConnection(base, timeout=TIMEOUT)

    def call(self, role: str, method: str, path: str, body: Any = None,
             if_match: str | None = None) -> tuple[int, Any, str | None]:
        headers = {"Authorization": f"Bearer {self.secrets[role]}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if if_match:
            headers["If-Match"] = if_match
        payload = json.dumps(body).encode() if body is not None else None
        began = time.perf_counter()
        try:
            self.connection.request(method, f"/api/v1{path}", body=payload, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            raise RuntimeError(f"{method} {path}: {error!r}") from error
        with self.stats.lock:
            self.stats.latencies.append((time.perf_counter() - began) * 1000)
        time.sleep(self.pause)
        return response.status, json.loads(data) if data else None, response.getheader("ETag")

    def expect(self, got: tuple[int, Any, str | None], status: int, what: str) -> tuple[Any, str]:
        if got[0] != status:
            raise RuntimeError(f"{what}: {got[0]} {json.dumps(got[1], ensure_ascii=False)[:300]}")
        return got[1], str(got[2])

    def one_request(self, n: int) -> None:
        instance, tag = self.expect(self.call("requester", "POST", "/processes/service_desk/instances",
                                              {"data": {**REQUEST, "title": f"API 压测 #{n}"}}), 201, "start")
        open_tasks = instance["open_tasks"]
        for index, (element_id, data, role) in enumerate(STEPS):
            if index:
                instance, tag = self.expect(self.call("requester", "GET", f"/instances/{instance['id']}"), 200,
                                            "show")
                open_tasks = instance["open_tasks"]
            task = next(t for t in open_tasks if t["element_id"] == element_id)
            self.expect(self.call(role, "POST", f"/tasks/{task['id']}/complete", {"data": data}, if_match=tag),
                        200, f"complete {element_id}")

    def run(self) -> None:
        self.start_barrier.wait()
        for n in range(self.per_client):
            if time.perf_counter() >= self.deadline:
                break
            try:
                self.one_request(n)
            except (RuntimeError, StopIteration, KeyError) as error:
                with self.stats.lock:
                    self.stats.errors.append(str(error) or repr(error))
                continue
            with self.stats.lock:
                self.stats.requests_done += 1
        self.connection.close()


# ---------------------------------------------------------------- set-up and baseline

def setup(database: Database, clients: int) -> list[dict[str, str]]:
    """Groups, diagrams and demo users as `flask opsflow setup`; per client three users and their tokens."""
    made = []
    with fast_password_hashes(), database.transaction() as session:
        users.ensure_groups(session)
        bootstrap.deploy_directory(session, ROOT / "bpmn", user="setup")
        bootstrap.create_demo_users(session)
        for n in range(1, clients + 1):
            secrets = {}
            for role, group in (("requester", "requester"), ("desk", "service_desk"), ("engineer", "engineer")):
                username = f"api-{role}{n:02d}"
                users.create_user(session, username=username, password="bench-password-1", groups=[group])
                owner = users.actor(session, username)
                secrets[role] = tokens.create_token(session, owner=owner, name="bench", actor=owner)[1]
            made.append(secrets)
    return made


def baseline(database: Database, count: int) -> tuple[float, float]:
    """(engine steps per second, p95 ms of one step): the same four changes per request through engine/."""
    with database.transaction() as session:
        actors = {role: users.actor(session, f"api-{role}01") for role in ("requester", "desk", "engineer")}
    times: list[float] = []
    began = time.perf_counter()
    for n in range(count):
        step_began = time.perf_counter()
        with database.transaction() as session:
            state = runtime.start_instance(session, process_id="service_desk", actor=actors["requester"],
                                           data={**REQUEST, "title": f"基线 #{n}"})
        times.append((time.perf_counter() - step_began) * 1000)
        for element_id, data, role in STEPS:
            task_id = next(t["id"] for t in state.new_tasks if t["element_id"] == element_id)
            step_began = time.perf_counter()
            with database.transaction() as session:
                state = runtime.complete_task(session, task_id=task_id, data=data, actor=actors[role])
            times.append((time.perf_counter() - step_began) * 1000)
    elapsed = time.perf_counter() - began
    return len(times) / elapsed, percentile(times, 0.95)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="at most this long")
    parser.add_argument("--per-client", type=int, default=40, help="at most this many requests per client")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (sync)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds a client waits after each answer")
    parser.add_argument("--baseline", type=int, default=50, help="requests of the in-process baseline")
    parser.add_argument("--quick", action="store_true", help="smoke test: 4 clients, 3 requests each, 1 worker")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.per_client, args.seconds, args.workers, args.baseline = 4, 3, 20.0, 1, 5

    with tempfile.TemporaryDirectory(prefix="opsflow-bench-api-") as tmp, contextlib.ExitStack() as cleanup:
        pg = start_postgres()
        cleanup.callback(pg.stop)  # callbacks run last first: gunicorn, the database, then PostgreSQL
        url = pg.create_database("opsflow_bench_api")
        schema.upgrade(url)
        database = Database(url)
        cleanup.callback(database.dispose)
        secrets = setup(database, args.clients)
        per_s, base_p95 = baseline(database, args.baseline)
        log(f"baseline through engine/ (no HTTP): {per_s:.0f} changes/s, p95 {base_p95:.1f} ms per change "
            f"({args.baseline} requests, 4 changes each)")
        server = Gunicorn(url, workers=args.workers, threads=1, log_path=Path(tmp) / "gunicorn.log")
        cleanup.callback(server.stop)
        server.wait_ready()
        # Warm each worker (first requests parse diagrams and build schemas), unmeasured.
        warm = Stats()
        Client(server.base, secrets[0], warm, per_client=2 * args.workers, deadline=time.perf_counter() + 60,
               start=threading.Barrier(1)).run()
        if warm.errors:
            raise RuntimeError(f"warm-up failed: {warm.errors[:3]}")
        stats = Stats()
        barrier = threading.Barrier(args.clients)
        deadline = time.perf_counter() + args.seconds
        clients = [Client(server.base, s, stats, per_client=args.per_client, deadline=deadline, start=barrier,
                          pause=args.pause) for s in secrets]
        began = time.perf_counter()
        for client in clients:
            client.start()
        for client in clients:
            client.join(args.seconds + TIMEOUT + 10)
        elapsed = time.perf_counter() - began
        if stats.errors:
            log(f"--- gunicorn log tail ---\n{server.log_tail()}")
    samples = stats.latencies
    rate = len(samples) / elapsed if elapsed else 0.0
    log(f"{args.clients} clients pausing {args.pause} s, {args.workers} gunicorn workers: {len(samples)} HTTP requests "
        f"in {elapsed:.1f} s "
        f"({rate:.0f}/s); {stats.requests_done} service-desk requests raised and worked to 满意度回访 "
        f"({stats.requests_done / elapsed:.1f}/s); p50 {percentile(samples, 0.5):.1f} ms, "
        f"p95 {percentile(samples, 0.95):.1f} ms, max {max(samples, default=0):.1f} ms")
    for error in stats.errors[:5]:
        log(f"  error: {error}")
    print(f"RESULT requests_per_s={rate:.1f} p95_ms={percentile(samples, 0.95):.1f} errors={len(stats.errors)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
