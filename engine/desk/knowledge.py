"""The knowledge base (seed 003 第2篇): solutions written while working, reviewed by the 技术负责人 through
the `knowledge_review` process, found by Chinese full-text search, and linked one per incident.

An incident may close only once it links an approved solution or a manager recorded that there is no
reusable one (`check_closure`, called before a closing step runs). Review steps are ordinary user tasks
of the review instance, so they are in its history like any other step; `before_complete` applies their
outcome to the solution in the same transaction.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, column, delete, func, insert, literal_column, select, table, update
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

import forms
from engine import access, clock
from engine.desk import knowledge_search
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.process import history, hooks, runtime
from engine.store.knowledge_models import (
    SQLITE_SEARCH_TABLE,
    IncidentSolution,
    Solution,
    SolutionSearch,
    SolutionVersion,
)
from engine.store.models import HistoryEvent, ProcessInstance, TaskRecord
from engine.users import Actor

REVIEW_PROCESS = "knowledge_review"
REVIEW_FORM = "solution_review"
REVISE_FORM = "solution_revise"
EDIT_FORM = "solution"
PROBLEM_REPLY_FORM = "problem_reply"
STATUSES = ("draft", "in_review", "approved", "retired")
KINDS = tuple(choice.value for choice in forms.get_form(EDIT_FORM).field("kind").choices)
# The steps that close an incident (seed 003: the user verified it, so it ends): 满意度回访 leads to 服务结束
# in 服务台 unless a problem remains, and always in 第三方服务. Keyed by (process, element).
CLOSING_STEPS: dict[tuple[str, str], str] = {
    ("service_desk", "satisfaction"): "unless_remaining_problem",
    ("third_party", "satisfaction"): "always",
}
# Steps where the engineer resolves (or the service desk answers a question itself) and the task page offers
# search, link and "write new".
RESOLUTION_FORMS = frozenset({"resolution", "onsite_resolution", "first_line_answer"})
REVIEWERS = "tech_lead"
# Requesters (the portal) see approved solutions only; people who work cases see everything not retired.
_PUBLIC = ("approved",)
_WORKING = ("draft", "in_review", "approved")

_solutions = cast(Table, Solution.__table__)
_search = cast(Table, SolutionSearch.__table__)
_links = cast(Table, IncidentSolution.__table__)
_instances = cast(Table, ProcessInstance.__table__)
_events = cast(Table, HistoryEvent.__table__)
_tasks = cast(Table, TaskRecord.__table__)


def _get(session: Session, solution_id: int, *, for_update: bool = False) -> Solution:
    query = select(Solution).where(Solution.id == solution_id)
    if for_update:
        query = query.with_for_update()
    solution = session.scalars(query).one_or_none()
    if solution is None:
        raise NotFound(f"solution {solution_id} does not exist")
    return solution


def _validate(data: dict[str, Any], locale: str) -> dict[str, Any]:
    try:
        return forms.get_form(EDIT_FORM).validate(data, locale=locale)
    except forms.FormValidationError as exc:
        raise InvalidInput("the solution has errors", field_errors=exc.errors) from None


# ------------------------------------------------------------------------------------------- writing

def create_solution(session: Session, *, data: dict[str, Any], actor: Actor, incident_id: int | None = None,
                    locale: str = "en") -> Solution:
    """A new draft by `actor`; linked to the incident it was written for, if any."""
    access.require_write_knowledge(actor)
    cleaned = _validate(data, locale)
    now = clock.now()
    solution = Solution(**_content(cleaned), status="draft", version=1, author=actor.username, created_at=now,
                        updated_at=now)
    session.add(solution)
    session.flush()
    _reindex(session, solution)
    if incident_id is not None:
        link_solution(session, instance_id=incident_id, solution_id=solution.id, actor=actor)
    return solution


def _content(cleaned: dict[str, Any]) -> dict[str, Any]:
    return {"title": cleaned["title"], "kind": cleaned["kind"], "system": cleaned.get("system") or None,
            "device_type": cleaned.get("device_type") or None, "category": cleaned.get("category") or None,
            "symptom": cleaned["symptom"], "cause": cleaned.get("cause") or "", "fix": cleaned["fix"]}


def may_edit(solution: Solution, actor: Actor) -> bool:
    """The author edits a draft or starts a new version of an approved solution; so may a 技术负责人."""
    if actor.is_auditor or solution.status in ("in_review", "retired"):
        return False
    return solution.author == actor.username or REVIEWERS in actor.groups


def update_solution(session: Session, *, solution_id: int, data: dict[str, Any], actor: Actor,
                    locale: str = "en") -> Solution:
    """Change a draft in place; changing an approved solution starts its next version (the approved text is
    kept in solution_version), which is reviewed again before it is published."""
    solution = _get(session, solution_id, for_update=True)
    if solution.status == "in_review":
        raise Conflict(f"solution {solution_id} is being reviewed; it can be changed once the 技术负责人 decided")
    if solution.status == "retired":
        raise Conflict(f"solution {solution_id} is retired and can no longer be changed")
    if not may_edit(solution, actor):
        raise Forbidden(f"only the author ({solution.author}) or a 技术负责人 may change solution {solution_id}")
    cleaned = _validate(data, locale)
    if solution.status == "approved":
        _keep_version(session, solution)
        solution.version += 1
        solution.status = "draft"
        solution.review_outcome = solution.review_comment = solution.reviewer = None
        solution.review_instance_id = None
    for name, value in _content(cleaned).items():
        setattr(solution, name, value)
    solution.updated_at = clock.now()
    session.flush()
    _reindex(session, solution)
    return solution


_VERSIONED = ("title", "symptom", "cause", "fix", "kind", "system", "device_type", "category", "status", "author",
              "reviewer", "approved_at")


def _keep_version(session: Session, solution: Solution) -> None:
    session.add(SolutionVersion(solution_id=solution.id, version=solution.version, saved_at=clock.now(),
                                **{name: getattr(solution, name) for name in _VERSIONED}))


def submit_for_review(session: Session, *, solution_id: int, actor: Actor) -> runtime.InstanceRef:
    """Start the solution's review (a `knowledge_review` instance; the 技术负责人 gets the task)."""
    solution = _get(session, solution_id, for_update=True)
    if solution.author != actor.username and REVIEWERS not in actor.groups:
        raise Forbidden(f"only the author ({solution.author}) may submit solution {solution_id}")
    if solution.status != "draft":
        raise Conflict(f"solution {solution_id} is {solution.status}; only drafts are submitted for review")
    if _waiting_revision(session, solution) is not None:
        raise Conflict(f"solution {solution_id} was sent back: complete its revision step to return it to review")
    started = runtime.start_instance(session, process_id=REVIEW_PROCESS, actor=actor, data={
        "solution_id": solution.id, "version": solution.version, "title": solution.title})
    solution.status = "in_review"
    solution.review_instance_id = started.id
    solution.review_outcome = solution.review_comment = None
    solution.updated_at = clock.now()
    session.flush()
    return started


