"""The agents' search box (issue 15): one query finds requests by number (whole or its start), title,
requester (username or name), organisation (the customer) and text (the description and the other text
fields of the request; comments once they exist, see TEXT_SOURCES).

Each request's text fields are kept in request_search, cut into words by the knowledge base's tokenizer
(engine.desk.knowledge_search: jieba, since neither database splits Chinese into words); SQLite indexes the
words with FTS5 (bm25 ranking), PostgreSQL as a tsvector with a GIN index (ts_rank). bench/search.py
measured both against a plain LIKE scan. The words are written when a request starts and again when a form
changes one of its text fields, in the change's transaction.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, column, func, insert, literal_column, select, table, update
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import Session

from engine import access, clock
from engine.desk import knowledge, knowledge_search, numbers, request_list
from engine.process import hooks
from engine.store.models import ProcessInstance, ServiceCase, User
from engine.store.search_models import SQLITE_REQUEST_SEARCH_TABLE, RequestSearch
from engine.users import Actor

_search = cast(Table, RequestSearch.__table__)
_instances = cast(Table, ProcessInstance.__table__)
_cases = cast(Table, ServiceCase.__table__)
_users = cast(Table, User.__table__)

# The form fields searched as the request's text (fields_of adds the request's own facts beside them).
TEXT_FIELDS = ("title", "description", "system", "organisation", "requester_name", "category", "symptom")
# The plain text, in the order a snippet reads best (the number is shown apart, and found by its column).
_TEXT_ORDER = ("title", "description", "symptom", "system", "category", "organisation", "customer",
               "requester_name", "requester_name_of_user", "requester")
MAX_FIELD = 4000  # characters of one field that are indexed (a pasted log says nothing more after that)

# More text of a request to search, by instance id: a receiver per source. The request_comment table (not
# there yet) adds its comments here and calls reindex() when one is written.
TEXT_SOURCES: list[Callable[[Session, int], str]] = []


def fields_of(data: dict[str, Any], *, title: str | None = None, requester: str | None = None,
              requester_name: str | None = None, customer: str | None = None,
              number: str | None = None) -> dict[str, str]:
    """The searched fields of a request from a form's data and the request's facts (empty ones left out)."""
    found = {name: str(data[name])[:MAX_FIELD] for name in TEXT_FIELDS
             if isinstance(data.get(name), str) and data[name]}
    facts = {"title": title, "number": number, "requester": requester, "requester_name_of_user": requester_name,
             "customer": customer}
    found.update({name: value[:MAX_FIELD] for name, value in facts.items() if value})
    return found


def search_row(fields: dict[str, str], dialect: str, *, more: str = "") -> dict[str, Any]:
    """request_search's values for these fields: the words, and on PostgreSQL the tsvector in its input syntax."""
    words = [word for name in sorted(fields) if name != "number"
             for word in knowledge_search.tokens(fields[name])] + knowledge_search.tokens(more)
    text = "\n".join(fields[name] for name in _TEXT_ORDER if fields.get(name))
    return {"fields": fields, "text": (text + "\n" + more).strip(), "words": " ".join(words),
            "document": _tsvector(words) if dialect == "postgresql" else None}


def _tsvector(words: list[str]) -> str:
    positions: dict[str, list[str]] = {}
    for n, word in enumerate(words, 1):
        positions.setdefault(word, []).append(str(min(n, 16383)))
    return " ".join(f"{_quoted(word)}:{','.join(at[:256])}" for word, at in positions.items())


