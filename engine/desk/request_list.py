"""The agents' all-requests list (issue 15): filters, sort and pages over every request an agent may find
(engine.access.found_requests), the rows the search shows too, looking a request up by its number, and each
agent's saved filters (a name for a query string; shared with one of their groups if they wish)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Table, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from engine import access, clock
from engine.desk import numbers
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.status import InstanceStatus, TaskState
from engine.store.models import ProcessInstance, ServiceCase, TaskRecord, User
from engine.store.search_models import SavedFilter
from engine.users import Actor

_instances = cast(Table, ProcessInstance.__table__)
_cases = cast(Table, ServiceCase.__table__)
_tasks = cast(Table, TaskRecord.__table__)
_users = cast(Table, User.__table__)
_filters = cast(Table, SavedFilter.__table__)

SORTS = ("newest", "oldest", "number", "due", "level")
STATES = ("open", "closed")
FILTER_KEYS = ("process", "state", "fault_level", "zone", "customer", "group", "assignee", "opened_from",
               "opened_to", "overdue", "sort")
MAX_FILTERS = 50  # saved filters per agent
MAX_QUERY = 2000  # characters of a saved query string


@dataclass
class RequestRow:
    """One request in a list: what identifies it and where it stands."""

    id: int
    number: str | None
    title: str | None
    process_id: str
    status: str
    fault_level: str | None
    started_by: str | None
    requester_name: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    customer: str | None
    zone: str | None
    assigned_group: str | None
    resolve_due_at: dt.datetime | None
    is_overdue: bool
    # The search's (engine.desk.request_search): text around the words found, as (piece, matched) pieces.
    snippet: list[tuple[str, bool]] = field(default_factory=list)


_ROW_COLUMNS = (_instances.c.id, _instances.c.number, _instances.c.title, _instances.c.process_id,
                _instances.c.status, _instances.c.fault_level, _instances.c.started_by,
                _users.c.display_name.label("requester_name"), _instances.c.started_at, _instances.c.ended_at,
                _cases.c.customer, _cases.c.zone, _cases.c.assigned_group, _cases.c.resolve_due_at)
# The instance with its case (what the filters read) and its requester (the name a row shows).
CASES_FROM = _instances.outerjoin(_cases, _cases.c.instance_id == _instances.c.id)
_FROM = CASES_FROM.outerjoin(_users, _users.c.username == _instances.c.started_by)


def _row(row: Any, now: dt.datetime) -> RequestRow:
    overdue = (row.status == InstanceStatus.RUNNING and row.resolve_due_at is not None
               and row.resolve_due_at < now)
    return RequestRow(**row._mapping, is_overdue=overdue)


def rows(session: Session, ids: list[int], *, now: dt.datetime | None = None) -> list[RequestRow]:
    """The rows of these requests, in the order given."""
    if not ids:
        return []
    at = now or clock.now()
    found = {row.id: _row(row, at) for row in session.execute(
        select(*_ROW_COLUMNS).select_from(_FROM).where(_instances.c.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


@dataclass
class RequestListPage:
    rows: list[RequestRow]
    page: int
    has_more: bool
    total: int


def _overdue(now: dt.datetime) -> Any:
    late_task = exists(select(_tasks.c.id).where(_tasks.c.instance_id == _instances.c.id,
                                                 _tasks.c.state == TaskState.READY, _tasks.c.due_at < now))
    return and_(_instances.c.status == InstanceStatus.RUNNING,
                or_(_cases.c.resolve_due_at < now, late_task))


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight in China (the desk's day) as UTC."""
    return dt.datetime.combine(day, dt.time(), numbers.CHINA).astimezone(dt.UTC)


def conditions(filters: dict[str, Any], now: dt.datetime) -> list[Any]:
    """The list's filters as SQL (unset ones left out)."""
    found: list[Any] = []
    if filters.get("process"):
        found.append(_instances.c.process_id == filters["process"])
    if filters.get("state") == "open":
        found.append(_instances.c.status == InstanceStatus.RUNNING)
    elif filters.get("state") == "closed":
        found.append(_instances.c.status != InstanceStatus.RUNNING)
    if filters.get("fault_level"):
        found.append(_instances.c.fault_level == filters["fault_level"])
    for name, attribute in (("zone", _cases.c.zone), ("customer", _cases.c.customer)):
        if filters.get(name):
            found.append(func.lower(attribute).contains(filters[name].lower(), autoescape=True))
    if filters.get("group"):
        open_to = exists(select(_tasks.c.id).where(_tasks.c.instance_id == _instances.c.id,
                                                   _tasks.c.state == TaskState.READY,
                                                   _tasks.c.candidate_group == filters["group"]))
        found.append(or_(_cases.c.assigned_group == filters["group"], open_to))
    if filters.get("assignee"):
        held = exists(select(_tasks.c.id).where(_tasks.c.instance_id == _instances.c.id,
                                                _tasks.c.state == TaskState.READY,
                                                _tasks.c.assignee == filters["assignee"]))
        found.append(or_(_cases.c.engineer == filters["assignee"], held))
    if filters.get("opened_from"):
        found.append(_instances.c.started_at >= _day_start(filters["opened_from"]))
    if filters.get("opened_to"):
        found.append(_instances.c.started_at < _day_start(filters["opened_to"] + dt.timedelta(days=1)))
    if filters.get("overdue"):
        found.append(_overdue(now))
    return found