def _waiting_revision(session: Session, solution: Solution) -> int | None:
    """The open 修改解决方案 task of the solution's review, if the 技术负责人 sent it back."""
    if solution.review_instance_id is None:
        return None
    return session.scalar(select(_tasks.c.id).where(_tasks.c.instance_id == solution.review_instance_id,
                                                    _tasks.c.form_key == REVISE_FORM, _tasks.c.state == "ready"))


def open_review_task(session: Session, solution: Solution) -> int | None:
    """The open step of the solution's review (审核 for the 技术负责人, 修改 for the author), if any."""
    if solution.review_instance_id is None:
        return None
    return session.scalar(select(_tasks.c.id).where(_tasks.c.instance_id == solution.review_instance_id,
                                                    _tasks.c.state == "ready").order_by(_tasks.c.id))


def retire_solution(session: Session, *, solution_id: int, actor: Actor) -> Solution:
    """A 技术负责人 takes a solution out of use; incidents linked to it keep the link, new ones cannot use it."""
    if REVIEWERS not in actor.groups:
        raise Forbidden(f"only a 技术负责人 retires solutions; {actor.username} is not one")
    solution = _get(session, solution_id, for_update=True)
    if solution.status == "in_review":
        raise Conflict(f"solution {solution_id} is being reviewed; decide the review first")
    solution.status = "retired"
    solution.updated_at = clock.now()
    session.flush()
    return solution


