"""Agents' request search benchmark: 10 000 requests (Chinese titles and descriptions from bench/kb_corpus.py,
200 organisations, 60 requesters), 400 searches of every kind the box takes — a whole number, the start of one,
a requester's name, an organisation, words of the title or description — through
engine.desk.request_search.search as the service desk (sees everything) and as an engineer (only requests
whose tasks were the engineers'); and the same word searches as a plain LIKE scan (the baseline).

The requests are written as rows (instance, case, one task, search row; the words computed by the engine's own
search_row): starting 10 000 through the engine would measure the engine, not the search.

Run: .venv/bin/python -m bench.search [--requests N] [--queries N] [--url postgresql+psycopg://…] [--no-postgres]
Last line: RESULT requests=<n> p50_ms=<n> p95_ms=<n> (the search on the slower database, agents of both kinds);
the LIKE baseline's p50/p95 and the ratio are printed above it.
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

from sqlalchemy import JSON, Table, bindparam, func, insert, text
from sqlalchemy.dialects.postgresql import TSVECTOR

from bench import kb_corpus, postgres_database
from engine import clock, users
from engine.desk import numbers, request_search
from engine.store import schema
from engine.store.db import Database
from engine.store.models import ProcessDefinition, ProcessInstance, ServiceCase, TaskRecord, User
from engine.store.search_models import RequestCounter, RequestSearch

_definitions = cast(Table, ProcessDefinition.__table__)
_instances = cast(Table, ProcessInstance.__table__)
_cases = cast(Table, ServiceCase.__table__)
_tasks = cast(Table, TaskRecord.__table__)
_users = cast(Table, User.__table__)
_search = cast(Table, RequestSearch.__table__)
_counters = cast(Table, RequestCounter.__table__)

DESK = users.Actor("service_desk", frozenset({"service_desk"}))
ENGINEER = users.Actor("engineer", frozenset({"engineer"}))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英",
         "华", "平")
PLACES = ("市", "区", "县")
UNITS = ("第一人民医院", "中医院", "妇幼保健院", "教育局", "实验中学", "税务局", "社保中心", "供电公司", "自来水公司",
         "人民法院")
CITIES = ("杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水", "义乌", "余姚",
          "海宁", "桐乡", "诸暨", "上虞", "慈溪", "瑞安", "乐清")


class Corpus:
    """Requests as rows, and the searches to run on them."""

    def __init__(self, count: int, seed: int = 56) -> None:
        rng = random.Random(seed)
        self.items = kb_corpus.solutions(count)
        self.requesters = [(f"user{n:02d}", rng.choice(SURNAMES) + rng.choice(GIVEN)) for n in range(60)]
        self.organisations = [f"{city}{rng.choice(PLACES)}{unit}" for city in CITIES for unit in UNITS][:200]
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        self.rows: list[dict[str, Any]] = []
        for n, item in enumerate(self.items):
            username, name = self.requesters[n % len(self.requesters)]
            started = start + dt.timedelta(minutes=45 * n)
            self.rows.append({"id": n + 1, "number": numbers.formatted("INC", numbers.year_of(started), n + 1),
                              "title": item.title[:200], "description": f"{item.symptom} {item.cause}",
                              "system": item.system, "organisation": self.organisations[n % len(self.organisations)],
                              "username": username, "name": name, "started_at": started,
                              "group": ("service_desk", "engineer", "vendor")[n % 3]})
        self.queries = self._queries(rng, kb_corpus.queries(self.items, 400))

    def _queries(self, rng: random.Random, words: list[kb_corpus.Query]) -> list[tuple[str, str]]:
        """(kind, text): a fifth each of numbers, number prefixes, requesters, organisations; the rest words."""
        found = []
        for n, query in enumerate(words):
            row = rng.choice(self.rows)
            kind = ("number", "prefix", "requester", "organisation", "words")[n % 5]
            found.append((kind, {"number": row["number"], "prefix": row["number"][:11],
                                 "requester": row["name"], "organisation": row["organisation"][-5:],
                                 "words": query.text}[kind]))
        return found


def fill(database: Database, corpus: Corpus) -> None:
    dialect = database.engine.dialect.name
    now = clock.now()
    with database.transaction() as session:
        users.ensure_groups(session)
        session.execute(insert(_users), [{"username": u, "display_name": name, "password_hash": "-", "locale": "zh_CN",
                                          "is_active": True, "created_at": now} for u, name in corpus.requesters])
        session.execute(insert(_definitions), {"id": 1, "process_id": "service_desk", "version": 1, "name": "服务台",
                                               "sources": [], "sha256": "bench", "deployed_at": now})
    for begin in range(0, len(corpus.rows), 2000):
        chunk = corpus.rows[begin:begin + 2000]
        searches = []
        for row in chunk:
            fields = request_search.fields_of(
                {"description": row["description"], "system": row["system"], "organisation": row["organisation"]},
                title=row["title"], requester=row["username"], requester_name=row["name"],
                customer=row["organisation"], number=row["number"])
            searches.append({"instance_id": row["id"], **request_search.search_row(fields, dialect)})
        with database.transaction() as session:
            session.execute(insert(_instances), [
                {"id": r["id"], "definition_id": 1, "process_id": "service_desk", "status": "running",
                 "title": r["title"], "number": r["number"], "started_by": r["username"], "started_at": r["started_at"],
                 "workflow_state": "", "lock_version": 1, "last_event_seq": 1, "last_event_hash": ""} for r in chunk])
            session.execute(insert(_cases), [
                {"instance_id": r["id"], "opened_at": r["started_at"], "customer": r["organisation"],
                 "process_id": "service_desk", "chase_count": 0, "is_complaint": False, "paused_seconds": 0,
                 "resolve_attempts": 0, "reopen_count": 0} for r in chunk])
            session.execute(insert(_tasks), [
                {"instance_id": r["id"], "spiff_task_id": f"{r['id']:036d}", "element_id": "work", "name": "处理",
                 "candidate_group": r["group"], "state": "ready", "created_at": r["started_at"]} for r in chunk])
            document = func.cast(bindparam("document"), TSVECTOR) if dialect == "postgresql" else bindparam("document")
            session.execute(insert(_search).values(
                instance_id=bindparam("instance_id"), fields=bindparam("fields", type_=JSON()),
                text=bindparam("text"), words=bindparam("words"), document=document), searches)
    with database.transaction() as session:
        session.execute(text("ANALYZE"))


def _timed(run: Callable[[], object], times: list[float]) -> None:
    began = time.perf_counter()
    run()
    times.append((time.perf_counter() - began) * 1000)


def _stats(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95)]


def trigram_baseline(database: Database, corpus: Corpus) -> tuple[float, float] | None:
    """PostgreSQL only: the LIKE baseline again with a pg_trgm GIN index on the text (the other index the issue
    named); None where the extension is missing."""
    try:
        with database.transaction() as session:
            session.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            session.execute(text("CREATE INDEX bench_request_text_trgm ON request_search "
                                 "USING gin (text gin_trgm_ops)"))
            session.execute(text("CREATE INDEX bench_instance_title_trgm ON process_instance "
                                 "USING gin (title gin_trgm_ops)"))
            session.execute(text("ANALYZE"))
    except Exception as error:  # a benchmark without the extension still reports the rest
        print(f"pg_trgm not measured: {error}", file=sys.stderr)
        return None
    times: list[float] = []
    for kind, query in corpus.queries:
        if kind in ("requester", "organisation", "words"):
            def run(query: str = query) -> None:
                with database.transaction() as session:
                    request_search.like_search(session, actor=DESK, text=query)
            _timed(run, times)
    return _stats(times)


def measure(database: Database, corpus: Corpus) -> dict[str, Any]:
    """p50/p95 of each search as a page runs it (its own transaction), per agent; and of the LIKE baseline."""
    def search(actor: users.Actor, query: str) -> int:
        with database.transaction() as session:
            return len(request_search.search(session, actor=actor, text=query).rows)

    def like(actor: users.Actor, query: str) -> int:
        with database.transaction() as session:
            return len(request_search.like_search(session, actor=actor, text=query))

    for _kind, query in corpus.queries[:40]:  # warm up (jieba's dictionary, caches)
        search(DESK, query)
        like(DESK, query)
    found: dict[str, Any] = {}
    for actor in (DESK, ENGINEER):
        times: list[float] = []
        by_kind: dict[str, list[float]] = {}
        hits = 0
        for kind, query in corpus.queries:
            before = len(times)
            _timed(lambda actor=actor, query=query: search(actor, query), times)
            by_kind.setdefault(kind, []).append(times[before])
            hits += search(actor, query) > 0 if kind == "number" else 0
        baseline: list[float] = []
        for kind, query in corpus.queries:
            if kind in ("requester", "organisation", "words"):
                _timed(lambda actor=actor, query=query: like(actor, query), baseline)
        found[actor.username] = {"search": _stats(times), "like": _stats(baseline),
                                 "by_kind": {k: _stats(v) for k, v in by_kind.items()}, "numbers_found": hits}
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--url", help="an empty PostgreSQL database; default: a private server")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    corpus = Corpus(args.requests)
    print(f"{len(corpus.rows)} requests, {len(corpus.queries)} searches made in {time.perf_counter() - began:.1f} s",
          file=sys.stderr)
    worst = (0.0, 0.0)
    postgres = postgres_database(args.url, args.no_postgres, "opsflow_bench_search")
    with tempfile.TemporaryDirectory() as tmp, postgres as pg_url:
        for name, url in (("sqlite", f"sqlite:///{Path(tmp) / 'search.db'}"), ("postgresql", pg_url)):
            if url is None:
                continue
            schema.upgrade(url)
            database = Database(url)
            began = time.perf_counter()
            fill(database, corpus)
            print(f"{name}: filled in {time.perf_counter() - began:.1f} s", file=sys.stderr)
            results = measure(database, corpus)
            trigram = trigram_baseline(database, corpus) if name == "postgresql" else None
            database.dispose()
            if trigram is not None:
                print(f"{name} service_desk: LIKE with a pg_trgm GIN index p50_ms={trigram[0]:.1f} "
                      f"p95_ms={trigram[1]:.1f}")
            for agent, r in results.items():
                (p50, p95), (like50, like95) = r["search"], r["like"]
                kinds = " ".join(f"{k}={v[0]:.1f}/{v[1]:.1f}" for k, v in r["by_kind"].items())
                print(f"{name} {agent}: search p50_ms={p50:.1f} p95_ms={p95:.1f} | LIKE baseline p50_ms={like50:.1f} "
                      f"p95_ms={like95:.1f} | ratio p50 {like50 / p50:.1f}x p95 {like95 / p95:.1f}x | "
                      f"by kind p50/p95 ms: {kinds} | numbers found {r['numbers_found']}/{len(corpus.queries) // 5}")
                worst = (max(worst[0], p50), max(worst[1], p95))
    print(f"RESULT requests={len(corpus.rows)} p50_ms={worst[0]:.1f} p95_ms={worst[1]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
