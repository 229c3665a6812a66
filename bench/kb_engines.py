"""Which Chinese full-text search for the knowledge base: the measurement behind the choice (see docs/knowledge.md).

Four candidates over the same generated solutions and labelled searches (bench/kb_corpus.py):
jieba tokens in an SQLite FTS5 table (bm25), jieba tokens in a PostgreSQL tsvector ('simple' configuration,
GIN, ts_rank), SQLite FTS5's trigram tokenizer, and PostgreSQL pg_trgm (word similarity, GIN).

Run: .venv/bin/python -m bench.kb_engines [--solutions N] [--queries N]   (starts its own PostgreSQL)
Prints one line per candidate: p50/p95 ms, recall@10, and the share of searches that found nothing.
"""
from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import psycopg

from bench import kb_corpus
from engine.desk import knowledge_search

_HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
_LATIN = re.compile(r"[A-Za-z0-9]+")


def _tokens(text: str, mode: str) -> list[str]:
    """jieba's words (what opsflow uses), character bigrams of Chinese runs plus Latin words, or both."""
    found = knowledge_search.tokens(text) if mode != "bigram" else [w.lower() for w in _LATIN.findall(text)]
    if mode != "jieba":
        found += ["b" + run[i:i + 2] for run in _HAN.findall(text) for i in range(len(run) - 1)]
    return found


def _document(item: kb_corpus.GeneratedSolution) -> str:
    return " ".join((item.title, item.system, item.symptom, item.cause, item.fix))


def _measure(name: str, search: Callable[[str], list[int]], queries: list[kb_corpus.Query]) -> None:
    times, recalls, empty = [], [], 0
    for query in queries:
        begin = time.perf_counter()
        found = search(query.text)
        times.append((time.perf_counter() - begin) * 1000)
        recalls.append(kb_corpus.recall_at(found, query.answers))
        empty += not found
    times.sort()
    print(f"{name:<34} p50_ms={statistics.median(times):7.1f} p95_ms={times[int(len(times) * 0.95)]:7.1f} "
          f"recall_at_10={statistics.fmean(recalls):.3f} nothing_found={empty / len(queries):.2f}", flush=True)


def _token_fts5(items: list[kb_corpus.GeneratedSolution], path: Path, mode: str) -> Callable[[str], list[int]]:
    connection = sqlite3.connect(path)
    connection.execute("CREATE VIRTUAL TABLE doc USING fts5(tokens, tokenize='unicode61')")
    connection.executemany("INSERT INTO doc(rowid, tokens) VALUES (?, ?)",
                           ((n, " ".join(_tokens(_document(item), mode))) for n, item in enumerate(items)))
    connection.commit()

    def search(text: str) -> list[int]:
        terms = list(dict.fromkeys(_tokens(text, mode)))
        if not terms:
            return []
        match = " OR ".join(f'"{term}"' for term in terms)
        return [row[0] for row in connection.execute(
            "SELECT rowid FROM doc WHERE doc MATCH ? ORDER BY bm25(doc) LIMIT 10", (match,))]
    return search


def _trigram_fts5(items: list[kb_corpus.GeneratedSolution], path: Path) -> Callable[[str], list[int]]:
    connection = sqlite3.connect(path)
    connection.execute("CREATE VIRTUAL TABLE doc USING fts5(body, tokenize='trigram')")
    connection.executemany("INSERT INTO doc(rowid, body) VALUES (?, ?)",
                           ((n, _document(item)) for n, item in enumerate(items)))
    connection.commit()

    def search(text: str) -> list[int]:
        grams = sorted({piece[i:i + 3] for piece in text.split() for i in range(max(0, len(piece) - 2))})
        if not grams:  # the trigram tokenizer cannot match anything shorter than three characters
            return []
        match = " OR ".join('"' + gram.replace('"', '""') + '"' for gram in grams)
        return [row[0] for row in connection.execute(
            "SELECT rowid FROM doc WHERE doc MATCH ? ORDER BY bm25(doc) LIMIT 10", (match,))]
    return search


def _postgres(url: str, items: list[kb_corpus.GeneratedSolution], *, trigram: bool,
              mode: str = "jieba") -> Callable[[str], list[int]]:
    connection = psycopg.connect(url, autocommit=True)
    if trigram:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        connection.execute("CREATE TABLE doc (id int PRIMARY KEY, body text)")
        with connection.cursor().copy("COPY doc (id, body) FROM STDIN") as copy:
            for n, item in enumerate(items):
                copy.write_row((n, _document(item)))
        connection.execute("CREATE INDEX ON doc USING gin (body gin_trgm_ops)")
    else:
        connection.execute("CREATE TABLE doc (id int PRIMARY KEY, document tsvector)")
        with connection.cursor().copy("COPY doc (id, document) FROM STDIN") as copy:
            for n, item in enumerate(items):
                copy.write_row((n, " ".join(f"'{t}'" for t in _tokens(_document(item), mode))))
        connection.execute("CREATE INDEX ON doc USING gin (document)")
    connection.execute("ANALYZE doc")

    def search(text: str) -> list[int]:
        if trigram:
            rows = connection.execute("SELECT id FROM doc WHERE %s <%% body ORDER BY word_similarity(%s, body) DESC "
                                      "LIMIT 10", (text, text))
            return [row[0] for row in rows]
        terms = list(dict.fromkeys(_tokens(text, mode)))
        if not terms:
            return []
        query = " | ".join("'" + term.replace("'", "''") + "'" for term in terms)
        rows = connection.execute("SELECT id FROM doc, to_tsquery('simple', %s) q WHERE document @@ q "
                                  "ORDER BY ts_rank(document, q) DESC LIMIT 10", (query,))
        return [row[0] for row in rows]
    return search


def main(argv: Iterable[str] | None = None) -> int:
    from tests.support.pg import start_postgres

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solutions", type=int, default=30_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--modes", default="jieba,jieba+bigram,bigram", help="token schemes to compare")
    args = parser.parse_args(list(argv) if argv is not None else None)
    items = kb_corpus.solutions(args.solutions)
    queries = kb_corpus.queries(items, args.queries)
    print(f"{len(items)} solutions, {len(queries)} searches", flush=True)
    with tempfile.TemporaryDirectory() as tmp, start_postgres() as pg:
        for mode in args.modes.split(","):
            _measure(f"sqlite fts5 + {mode} tokens (bm25)", _token_fts5(items, Path(tmp) / f"{mode}.db", mode), queries)
        _measure("sqlite fts5 trigram (bm25)", _trigram_fts5(items, Path(tmp) / "trigram.db"), queries)
        to_driver = lambda url: url.replace("postgresql+psycopg://", "postgresql://")  # noqa: E731
        for n, mode in enumerate(args.modes.split(",")):
            database = to_driver(pg.create_database(f"kb_tokens_{n}"))
            _measure(f"postgresql tsvector + {mode} tokens", _postgres(database, items, trigram=False, mode=mode),
                     queries)
        _measure("postgresql pg_trgm word_similarity", _postgres(to_driver(pg.create_database("kb_trgm")), items,
                                                                  trigram=True), queries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