_ORDER = {
    "newest": (_instances.c.started_at.desc(), _instances.c.id.desc()),
    "oldest": (_instances.c.started_at.asc(), _instances.c.id.asc()),
    "number": (_instances.c.number.asc(), _instances.c.id.asc()),
    "due": (_cases.c.resolve_due_at.is_(None), _cases.c.resolve_due_at.asc(), _instances.c.id.asc()),
    "level": (_instances.c.fault_level.is_(None), _instances.c.fault_level.asc(), _instances.c.started_at.desc(),
              _instances.c.id.desc()),
}


def list_requests(session: Session, *, actor: Actor, filters: dict[str, Any], page: int = 1,
                  page_size: int = 25, now: dt.datetime | None = None) -> RequestListPage:
    """A page of the requests the agent may find, filtered and sorted (newest first by default)."""
    access.require_search_requests(actor)
    at = now or clock.now()
    where = [access.found_requests(actor), *conditions(filters, at)]
    sort = filters.get("sort") or "newest"
    if sort not in _ORDER:
        raise InvalidInput(f"unknown sort {sort!r}", field_errors={"sort": [f"one of {', '.join(SORTS)}"]})
    found = session.execute(select(*_ROW_COLUMNS).select_from(_FROM).where(*where).order_by(*_ORDER[sort])
                            .limit(page_size + 1).offset((page - 1) * page_size)).all()
    total = session.scalar(select(func.count()).select_from(_FROM).where(*where)) or 0
    return RequestListPage([_row(row, at) for row in found[:page_size]], page, len(found) > page_size, total)


# --- by number ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Found:
    started_by: str | None
    task_groups: frozenset[str]
    task_people: frozenset[str]


def found_facts(session: Session, instance_id: int, started_by: str | None) -> _Found:
    """What engine.access.may_find_request reads of one request: who raised it, its tasks' groups and people."""
    tasks = session.execute(select(_tasks.c.candidate_group, _tasks.c.assignee, _tasks.c.completed_by)
                            .where(_tasks.c.instance_id == instance_id)).all()
    return _Found(started_by, frozenset(t.candidate_group for t in tasks if t.candidate_group),
                  frozenset(p for t in tasks for p in (t.assignee, t.completed_by) if p))


@dataclass(frozen=True)
class Landing:
    """Where an agent opens a request found by number: the request page, a task of it, or its history."""

    instance_id: int
    number: str
    page: str  # request | task | audit
    task_id: int | None = None


def by_number(session: Session, *, number: str, actor: Actor) -> RequestRow:
    """The request with this number, if the agent may find it (another group's request is as good as missing,
    so its existence is not given away)."""
    access.require_search_requests(actor)
    wanted = numbers.normalised(number)
    row = session.execute(select(*_ROW_COLUMNS).select_from(_FROM).where(_instances.c.number == wanted)).one_or_none()
    if row is None or not access.may_find_request(found_facts(session, row.id, row.started_by), actor):
        raise NotFound(f"request {wanted} does not exist", reason="request_number_missing",
                       params={"number": wanted})
    return _row(row, clock.now())