# ------------------------------------------------------------------------- review steps and closure

def on_task_completing(completion: hooks.Completion) -> dict[str, Any]:
    """The task_completing receiver (engine.desk.install): the knowledge base's rules before a user task
    runs; it adds no engine data."""
    instance = completion.instance
    before_complete(completion.session, process_id=instance.process_id, instance_id=instance.id,
                    element_id=completion.task.task_spec.bpmn_id, form_key=completion.form_key,
                    data=completion.data, actor=completion.actor)
    return {}


def before_complete(session: Session, *, process_id: str, instance_id: int, element_id: str,
                    form_key: str | None, data: dict[str, Any], actor: Actor) -> None:
    """What the knowledge base does before a user task runs: closing steps are gated, review steps
    change their solution in the same transaction (a refusal undoes the whole completion)."""
    check_closure(session, process_id=process_id, instance_id=instance_id, element_id=element_id, data=data)
    if process_id == REVIEW_PROCESS and form_key == REVIEW_FORM:
        _apply_review(session, instance_id, data, actor)
    elif process_id == REVIEW_PROCESS and form_key == REVISE_FORM:
        _return_to_review(session, instance_id, actor)
    elif form_key == PROBLEM_REPLY_FORM and data.get("change_record") and access.may_write_knowledge(actor):
        _draft_from_change_record(session, instance_id, data, actor)


def _draft_from_change_record(session: Session, instance_id: int, data: dict[str, Any], actor: Actor) -> None:
    """Problem management's 变更记录 feeds the knowledge base: a draft change plan for its author to complete
    and submit (seed 003: change, test and technical plans are knowledge made in the change process)."""
    described = str(request_data(session, instance_id).get("description") or "")
    now = clock.now()
    solution = Solution(title=f"变更记录：{described[:60] or f'问题 {instance_id}'}", kind="change",
                        symptom=f"{described}（问题管理第 {instance_id} 号）", cause=data.get("root_cause") or "",
                        fix=data["change_record"], status="draft", version=1, author=actor.username,
                        created_at=now, updated_at=now)
    session.add(solution)
    session.flush()
    _reindex(session, solution)


def _record(session: Session, instance_id: int, kind: str, actor: Actor, payload: dict[str, Any]) -> None:
    """An event about a running case that leaves its workflow alone (a link, a manager's waiver), through
    the core: the instance version is bumped like any change, so racing changes conflict."""
    instance = runtime.load_instance(session, instance_id)
    if instance.status != "running":
        raise Conflict(f"request {instance_id} is already {instance.status}")
    runtime.record_events(session, instance=instance, actor=actor.username, events=[(kind, payload)])


def check_closure(session: Session, *, process_id: str, instance_id: int, element_id: str,
                  data: dict[str, Any]) -> None:
    """Refuse a step that would close an incident which neither links an approved solution nor has a
    manager's "no reusable solution" on record (seed 003: both conditions for closing)."""
    rule = CLOSING_STEPS.get((process_id, element_id))
    if rule is None or (rule == "unless_remaining_problem" and data.get("remaining_problem") is True):
        return
    state = closure_state(session, instance_id)
    if state["may_close"]:
        return
    linked = state["solution"]
    if linked is None:
        reason = "it links no knowledge-base solution"
    else:
        reason = f"its solution no. {linked['id']} ({linked['title']}) is {linked['status']}, not approved"
    # InvalidInput, not Conflict: nothing raced; the step is refused until the case meets the rule.
    raise InvalidInput(f"request {instance_id} cannot be closed yet: {reason}. Link an approved solution (or have "
                       "the 技术负责人 approve the linked one), or a manager records that there is no reusable "
                       "solution", process_id=process_id, element_id=element_id,
                       details={"knowledge": "closure_refused"})