def _quoted(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def write(session: Session, instance_id: int, fields: dict[str, str], *, new: bool = False) -> None:
    """Set the request's search row to these fields' words (`new`: a request just started, which has none)."""
    dialect = session.get_bind().dialect.name
    more = " ".join(source(session, instance_id) for source in TEXT_SOURCES)
    row = search_row(fields, dialect, more=more)
    document = func.cast(bindparam("document", row["document"]), TSVECTOR) if dialect == "postgresql" else None
    values = {"fields": row["fields"], "text": row["text"], "words": row["words"], "document": document}
    if not new and session.connection().execute(update(_search).where(_search.c.instance_id == instance_id)
                                   .values(**values)).rowcount == 1:
        return  # SQLite's FTS5 table follows by its update trigger
    session.execute(insert(_search).values(instance_id=instance_id, **values))


def reindex(session: Session, instance_id: int, **changed: str) -> None:
    """Write the request's words again with some fields changed (or only the TEXT_SOURCES' text)."""
    fields = session.scalar(select(_search.c.fields).where(_search.c.instance_id == instance_id)) or {}
    write(session, instance_id, {**fields, **{k: v for k, v in changed.items() if v}})


# --- receivers (engine.desk.install) ----------------------------------------------------------------

def note_start(start: hooks.Start) -> None:
    """instance_started: the request's text fields, written with the instance (index_saved)."""
    start.instance.pending["request_search"] = dict(start.data)


def note_completion(completion: hooks.Completion) -> None:
    """task_completed: a form that changes a searched field (a corrected title, description …)."""
    changed = {name: value for name, value in completion.data.items()
               if name in TEXT_FIELDS and isinstance(value, str) and value}
    if changed:
        completion.instance.pending.setdefault("request_search", {}).update(changed)


def index_saved(saved: hooks.Moment) -> None:
    """instance_saved: write the words noted in this change (after the case row, which names the customer)."""
    instance = saved.instance
    data = instance.pending.pop("request_search", None)
    if data is None:
        return
    session = saved.session
    number = instance.pending.pop("request_number", None)
    if number is not None:  # the start: the request's facts too
        customer = select(_cases.c.customer).where(_cases.c.instance_id == instance.id).scalar_subquery()
        name = select(_users.c.display_name).where(_users.c.username == instance.started_by).scalar_subquery()
        facts = session.execute(select(name.label("name"), customer.label("customer"))).one()
        write(session, instance.id, fields_of(data, title=instance.title, requester=instance.started_by,
                                              requester_name=facts.name, customer=facts.customer, number=number),
              new=True)
    else:
        reindex(session, instance.id, **fields_of(data, title=instance.title))


# --- the search -------------------------------------------------------------------------------------

@dataclass
class SearchResult:
    rows: list[request_list.RequestRow]
    terms: list[str]
    has_more: bool
    exact: request_list.RequestRow | None  # the request whose number was typed in full
    page: int


def search(session: Session, *, actor: Actor, text: str, page: int = 1, page_size: int = 20,
           filters: dict[str, Any] | None = None, now: dt.datetime | None = None) -> SearchResult:
    """Requests the agent may see matching `text`, best first: a number typed in full or in part finds by
    number (newest first); other text by words, all of them in any searched field (requester, organisation,
    title, description …), ranked by bm25 on SQLite and ts_rank on PostgreSQL. `filters` are the
    all-requests list's (engine.desk.request_list.conditions)."""
    access.require_search_requests(actor)
    text = text.replace("\x00", "").strip()[:200]
    at = now or clock.now()
    visible = and_(access.found_requests(actor), *request_list.conditions(filters or {}, at))
    limit, offset = page_size + 1, (page - 1) * page_size
    terms: list[str] = []
    if not text:
        ids: list[int] = []
    elif numbers.is_number_prefix(text):
        number = numbers.normalised(text)
        # A whole number down the unique index; the start of one with LIKE, which (unlike a range up to some
        # highest character) means the same under every collation: PostgreSQL's locale ones ignore the hyphens.
        matching = (_instances.c.number == number if numbers.is_number(number)
                    else _instances.c.number.startswith(number, autoescape=True))
        ids = list(session.scalars(
            select(_instances.c.id).select_from(request_list.CASES_FROM).where(matching, visible)
            .order_by(_instances.c.number.desc()).limit(limit).offset(offset)))
        terms = [number]
    else:
        terms = knowledge_search.query_terms(text)
        ids = _ranked(session, terms, visible, limit, offset) if terms else []
    has_more = len(ids) > page_size
    rows = request_list.rows(session, ids[:page_size], now=at)
    if rows and terms and not numbers.is_number_prefix(text):
        _add_snippets(session, rows, terms)
    exact = rows[0] if len(rows) == 1 and page == 1 and rows[0].number == numbers.normalised(text) else None
    return SearchResult(rows, terms, has_more, exact, page)


def _add_snippets(session: Session, rows: list[request_list.RequestRow], terms: list[str]) -> None:
    """Where the words were found: about 90 characters of the request's text around the first of them."""
    texts = {instance_id: text for instance_id, text in session.execute(
        select(_search.c.instance_id, _search.c.text).where(_search.c.instance_id.in_([row.id for row in rows])))}
    for row in rows:
        row.snippet = knowledge.highlight(knowledge.snippet(texts.get(row.id, "").replace("\n", " · "), terms), terms)


def _ranked(session: Session, terms: list[str], visible: Any, limit: int, offset: int) -> list[int]:
    if session.get_bind().dialect.name == "postgresql":
        query = func.cast(bindparam("query", " & ".join(_quoted(term) for term in terms)), TSQUERY)
        statement = (select(_search.c.instance_id)
                     .join(request_list.CASES_FROM, _instances.c.id == _search.c.instance_id)
                     .where(_search.c.document.op("@@")(query), visible)
                     .order_by(func.ts_rank(_search.c.document, query).desc(), _search.c.instance_id.desc()))
    else:
        fts = table(SQLITE_REQUEST_SEARCH_TABLE, column("rowid"))
        whole: Any = literal_column(SQLITE_REQUEST_SEARCH_TABLE)
        match = " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)
        statement = (select(fts.c.rowid).join(request_list.CASES_FROM, _instances.c.id == fts.c.rowid)
                     .where(whole.op("MATCH")(bindparam("match", match)), visible)
                     .order_by(func.bm25(whole), fts.c.rowid.desc()))
    return list(session.scalars(statement.limit(limit).offset(offset)))


def like_search(session: Session, *, actor: Actor, text: str, limit: int = 20) -> list[int]:
    """The baseline bench/search.py compares with: a LIKE scan of the title and the stored text fields."""
    pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(session.scalars(
        select(_instances.c.id).join(_search, _search.c.instance_id == _instances.c.id)
        .where((_instances.c.title.like(pattern, escape="\\") | _search.c.text.like(pattern, escape="\\")),
               access.found_requests(actor))
        .order_by(_instances.c.id.desc()).limit(limit)))