def landing(session: Session, *, number: str, actor: Actor) -> Landing:
    """The page to open for a request number: the request page for whoever may follow it (the service desk,
    auditors, its requester), else the agent's newest task of it, else its history for an overseer."""
    found = by_number(session, number=number, actor=actor)
    assert found.number is not None
    if access.may_view_request(found, actor):
        return Landing(found.id, found.number, "request")
    visible = access.task_conditions(actor, state=TaskState.READY).visible()
    task_id = session.scalar(select(_tasks.c.id).where(_tasks.c.instance_id == found.id,
                                                       _tasks.c.state == TaskState.READY, visible)
                             .order_by(_tasks.c.id.desc()).limit(1))
    if task_id is None:
        task_id = session.scalar(select(_tasks.c.id).where(
            _tasks.c.instance_id == found.id,
            or_(_tasks.c.assignee == actor.username, _tasks.c.completed_by == actor.username,
                _tasks.c.candidate_group.in_(sorted(actor.groups - {access.REQUESTERS}))))
            .order_by(_tasks.c.id.desc()).limit(1))
    if task_id is not None:
        return Landing(found.id, found.number, "task", task_id)
    if access.may_audit(actor):
        return Landing(found.id, found.number, "audit")
    raise Forbidden(f"request {found.number} has no page {actor.username} may open",
                    reason="request_of_someone_else", params={"instance_id": found.id})


# --- saved filters --------------------------------------------------------------------------------------

def clean_query(query: str) -> str:
    """A query string as saved: only the list's filter keys, non-empty, in a stable order."""
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"the query is longer than {MAX_QUERY} characters",
                           field_errors={"query": [f"at most {MAX_QUERY} characters"]})
    pairs = [(k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False) if k in FILTER_KEYS and v]
    return urlencode(sorted(dict(pairs).items()))


@dataclass(frozen=True)
class SavedFilterRow:
    id: int
    name: str
    query: str
    group_id: str | None
    username: str
    is_mine: bool


def saved_filters(session: Session, *, actor: Actor) -> list[SavedFilterRow]:
    """The agent's own filters, then those their groups' members shared, by name."""
    access.require_search_requests(actor)
    groups = sorted(actor.groups - {access.REQUESTERS})
    found = session.execute(select(_filters).where(or_(_filters.c.username == actor.username,
                                                       _filters.c.group_id.in_(groups)))
                            .order_by(_filters.c.username != actor.username, _filters.c.name)).all()
    return [SavedFilterRow(f.id, f.name, f.query, f.group_id, f.username, f.username == actor.username)
            for f in found]


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a filter's name is 1 to 100 characters", field_errors={"name": ["1 to 100 characters"]})
    return name


def _share(group_id: str | None, actor: Actor) -> str | None:
    if group_id and group_id not in actor.groups - {access.REQUESTERS}:
        raise InvalidInput(f"{actor.username} is not in group {group_id}",
                           field_errors={"group_id": ["one of your own groups"]}, reason="saved_filter_group",
                           params={"group_id": group_id})
    return group_id or None


def _own(session: Session, filter_id: int, actor: Actor) -> SavedFilter:
    saved = session.get(SavedFilter, filter_id)
    if saved is None or saved.username != actor.username:  # someone else's is as good as missing
        raise NotFound(f"saved filter {filter_id} does not exist", reason="saved_filter_missing",
                       params={"filter_id": filter_id})
    return saved


def _unique(session: Session, actor: Actor, name: str, but: int | None = None) -> None:
    clash = session.scalar(select(_filters.c.id).where(_filters.c.username == actor.username,
                                                       _filters.c.name == name))
    if clash is not None and clash != but:
        raise Conflict(f"you already have a filter named {name!r}", reason="saved_filter_exists",
                       params={"name": name})


def save_filter(session: Session, *, actor: Actor, name: str, query: str, group_id: str | None = None) -> SavedFilter:
    """Save the list's current query under a name (one of the agent's groups sees it too if `group_id`)."""
    access.require_search_requests(actor)
    name = _name(name)
    _unique(session, actor, name)
    count = session.scalar(select(func.count()).select_from(_filters).where(_filters.c.username == actor.username))
    if (count or 0) >= MAX_FILTERS:
        raise InvalidInput(f"at most {MAX_FILTERS} saved filters", field_errors={"name": ["too many saved filters"]},
                           reason="saved_filters_too_many", params={"limit": MAX_FILTERS})
    saved = SavedFilter(username=actor.username, name=name, query=clean_query(query),
                        group_id=_share(group_id, actor))
    session.add(saved)
    session.flush()
    return saved


def rename_filter(session: Session, *, actor: Actor, filter_id: int, name: str,
                  group_id: str | None = None) -> SavedFilter:
    """A new name (and sharing) of one of the agent's own filters."""
    saved = _own(session, filter_id, actor)
    name = _name(name)
    _unique(session, actor, name, but=saved.id)
    saved.name, saved.group_id = name, _share(group_id, actor)
    session.flush()
    return saved


def delete_filter(session: Session, *, actor: Actor, filter_id: int) -> None:
    session.delete(_own(session, filter_id, actor))
    session.flush()
