"""Knowledge-base search benchmark: 100 000 solutions, 1 000 real-looking Chinese searches with known answers,
through engine.desk.knowledge.search on SQLite and on PostgreSQL.

The solutions are written as rows (solution + solution_search, the words computed once by the engine's own
search_row); writing 100 000 through create_solution would measure jieba, not the search. Each search runs in
its own transaction as a page would, as an engineer (every status but retired).

Run: .venv/bin/python -m bench.kb [--solutions N] [--queries N] [--url postgresql+psycopg://…]
     (without --url it starts its own PostgreSQL, as the tests do; --no-postgres skips it)
Last line: RESULT solutions=… p50_ms=… p95_ms=… recall_at_10=… (the worse database; both are printed above)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, text
from sqlalchemy.dialects.postgresql import TSVECTOR

from bench import kb_corpus, postgres_database
from engine import clock, users
from engine.desk import knowledge
from engine.store import schema
from engine.store.db import Database
from engine.store.knowledge_models import Solution, SolutionSearch

_solutions = cast(Table, Solution.__table__)
_search = cast(Table, SolutionSearch.__table__)
ENGINEER = users.Actor("engineer", frozenset({"engineer"}))


def words(items: list[kb_corpus.GeneratedSolution]) -> list[dict[str, Any]]:
    """Search rows for both databases (the PostgreSQL document too), computed once."""
    return [knowledge.search_row(item, "postgresql") for item in items]


def fill(database: Database, items: list[kb_corpus.GeneratedSolution], rows: list[dict[str, Any]]) -> None:
    """Solution n of the corpus becomes solution id n + 1, approved."""
    dialect = database.engine.dialect.name
    now = clock.now()
    batch = 5000
    for start in range(0, len(items), batch):
        solutions, searches = [], []
        for n in range(start, min(start + batch, len(items))):
            item, row = items[n], rows[n]
            solutions.append({"id": n + 1, "title": item.title, "symptom": item.symptom, "cause": item.cause,
                              "fix": item.fix, "kind": "solution", "system": item.system,
                              "device_type": item.device_type, "category": item.category, "status": "approved",
                              "version": 1, "author": "engineer", "created_at": now, "updated_at": now,
                              "approved_at": now})
            searches.append({"solution_id": n + 1, "title_words": row["title_words"], "body_words": row["body_words"],
                             "document": row["document"] if dialect == "postgresql" else None})
        with database.transaction() as session:
            session.execute(insert(_solutions), solutions)
            if dialect == "postgresql":
                session.execute(insert(_search).values(
                    solution_id=bindparam("solution_id"), title_words=bindparam("title_words"),
                    body_words=bindparam("body_words"), document=func.cast(bindparam("document"), TSVECTOR)),
                    searches)
            else:
                session.execute(insert(_search), searches)
    with database.transaction() as session:
        session.execute(text("ANALYZE"))


def measure(database: Database, queries: list[kb_corpus.Query]) -> dict[str, float]:
    """Warm up with 50 searches, then time each of `queries` and score its first ten results."""
    def search(query_text: str) -> list[int]:
        with database.transaction() as session:
            return [hit.id - 1 for hit in knowledge.search(session, actor=ENGINEER, text=query_text).hits]

    for query in queries[:50]:
        search(query.text)
    times, recalls = [], []
    for query in queries:
        began = time.perf_counter()
        found = search(query.text)
        times.append((time.perf_counter() - began) * 1000)
        recalls.append(kb_corpus.recall_at(found, query.answers))
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(len(times) * 0.95)],
            "recall_at_10": statistics.fmean(recalls)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solutions", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--url", help="an empty PostgreSQL database; default: a private server")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    items = kb_corpus.solutions(args.solutions)
    queries = kb_corpus.queries(items, args.queries)
    began = time.perf_counter()
    rows = words(items)
    print(f"{len(items)} solutions split into words in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    results = {}
    postgres = postgres_database(args.url, args.no_postgres, "opsflow_bench_kb")
    with tempfile.TemporaryDirectory() as tmp, postgres as pg_url:
        for name, url in (("sqlite", f"sqlite:///{Path(tmp) / 'kb.db'}"), ("postgresql", pg_url)):
            if url is None:
                continue
            schema.upgrade(url)
            database = Database(url)
            began = time.perf_counter()
            fill(database, items, rows)
            print(f"{name}: filled in {time.perf_counter() - began:.0f} s", file=sys.stderr)
            results[name] = measure(database, queries)
            database.dispose()
            print(f"{name}: solutions={len(items)} " + " ".join(f"{k}={v:.3f}" if k == "recall_at_10" else
                                                                 f"{k}={v:.1f}" for k, v in results[name].items()))
    worst = {"p50_ms": max(r["p50_ms"] for r in results.values()),
             "p95_ms": max(r["p95_ms"] for r in results.values()),
             "recall_at_10": min(r["recall_at_10"] for r in results.values())}
    print(f"RESULT solutions={len(items)} p50_ms={worst['p50_ms']:.1f} p95_ms={worst['p95_ms']:.1f} "
          f"recall_at_10={worst['recall_at_10']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