def closure_state(session: Session, instance_id: int) -> dict[str, Any]:
    """The incident's solution (id, title, status), the manager's waiver if any, and whether it may close."""
    row = session.execute(select(_solutions.c.id, _solutions.c.title, _solutions.c.status, _links.c.linked_by,
                                 _links.c.linked_at)
                          .join(_links, _links.c.solution_id == _solutions.c.id)
                          .where(_links.c.instance_id == instance_id)).one_or_none()
    waiver = session.execute(select(_events.c.actor, _events.c.at, _events.c.payload)
                             .where(_events.c.instance_id == instance_id,
                                    _events.c.kind == history.NO_REUSABLE_SOLUTION)
                             .order_by(_events.c.seq.desc()).limit(1)).one_or_none()
    solution = dict(row._mapping) if row is not None else None
    return {"solution": solution,
            "waiver": {"actor": waiver.actor, "at": waiver.at, "reason": (waiver.payload or {}).get("reason")}
            if waiver is not None else None,
            "may_close": (solution is not None and solution["status"] == "approved") or waiver is not None}


def _review_target(session: Session, instance_id: int) -> Solution:
    solution = session.scalars(select(Solution).where(Solution.review_instance_id == instance_id)
                               .with_for_update()).one_or_none()
    if solution is None:
        raise Conflict(f"review {instance_id} belongs to no solution under review")
    return solution


def _apply_review(session: Session, instance_id: int, data: dict[str, Any], actor: Actor) -> None:
    decision, comment = data.get("decision"), (data.get("comment") or "").strip()
    if decision in ("send_back", "reject") and not comment:
        raise InvalidInput("say what to change or why the solution is rejected",
                           field_errors={"comment": ["required when sending back or rejecting"]})
    solution = _review_target(session, instance_id)
    if solution.author == actor.username:
        raise Forbidden(f"{actor.username} wrote solution {solution.id} and may not review it")
    now = clock.now()
    solution.reviewer = actor.username
    solution.review_outcome = decision
    solution.review_comment = comment or None
    solution.updated_at = now
    if decision == "approve":
        solution.status = "approved"
        solution.approved_at = now
    elif decision == "reject" and _restore_approved(session, solution):
        pass  # a rejected new version: the approved one before it is back in use
    else:
        solution.status = "draft"
    session.flush()
    _reindex(session, solution)


def _restore_approved(session: Session, solution: Solution) -> bool:
    """After a new version is rejected, bring back the last approved version (the rejected text is kept)."""
    previous = session.scalars(select(SolutionVersion).where(SolutionVersion.solution_id == solution.id,
                                                             SolutionVersion.status == "approved")
                               .order_by(SolutionVersion.version.desc()).limit(1)).one_or_none()
    if previous is None:
        return False
    outcome, comment, reviewer = solution.review_outcome, solution.review_comment, solution.reviewer
    _keep_version(session, solution)
    solution.version += 1
    for name in _VERSIONED:
        setattr(solution, name, getattr(previous, name))
    solution.review_outcome, solution.review_comment, solution.reviewer = outcome, comment, reviewer
    return True


def _return_to_review(session: Session, instance_id: int, actor: Actor) -> None:
    solution = _review_target(session, instance_id)
    solution.status = "in_review"
    solution.updated_at = clock.now()
    session.flush()


def review_solution(session: Session, *, task_id: int, decision: str, comment: str | None, actor: Actor,
                    locale: str = "en") -> runtime.InstanceRef:
    """The 技术负责人's decision on a review task (the same as completing the task on its page)."""
    return runtime.complete_task(session, task_id=task_id, actor=actor, locale=locale,
                                 data={"decision": decision, **({"comment": comment} if comment else {})})


# ---------------------------------------------------------------------------------- incident links

def link_solution(session: Session, *, instance_id: int, solution_id: int, actor: Actor) -> None:
    """Link the incident to a solution (replacing an earlier link); recorded in the incident's history."""
    access.require_write_knowledge(actor, "link solutions to requests")
    solution = _get(session, solution_id)
    if solution.status == "retired":
        raise Conflict(f"solution {solution_id} is retired; link a current one")
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"request {instance_id} does not exist")
    if instance.process_id == REVIEW_PROCESS:
        raise InvalidInput(f"instance {instance_id} is a solution review, not a request")
    previous = session.scalar(select(_links.c.solution_id).where(_links.c.instance_id == instance_id))
    if previous == solution_id:
        return
    _record(session, instance_id, history.SOLUTION_LINKED, actor,
            {"solution_id": solution_id, "title": solution.title, "status": solution.status,
             "previous_solution_id": previous})
    now = clock.now()
    if previous is None:
        session.execute(insert(_links).values(instance_id=instance_id, solution_id=solution_id,
                                              linked_by=actor.username, linked_at=now))
    else:
        session.execute(update(_links).where(_links.c.instance_id == instance_id)
                        .values(solution_id=solution_id, linked_by=actor.username, linked_at=now))


def mark_no_reusable_solution(session: Session, *, instance_id: int, reason: str, actor: Actor) -> None:
    """A manager records that this incident has no reusable solution, so it may close without one."""
    if not actor.is_manager:
        raise Forbidden(f"only managers may record that a request has no reusable solution; "
                        f"{actor.username} is not one")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("give the reason there is no reusable solution", field_errors={"reason": ["required"]})
    if len(reason) > 2000:
        raise InvalidInput("reason longer than 2000 characters", field_errors={"reason": ["at most 2000 characters"]})
    _record(session, instance_id, history.NO_REUSABLE_SOLUTION, actor, {"reason": reason})


# ------------------------------------------------------------------------------------------- search

def search_row(solution: Any, dialect: str) -> dict[str, Any]:
    """The solution_search row of a solution (or anything with its fields): its words, and on PostgreSQL the
    weighted tsvector in its input syntax (bench/kb.py writes rows in bulk with it)."""
    title = knowledge_search.tokens(" ".join(filter(None, (solution.title, solution.system))))
    body = knowledge_search.tokens(" ".join(filter(None, (solution.symptom, solution.cause, solution.fix,
                                                          solution.category))))
    return {"title_words": " ".join(title), "body_words": " ".join(body),
            "document": _tsvector(title, body) if dialect == "postgresql" else None}


def _reindex(session: Session, solution: Solution) -> None:
    """Write the solution's search words (both backends read solution_search; see the migration)."""
    dialect = session.get_bind().dialect.name
    row = search_row(solution, dialect)
    session.execute(delete(_search).where(_search.c.solution_id == solution.id))
    document = func.cast(bindparam("document", row["document"]), TSVECTOR) if dialect == "postgresql" else None
    session.execute(insert(_search).values(solution_id=solution.id, title_words=row["title_words"],
                                           body_words=row["body_words"], document=document))


def _tsvector(title: list[str], body: list[str]) -> str:
    """A tsvector in its input syntax — quoted lexemes with positions, title words weighted A — so PostgreSQL's
    own parser (which splits Chinese by locale) never sees the text."""
    positions: dict[str, list[str]] = {}
    for n, word in enumerate(title, 1):
        positions.setdefault(word, []).append(f"{min(n, 16383)}A")
    for n, word in enumerate(body, len(title) + 1):
        positions.setdefault(word, []).append(str(min(n, 16383)))
    return " ".join(f"{_quoted(word)}:{','.join(at[:256])}" for word, at in positions.items())


def _quoted(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass
class Hit:
    """One solution in a result list, with its title and a snippet split into (text, matched) pieces."""

    id: int
    title: str
    kind: str
    status: str
    system: str | None
    device_type: str | None
    category: str | None
    version: int
    author: str
    updated_at: dt.datetime
    title_marked: list[tuple[str, bool]] = field(default_factory=list)
    snippet: list[tuple[str, bool]] = field(default_factory=list)
    linked_incidents: int = 0


@dataclass
class SearchResult:
    hits: list[Hit]
    terms: list[str]
    has_more: bool
    statuses: tuple[str, ...]


def _visible(actor: Actor, status: str | None) -> tuple[str, ...]:
    if not access.may_use_inbox(actor):
        return _PUBLIC
    if status:
        return (status,)
    return _WORKING


def search(session: Session, *, actor: Actor, text: str = "", kind: str | None = None, system: str | None = None,
           device_type: str | None = None, category: str | None = None, status: str | None = None,
           author: str | None = None, limit: int = 10, offset: int = 0) -> SearchResult:
    """Solutions matching `text` (best first) and the attribute filters; without text, the newest first.

    Requesters see approved solutions only, whatever they ask for.
    """
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown status {status!r}", field_errors={"status": [f"one of {', '.join(STATUSES)}"]})
    statuses = _visible(actor, status)
    terms = knowledge_search.query_terms(text) if text else []
    conditions: list[ColumnElement[bool]] = [_solutions.c.status.in_(statuses)]
    for attribute, value in ((_solutions.c.kind, kind), (_solutions.c.device_type, device_type),
                             (_solutions.c.author, author)):
        if value:
            conditions.append(attribute == value)
    for attribute, value in ((_solutions.c.system, system), (_solutions.c.category, category)):
        if value:
            conditions.append(func.lower(attribute).contains(value.lower(), autoescape=True))
    if text and not terms:
        return SearchResult([], [], False, statuses)
    if terms:
        ids = _ranked_ids(session, terms, conditions, limit + 1, offset)
    else:
        ids = list(session.scalars(select(_solutions.c.id).where(*conditions)
                                   .order_by(_solutions.c.updated_at.desc(), _solutions.c.id.desc())
                                   .limit(limit + 1).offset(offset)))
    has_more = len(ids) > limit
    ids = ids[:limit]
    return SearchResult(_hits(session, ids, terms), terms, has_more, statuses)


# The best matches are ranked from the search index alone, then filtered by status and attributes; the
# window widens when filters leave too few. Ranking across a join with solution cost 5x as much.
_FIRST_WINDOW = 64
# Solutions matching two separate words of the search come first: there are far fewer of them to rank than
# solutions matching any one word (searches of 2..6 words; then any word fills the list). Neighbouring words
# are often one phrase that many write-ups share (停电恢复, 数据库连接), so with three or more words a pair
# must be apart: measured on PostgreSQL, twice as fast as any pair and recall@10 0.978 -> 0.987.
_PAIRED_UP_TO = 6


def _pairs(items: list[str]) -> list[tuple[str, str]]:
    if len(items) == 2:
        return [(items[0], items[1])]
    return [(items[i], items[j]) for i, j in itertools.combinations(range(len(items)), 2) if j - i >= 2]


def _ranked_ids(session: Session, terms: list[str], conditions: list[ColumnElement[bool]], limit: int,
                offset: int) -> list[int]:
    """Ids by relevance: more and rarer words, in the title above all, rank higher (bm25 on SQLite's FTS5,
    ts_rank on PostgreSQL's tsvector)."""
    wanted = limit + offset
    kept: list[int] = []
    for need in ((2, 1) if 2 <= len(terms) <= _PAIRED_UP_TO else (1,)):
        candidates = _candidates(session, terms, need)
        window = max(_FIRST_WINDOW, 4 * wanted)
        while True:
            ranked = list(session.scalars(candidates.limit(window)))
            visible = set(session.scalars(select(_solutions.c.id).where(_solutions.c.id.in_(ranked), *conditions)))
            found = [solution_id for solution_id in ranked if solution_id in visible]
            if len(found) >= wanted or len(ranked) < window:
                break
            window *= 8
        seen = set(kept)
        kept += [solution_id for solution_id in found if solution_id not in seen]
        if len(kept) >= wanted:
            break
    return kept[offset:wanted]


def _candidates(session: Session, terms: list[str], need: int) -> Any:
    """Solution ids matching any word (`need` 1) or a pair of them (2), best first (a statement still to be
    limited)."""
    if session.get_bind().dialect.name == "postgresql":
        quoted = [_quoted(term) for term in terms]
        ranking = func.cast(bindparam("ranking", " | ".join(quoted)), TSQUERY)
        matching = ranking if need == 1 else func.cast(bindparam("matching", " | ".join(
            f"({a} & {b})" for a, b in _pairs(quoted))), TSQUERY)
        return (select(_search.c.solution_id).where(_search.c.document.op("@@")(matching))
                .order_by(func.ts_rank(_search.c.document, ranking).desc(), _search.c.solution_id.desc()))
    phrases = ['"' + term.replace('"', '""') + '"' for term in terms]
    if need == 1:
        match = " OR ".join(phrases)
    else:
        pairs = _pairs(phrases)
        # bm25 weighs only the words of the expression: a word in no pair (the middle one of three) rides along.
        alone = [p for p in phrases if all(p not in pair for pair in pairs)]
        match = " OR ".join([f"({a} AND {b})" for a, b in pairs]
                            + [f"({pairs[0][0]} AND {pairs[0][1]} AND {p})" for p in alone])
    fts = table(SQLITE_SEARCH_TABLE, column("rowid"))
    # FTS5 takes the table's name as a column for MATCH and bm25().
    whole: ColumnElement[Any] = literal_column(SQLITE_SEARCH_TABLE)
    return (select(fts.c.rowid).where(whole.op("MATCH")(bindparam("match", match)))
            .order_by(func.bm25(whole, 4.0, 1.0)))


def _hits(session: Session, ids: list[int], terms: list[str]) -> list[Hit]:
    if not ids:
        return []
    rows = {row.id: row for row in session.execute(select(_solutions).where(_solutions.c.id.in_(ids)))}
    counts = {row[0]: row[1] for row in session.execute(
        select(_links.c.solution_id, func.count()).where(_links.c.solution_id.in_(ids)).group_by(_links.c.solution_id))}
    hits = []
    for solution_id in ids:
        row = rows[solution_id]
        body = " ".join(filter(None, (row.symptom, row.cause, row.fix)))
        hits.append(Hit(row.id, row.title, row.kind, row.status, row.system, row.device_type, row.category,
                        row.version, row.author, row.updated_at, highlight(row.title, terms),
                        highlight(snippet(body, terms), terms), counts.get(row.id, 0)))
    return hits


def highlight(text: str, terms: Iterable[str]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, matched) pieces: every occurrence of a search word is matched (ASCII ignoring case)."""
    words = sorted({t for t in terms if t}, key=len, reverse=True)
    if not text or not words:
        return [(text, False)] if text else []
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    pieces: list[tuple[str, bool]] = []
    at = 0
    for found in pattern.finditer(text):
        if found.start() > at:
            pieces.append((text[at:found.start()], False))
        pieces.append((found.group(), True))
        at = found.end()
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


def snippet(text: str, terms: Iterable[str], width: int = 90) -> str:
    """About `width` characters of `text` around the first search word found (the start when none is)."""
    lowered = text.lower()
    starts = [lowered.find(t) for t in terms if t and lowered.find(t) >= 0]
    begin = max(0, min(starts) - width // 3) if starts else 0
    piece = text[begin:begin + width]
    return ("…" if begin else "") + piece + ("…" if begin + width < len(text) else "")


def request_text(session: Session, instance_id: int) -> str:
    """What suggestions search for: the request's title, system and description."""
    data = request_data(session, instance_id)
    return " ".join(str(data.get(name) or "") for name in ("title", "system", "description"))


def draft_from_request(session: Session, *, instance_id: int, actor: Actor) -> dict[str, Any]:
    """A new solution's fields as the request said them (the editor opened from a task page); only
    those who write solutions may read a request this way."""
    access.require_write_knowledge(actor)
    data = request_data(session, instance_id)
    return {"title": data.get("title"), "system": data.get("system"), "device_type": data.get("device_type"),
            "symptom": data.get("description")}


def request_data(session: Session, instance_id: int) -> dict[str, Any]:
    """The start-form data of a request (its first history event)."""
    payload = session.scalar(select(_events.c.payload).where(_events.c.instance_id == instance_id,
                                                             _events.c.kind == history.INSTANCE_STARTED))
    if payload is None:
        raise NotFound(f"request {instance_id} does not exist")
    return dict(payload.get("data") or {})


# ------------------------------------------------------------------------------------------ reading

def solution_page(session: Session, *, solution_id: int, actor: Actor) -> dict[str, Any]:
    """One solution with its earlier versions, review steps and the incidents it serves."""
    solution = _get(session, solution_id)
    if solution.status not in _visible(actor, solution.status if access.may_use_inbox(actor) else None):
        raise NotFound(f"solution {solution_id} does not exist")  # requesters: not published, so not there
    versions = list(session.scalars(select(SolutionVersion).where(SolutionVersion.solution_id == solution_id)
                                    .order_by(SolutionVersion.version.desc())))
    incidents = [dict(row._mapping) for row in session.execute(
        select(_instances.c.id, _instances.c.title, _instances.c.status, _instances.c.process_id,
               _links.c.linked_by, _links.c.linked_at)
        .join(_links, _links.c.instance_id == _instances.c.id)
        .where(_links.c.solution_id == solution_id).order_by(_links.c.linked_at.desc()))] \
        if access.may_use_inbox(actor) else []
    reviews = [history.event_to_dict(event) for event in session.scalars(
        select(HistoryEvent).join(ProcessInstance, ProcessInstance.id == HistoryEvent.instance_id)
        .where(ProcessInstance.process_id == REVIEW_PROCESS, HistoryEvent.kind == history.TASK_COMPLETED,
               HistoryEvent.instance_id.in_(_review_instances(solution_id)))
        .order_by(HistoryEvent.at, HistoryEvent.id))] if access.may_use_inbox(actor) else []
    return {"solution": solution, "versions": versions, "incidents": incidents, "reviews": reviews,
            "may_edit": may_edit(solution, actor), "may_retire": REVIEWERS in actor.groups
            and solution.status in ("draft", "approved"),
            "may_submit": solution.status == "draft" and not actor.is_auditor
            and (solution.author == actor.username or REVIEWERS in actor.groups),
            "review_task_id": open_review_task(session, solution) if access.may_use_inbox(actor) else None}


def _review_instances(solution_id: int) -> Any:
    """Ids of every review instance started for the solution (their start data names it)."""
    return (select(_events.c.instance_id).join(_instances, _instances.c.id == _events.c.instance_id)
            .where(_instances.c.process_id == REVIEW_PROCESS, _events.c.kind == history.INSTANCE_STARTED,
                   _events.c.payload["data"]["solution_id"].as_integer() == solution_id))


def review_queue(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """Solutions waiting for a 技术负责人, oldest first, with their review task."""
    if REVIEWERS not in actor.groups and not actor.is_auditor:
        raise Forbidden(f"the review queue is for the 技术负责人; {actor.username} is not one")
    rows = session.execute(
        select(_solutions.c.id, _solutions.c.title, _solutions.c.kind, _solutions.c.author, _solutions.c.version,
               _solutions.c.updated_at, _tasks.c.id.label("task_id"), _tasks.c.assignee)
        .join(_tasks, and_(_tasks.c.instance_id == _solutions.c.review_instance_id, _tasks.c.state == "ready",
                           _tasks.c.form_key == REVIEW_FORM))
        .where(_solutions.c.status == "in_review").order_by(_solutions.c.updated_at, _solutions.c.id))
    return [dict(row._mapping) for row in rows]


def review_subject(session: Session, *, instance_id: int, actor: Actor) -> Solution | None:
    """The solution a review instance is about (shown on its review and revision steps)."""
    if not access.may_use_inbox(actor):
        return None
    return session.scalars(select(Solution).where(Solution.review_instance_id == instance_id)).one_or_none()


# The emergency flow also shows the emergency strategies (seed 003: rules such as 《网络应急维修管理程序》 and
# technical plans) that match the request: solutions of these kinds.
EMERGENCY_PROCESS = "emergency"
STRATEGY_KINDS = ("policy", "technical")


def emergency_strategies(session: Session, *, text: str, actor: Actor, limit: int = 5) -> list[Any]:
    """Approved rules, then technical plans, matching an emergency request's `request_text` (each kind best
    first)."""
    hits = [hit for kind in STRATEGY_KINDS
            for hit in search(session, actor=actor, text=text, kind=kind, status="approved", limit=limit).hits]
    return hits[:limit]


def incident_panel(session: Session, *, instance_id: int, actor: Actor, limit: int = 5) -> dict[str, Any]:
    """What a resolution step's page shows: the linked solution, the waiver, suggestions to link, and on
    the emergency flow the matching emergency strategies."""
    state = closure_state(session, instance_id)
    text = request_text(session, instance_id)  # read once for both lists
    found = search(session, actor=actor, text=text, limit=limit)
    process_id = session.scalar(select(_instances.c.process_id).where(_instances.c.id == instance_id))
    strategies = (emergency_strategies(session, text=text, actor=actor, limit=limit)
                  if process_id == EMERGENCY_PROCESS else [])
    return {**state, "suggestions": found.hits, "terms": found.terms, "strategies": strategies,
            "may_waive": actor.is_manager, "may_link": access.may_write_knowledge(actor)}


def status_counts(session: Session) -> dict[str, int]:
    """How many solutions there are per status (the /kb page's header)."""
    return {row[0]: row[1] for row in session.execute(select(_solutions.c.status, func.count())
                                                       .group_by(_solutions.c.status))}

