"""Who may do what: every permission rule of opsflow in one place.

The engine enforces these rules (a refusal is a Forbidden naming who and what), the web pages ask the
same functions which buttons to show, and the task lists use the task rules written as SQL conditions
(tests/engine/test_access.py checks both forms agree on a matrix of users and tasks). Rules read plain
facts — an Actor, a task's group and assignee, who raised its request — and never the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, cast

from sqlalchemy import ColumnElement, Select, Table, and_, exists, false, or_, select, true

from engine.errors import Forbidden, InvalidInput, TaskTaken
from engine.store.models import ProcessInstance, TaskRecord
from engine.users import MANAGER_GROUPS, Actor

# Requesters are customers of different organisations: their tasks belong to whoever raised the request.
REQUESTERS = "requester"
AUDITORS = "auditor"  # read everything, change nothing
SERVICE_DESK = "service_desk"
PROCESS_OWNERS = "process_owner"
# Who answers for the SLA targets (and the auditors) read the at-risk report and the policy.
SLA_READERS = MANAGER_GROUPS | {SERVICE_DESK, PROCESS_OWNERS, AUDITORS}
# Who re-grades a running request: the desk that classified it and the managers it escalates to.
REGRADERS = frozenset({SERVICE_DESK, "service_manager", "project_manager", "resident_manager"})
# Who oversees the whole: every instance's history (each look logged) and the users-and-groups directory.
OVERSEERS = frozenset({AUDITORS, PROCESS_OWNERS}) | MANAGER_GROUPS
DIAGRAM_READERS = frozenset({PROCESS_OWNERS, AUDITORS})
# Who creates users, changes their groups, resets passwords and deactivates them: a group of its own, so
# granting rights is a duty apart from running the processes (a process owner or manager who could add
# themselves to any group would hold every right), and its last active member is never removed.
USER_ADMINS = "user_admin"

_tasks = cast(Table, TaskRecord.__table__)
_instances = cast(Table, ProcessInstance.__table__)


class TaskFacts(Protocol):
    """What the task rules read: the task record's columns and who raised its request."""

    @property
    def id(self) -> int: ...
    @property
    def instance_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def element_id(self) -> str: ...
    @property
    def candidate_group(self) -> str | None: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def started_by(self) -> str | None: ...
    @property
    def form_key(self) -> str | None: ...


@dataclass(frozen=True)
class Task:
    """TaskFacts put together from a task record and its instance's row."""

    id: int
    instance_id: int
    name: str
    element_id: str
    candidate_group: str | None
    assignee: str | None
    started_by: str | None
    form_key: str | None


class RequestFacts(Protocol):
    """What the request rules read of an instance."""

    @property
    def id(self) -> int: ...
    @property
    def started_by(self) -> str | None: ...


# --- the whole: starting, pages, processes, SLA, audit ----------------------------------------------
# Each may_* takes the actor last; app.web's template helper `may('audit')` calls the actor-only ones.

def may_start(actor: Actor) -> bool:
    """Raising a request (starting a process): anyone in a group, but auditors (they never change anything)."""
    return bool(actor.groups) and not actor.is_auditor


def require_start(actor: Actor) -> None:
    if not may_start(actor):
        raise Forbidden("auditors cannot start processes")


def may_use_inbox(actor: Actor) -> bool:
    """The inbox is the agents' (and the auditors', to read); requesters follow their requests in the portal."""
    return bool(actor.groups - {REQUESTERS})


def may_view_request(request: RequestFacts, actor: Actor) -> bool:
    """A request as its requester follows it: theirs, the service desk's (it takes every request), the auditors'."""
    return actor.is_auditor or request.started_by == actor.username or SERVICE_DESK in actor.groups


def require_view_request(request: RequestFacts, actor: Actor) -> None:
    if not may_view_request(request, actor):
        raise Forbidden(f"request {request.id} was raised by someone else", reason="request_of_someone_else",
                        params={"instance_id": request.id})


def may_write_knowledge(actor: Actor) -> bool:
    """Writing, linking and submitting knowledge-base solutions: the agents (auditors only read them)."""
    return may_use_inbox(actor) and not actor.is_auditor


def require_write_knowledge(actor: Actor, what: str = "write knowledge-base solutions") -> None:
    if not may_write_knowledge(actor):
        raise Forbidden(f"{actor.username} may not {what}")


def may_chase(request: RequestFacts, actor: Actor) -> bool:
    """Chasing (督促) a request: its requester, or the service desk on a customer's behalf."""
    return not actor.is_auditor and (request.started_by == actor.username or SERVICE_DESK in actor.groups)


def require_chase(request: RequestFacts, actor: Actor) -> None:
    if not may_chase(request, actor):
        raise Forbidden(f"only the requester or the service desk can chase request {request.id}")


def may_change_fault_level(actor: Actor) -> bool:
    return bool(actor.groups & REGRADERS) and not actor.is_auditor


def require_change_fault_level(actor: Actor) -> None:
    if not may_change_fault_level(actor):
        raise Forbidden(f"{actor.username} may not change fault levels")


def may_read_sla(actor: Actor) -> bool:
    """The SLA at-risk report and the policy table."""
    return bool(actor.groups & SLA_READERS)


def require_read_sla(actor: Actor, what: str = "read the SLA report") -> None:
    if not may_read_sla(actor):
        raise Forbidden(f"{actor.username} may not {what}", reason="sla_report_forbidden",
                        params={"username": actor.username})


def may_edit_sla_policy(actor: Actor) -> bool:
    return PROCESS_OWNERS in actor.groups and not actor.is_auditor


def require_edit_sla_policy(actor: Actor) -> None:
    if not may_edit_sla_policy(actor):
        raise Forbidden(f"{actor.username} may not change the SLA policy (process owners do)",
                        reason="sla_policy_edit_forbidden", params={"username": actor.username})


def may_read_diagrams(actor: Actor) -> bool:
    """The modeler, read only: process owners and auditors."""
    return bool(actor.groups & DIAGRAM_READERS)


def require_read_diagrams(actor: Actor) -> None:
    if not may_read_diagrams(actor):
        raise Forbidden(f"{actor.username} may not use the modeler: it is for process owners (and auditors, to read)",
                        reason="modeler_forbidden", params={"username": actor.username})


def may_change_diagrams(actor: Actor) -> bool:
    """Drafts, deploys, rollbacks and moving running instances to another version: process owners."""
    return PROCESS_OWNERS in actor.groups and not actor.is_auditor


def require_change_diagrams(actor: Actor, what: str) -> None:
    if not may_change_diagrams(actor):
        raise Forbidden(f"only process owners may {what}; {actor.username} is not one", reason="process_owners_only",
                        params={"username": actor.username})


def may_audit(actor: Actor) -> bool:
    """Every instance's history, replay, verification and export (engine.audit.views logs each look)."""
    return bool(actor.groups & OVERSEERS)


def require_audit(actor: Actor) -> None:
    if not may_audit(actor):
        raise Forbidden(f"{actor.username} may not read instance histories (auditors, process owners and "
                        "managers may)", reason="history_readers_only", params={"username": actor.username})


def may_list_users(actor: Actor) -> bool:
    return bool(actor.groups & OVERSEERS) or USER_ADMINS in actor.groups


def require_list_users(actor: Actor) -> None:
    if not may_list_users(actor):
        raise Forbidden(f"{actor.username} may not list users", reason="directory_hidden",
                        params={"username": actor.username})


def may_administer_users(actor: Actor) -> bool:
    """Creating users, changing their names, addresses and groups, resetting passwords, (de)activating."""
    return USER_ADMINS in actor.groups and not actor.is_auditor


def require_administer_users(actor: Actor) -> None:
    if not may_administer_users(actor):
        raise Forbidden(f"{actor.username} may not administer users (members of group {USER_ADMINS} do)",
                        reason="user_admins_only", params={"username": actor.username})


def may_read_user_admin_log(actor: Actor) -> bool:
    """The log of what user administrators did: they and the auditors."""
    return USER_ADMINS in actor.groups or actor.is_auditor


def require_read_user_admin_log(actor: Actor) -> None:
    if not may_read_user_admin_log(actor):
        raise Forbidden(f"{actor.username} may not read the user administration log (user administrators and "
                        "auditors may)", reason="user_admin_log_hidden", params={"username": actor.username})


# --- tasks ------------------------------------------------------------------------------------------

def is_initiators(task: TaskFacts) -> bool:
    """Whether the task belongs to whoever raised its request, whatever its assignee column says: the
    requesters' tasks (diagrams assign them to ${initiator}; a release once emptied or changed that), and a
    task with neither group nor assignee (an assignee-only task a release emptied)."""
    return task.candidate_group == REQUESTERS or (task.candidate_group is None and task.assignee is None)


def holder(task: TaskFacts) -> str | None:
    """Who alone may work the task; None while it is open to its group."""
    return task.started_by if is_initiators(task) else task.assignee


def may_see_task(task: TaskFacts, actor: Actor) -> bool:
    """Auditors see every task; others the tasks they hold and their groups' (open or claimed by a colleague)."""
    if actor.is_auditor:
        return True
    held_by = holder(task)
    if held_by is not None and held_by == actor.username:
        return True
    return (not is_initiators(task) and task.candidate_group in actor.groups) or answers_own_survey(task, actor)


def may_work_task(task: TaskFacts, actor: Actor) -> bool:
    """Whether the actor may complete the task (or claim it): it is theirs, or open to one of their groups."""
    if actor.is_auditor:
        return False
    if answers_own_survey(task, actor):
        return True
    held_by = holder(task)
    if held_by is not None:
        return held_by == actor.username
    return not is_initiators(task) and task.candidate_group in actor.groups


def may_claim(task: TaskFacts, actor: Actor) -> bool:
    """Taking a task one may work, unless it already carries one's name; a requester answers their own
    survey, they never take the service desk's call."""
    return may_work_task(task, actor) and task.assignee != actor.username and not answers_own_survey(task, actor)


def never_to_a_group(task: TaskFacts, *, bound_to_initiator: bool) -> bool:
    """Whether releasing the task would hand the requester's own task (or one nobody else may take) to a group.

    `bound_to_initiator`: its diagram assigns it to ${initiator} (engine.process.definitions.assigns_initiator).
    """
    return bound_to_initiator or is_initiators(task) or task.candidate_group is None


def may_release(task: TaskFacts, actor: Actor, *, bound_to_initiator: bool) -> bool:
    """Giving a claimed task back to its group: its holder, or a manager who sees it; never the requester's own."""
    if actor.is_auditor or task.assignee is None or never_to_a_group(task, bound_to_initiator=bound_to_initiator):
        return False
    return task.assignee == actor.username or (actor.is_manager and may_see_task(task, actor))


def may_assign(task: TaskFacts, actor: Actor) -> bool:
    """Managers hand the tasks they see to someone (engine.process.runtime.assign_task checks whom); the
    service desk hands its own group's (may_dispatch)."""
    return (actor.is_manager and not actor.is_auditor and may_see_task(task, actor)) or may_dispatch(task, actor)


def _whose(task: TaskFacts) -> str:
    held_by = holder(task)
    return f"assigned to {held_by}" if held_by else f"for group {task.candidate_group}"


def require_see_task(task: TaskFacts, actor: Actor, verb: str = "see") -> None:
    """Refuse a task the actor may not see; the refusal tells nothing of another requester's request."""
    if may_see_task(task, actor):
        return
    # A customer learns nothing of another customer's request, not even the step it waits in (such as the
    # service desk's call to that customer).
    if is_initiators(task) or (not may_use_inbox(actor) and task.started_by != actor.username):
        raise Forbidden(f"task {task.id} belongs to a request someone else raised; {actor.username} may not {verb} it")
    raise Forbidden(f"task {task.id} ({task.name}) is {_whose(task)}; {actor.username} may not {verb} it",
                    element_id=task.element_id, reason="task_hidden_assigned" if holder(task) else "task_hidden_group",
                    params={"task_id": task.id, "task": task.name, "assignee": holder(task),
                            "group": task.candidate_group, "username": actor.username})


def _taken_from(task: TaskFacts, actor: Actor) -> str | None:
    """The colleague holding a task the actor could work if nobody held it: a conflict, not a lack of rights."""
    held_by = holder(task)
    if held_by is None or held_by == actor.username or actor.is_auditor or is_initiators(task):
        return None
    return held_by if task.candidate_group in actor.groups else None


def require_work_task(task: TaskFacts, actor: Actor, verb: str) -> None:
    """Refuse to complete or claim a task that is not the actor's to work (after require_see_task): 409
    (TaskTaken, naming who) when a colleague took it, 403 otherwise."""
    if may_work_task(task, actor):
        return
    taken_by = _taken_from(task, actor)
    if taken_by is not None:
        raise TaskTaken(f"task {task.id} ({task.name}) was taken by {taken_by}: it is assigned to {taken_by} now, "
                        f"and only they can {verb} it", assignee=taken_by, element_id=task.element_id)
    why = " (an auditor: auditors read, they never change anything)" if actor.is_auditor else ""
    raise Forbidden(f"task {task.id} ({task.name}) is {_whose(task)}; {actor.username}{why} may not {verb} it",
                    element_id=task.element_id)


def require_claim(task: TaskFacts, actor: Actor) -> None:
    """Refuse a claim: 409 (TaskTaken) when a colleague holds the task, 403 when it is not the actor's group's."""
    if answers_own_survey(task, actor):
        raise Forbidden(f"task {task.id} ({task.name}) is the service desk's call; {actor.username} may answer it, "
                        "not take it", element_id=task.element_id)
    taken_by = _taken_from(task, actor)
    if taken_by is not None:
        raise TaskTaken(f"task {task.id} is already claimed by {taken_by}", assignee=taken_by,
                        element_id=task.element_id)
    require_work_task(task, actor, "claim")


def require_release(task: TaskFacts, actor: Actor, *, bound_to_initiator: bool) -> None:
    """Refuse a release; the requester's own task is refused outright rather than quietly kept, so whoever
    asked learns why nothing changed (the page offers no release button for it)."""
    if may_release(task, actor, bound_to_initiator=bound_to_initiator):
        return
    if task.assignee is not None and (is_initiators(task) or bound_to_initiator):
        raise Forbidden(f"task {task.id} ({task.name}) belongs to {task.started_by}, who raised request "
                        f"{task.instance_id}: it never goes to a group, so it cannot be released",
                        element_id=task.element_id)
    if task.assignee is not None and task.candidate_group is None:
        raise Forbidden(f"task {task.id} ({task.name}) has no group to go back to: it never goes to a group, "
                        "so it cannot be released", element_id=task.element_id)
    raise Forbidden(f"task {task.id} ({task.name}) is not claimed by {actor.username}", element_id=task.element_id)


def require_assign(task: TaskFacts, actor: Actor, assignee: Actor, *, bound_to_initiator: bool) -> None:
    """A manager hands a task to a member of its group; the requester's own task only ever to that requester."""
    if (not actor.is_manager or actor.is_auditor) and not may_dispatch(task, actor):
        raise Forbidden(f"only managers assign tasks (and the service desk its own group's); {actor.username} "
                        "may not assign this one")
    require_see_task(task, actor, "assign")
    if is_initiators(task) or bound_to_initiator:
        if assignee.username != task.started_by:
            raise Forbidden(f"task {task.id} ({task.name}) belongs to {task.started_by}, who raised request "
                            f"{task.instance_id}; it cannot be assigned to {assignee.username}",
                            element_id=task.element_id)
    elif task.candidate_group and task.candidate_group not in assignee.groups:
        raise InvalidInput(f"{assignee.username} is not in group {task.candidate_group}")


# --- tasks as SQL -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskConditions:
    """The task rules as SQL conditions on task_record, in disjoint parts: what the actor holds (`held`,
    `held_apart`), what is open to their groups (`unclaimed`) and their colleagues' claims (`claimed`).

    Each part but `held_apart` walks an index in (due_at, id) order, so a page of an inbox reads only
    its own rows. `held_apart` — tasks of the actor's own requests that nobody or somebody else holds,
    which only the old release defect left behind — is read whole: it is a handful of rows.
    """

    held: tuple[ColumnElement[bool], ...] = ()
    held_apart: ColumnElement[bool] | None = None
    unclaimed: tuple[ColumnElement[bool], ...] = ()
    claimed: tuple[ColumnElement[bool], ...] = ()
    sees_all: bool = False  # auditors
    # answers_own_survey: workable, never held; like held_apart a handful of rows, read whole.
    own_surveys: ColumnElement[bool] | None = None

    def holding(self) -> ColumnElement[bool]:
        """SQL of holder(task) == the actor."""
        return _any([*self.held, self.held_apart])

    def workable(self) -> ColumnElement[bool]:
        """SQL of may_work_task."""
        return _any([*self.held, self.held_apart, *self.unclaimed, self.own_surveys])

    def visible(self) -> ColumnElement[bool]:
        """SQL of may_see_task."""
        return true() if self.sees_all else _any([*self.held, self.held_apart, *self.unclaimed, *self.claimed,
                                                  self.own_surveys])


def _any(parts: list[ColumnElement[bool] | None]) -> ColumnElement[bool]:
    present = [part for part in parts if part is not None]
    return or_(*present) if present else false()


def _raised_by(username: str) -> Select[tuple[int]]:
    return select(_instances.c.id).where(_instances.c.started_by == username)


_OTHER_TASK = _tasks.alias("other_task")


@lru_cache(maxsize=1024)
def task_conditions(actor: Actor, *, state: str = "ready") -> TaskConditions:
    """The parts of the task rules for one actor, over tasks in `state`; built once per actor, as building
    the expressions cost more than running them (an inbox page reads them about ten times)."""
    if actor.is_auditor:
        return TaskConditions(sees_all=True)
    me = actor.username
    raised = _raised_by(me)
    other = _OTHER_TASK
    # Requesters' tasks carrying my name in requests I did not raise (the old release defect): not mine.
    strays = select(other.c.id).where(other.c.state == state, other.c.candidate_group == REQUESTERS,
                                      other.c.assignee == me, other.c.instance_id.not_in(raised))
    groups = sorted(actor.groups - {REQUESTERS})
    return TaskConditions(
        held=(and_(_tasks.c.assignee == me, _tasks.c.id.not_in(strays)),
              and_(_tasks.c.candidate_group.is_(None), _tasks.c.assignee.is_(None), _tasks.c.instance_id.in_(raised))),
        held_apart=and_(_tasks.c.candidate_group == REQUESTERS,
                        or_(_tasks.c.assignee.is_(None), _tasks.c.assignee != me), _tasks.c.instance_id.in_(raised)),
        unclaimed=(and_(_tasks.c.candidate_group.in_(groups), _tasks.c.assignee.is_(None)),) if groups else (),
        claimed=(and_(_tasks.c.candidate_group.in_(groups), _tasks.c.assignee.is_not(None),
                      _tasks.c.assignee != me),) if groups else (),
        own_surveys=_own_surveys(me, groups, raised),
    )


# --- REST API (app/api) and monitoring intake (engine.desk.alerts) ------------------------------------

def may_view_instance(request: RequestFacts, actor: Actor) -> bool:
    """An instance with its history through the API: whoever may follow it as a request, and the overseers
    who read every history (may_audit)."""
    return may_view_request(request, actor) or may_audit(actor)


def require_view_instance(request: RequestFacts, actor: Actor) -> None:
    if not may_view_instance(request, actor):
        require_view_request(request, actor)  # the same refusal as the portal's


def may_take_alerts(actor: Actor) -> bool:
    """Opening requests from monitoring alerts (a token with the `alerts` scope): the service desk, which
    takes every request and may set its fault level."""
    return SERVICE_DESK in actor.groups and not actor.is_auditor


def require_take_alerts(actor: Actor) -> None:
    if not may_take_alerts(actor):
        raise Forbidden(f"{actor.username} may not open requests from monitoring alerts (the service desk does)",
                        reason="alerts_forbidden", params={"username": actor.username})


def may_edit_alert_levels(actor: Actor) -> bool:
    """Which process and fault level each alert severity opens: set like the SLA policy, by process owners."""
    return may_edit_sla_policy(actor)


def require_edit_alert_levels(actor: Actor) -> None:
    if not may_edit_alert_levels(actor):
        raise Forbidden(f"{actor.username} may not change the alert level mapping (process owners do)",
                        reason="alert_levels_forbidden", params={"username": actor.username})


# --- zones, customers and contracts (engine.desk.zones, engine.desk.customers) ----------------------

# Who keeps the customer archive, the contracts, the zones and the zone mapping table, and corrects a
# request's zone: the service desk (it takes every request) and the managers; auditors only read.
CUSTOMER_KEEPERS = MANAGER_GROUPS | {SERVICE_DESK}


def may_read_customers(actor: Actor) -> bool:
    """The customer, contract and zone pages: the agents and the auditors (not the customers themselves)."""
    return may_use_inbox(actor)


def require_read_customers(actor: Actor) -> None:
    if not may_read_customers(actor):
        raise Forbidden(f"{actor.username} may not read the customer archive", reason="customers_hidden",
                        params={"username": actor.username})


def may_keep_customers(actor: Actor) -> bool:
    """Changing customers, contracts (and their health-check cycle), zones and the zone mapping table."""
    return bool(actor.groups & CUSTOMER_KEEPERS) and not actor.is_auditor


def require_keep_customers(actor: Actor, what: str = "change customers, contracts and zones") -> None:
    if not may_keep_customers(actor):
        raise Forbidden(f"{actor.username} may not {what} (the service desk and managers may)",
                        reason="customer_keepers_only", params={"username": actor.username})


def may_correct_zone(actor: Actor) -> bool:
    """Correcting the zone a request was given (recorded in its history)."""
    return may_keep_customers(actor)


def require_correct_zone(request: RequestFacts, actor: Actor) -> None:
    if not may_correct_zone(actor):
        raise Forbidden(f"{actor.username} may not correct the zone of request {request.id} (the service desk "
                        "and managers may)", reason="customer_keepers_only", params={"username": actor.username})


# --- spare parts (engine.desk.parts) ------------------------------------------------------------------
# 服务中心备品备件库由服务中心统一治理 (seed 000): the centre's managers keep the store (catalogue, suppliers,
# receiving, write-offs, stock checks) and approve costly use; everyone who works cases reads it.
PARTS_KEEPERS = MANAGER_GROUPS


def may_read_parts(actor: Actor) -> bool:
    """The catalogue, stock, ledger, suppliers and reports: the agents (and auditors, to read)."""
    return may_use_inbox(actor)


def require_read_parts(actor: Actor) -> None:
    if not may_read_parts(actor):
        raise Forbidden(f"{actor.username} may not read the spare-parts store", reason="parts_readers_only",
                        params={"username": actor.username})


def may_keep_parts(actor: Actor) -> bool:
    return bool(actor.groups & PARTS_KEEPERS) and not actor.is_auditor


def require_keep_parts(actor: Actor) -> None:
    if not may_keep_parts(actor):
        raise Forbidden(f"{actor.username} may not change the spare-parts store (managers do)",
                        reason="parts_keepers_only", params={"username": actor.username})


def may_request_parts_approval(actor: Actor) -> bool:
    """Asking a manager to approve using costly parts on a case: whoever works cases."""
    return may_use_inbox(actor) and not actor.is_auditor


def require_request_parts_approval(actor: Actor) -> None:
    if not may_request_parts_approval(actor):
        raise Forbidden(f"{actor.username} may not ask for parts approvals", reason="parts_request_forbidden",
                        params={"username": actor.username})


def require_decide_parts_approval(actor: Actor, requested_by: str) -> None:
    """A manager decides; never on their own request (the approval would approve nothing)."""
    if not may_keep_parts(actor):
        raise Forbidden(f"{actor.username} may not approve parts use (managers do)",
                        reason="parts_approvers_only", params={"username": actor.username})
    if actor.username == requested_by:
        raise Forbidden(f"{actor.username} may not decide their own parts approval request",
                        reason="parts_own_approval", params={"username": actor.username})


# --- service reports (seed 002: engine.desk.service_reports, engine.desk.report_archive) ---------------

REPORT_REVIEWERS = "report_reviewer"  # 研发中心和工程部
REPORT_MANAGERS = "report_manager"  # 研发中心和工程部经理: special cases
QUALITY_ADMINS = "quality_admin"  # 质量管理员: tracks timeliness and completeness
# Who reads the archive: those who write, review, archive and track reports, the managers, the overseers.
REPORT_READERS = MANAGER_GROUPS | {SERVICE_DESK, REPORT_REVIEWERS, REPORT_MANAGERS, QUALITY_ADMINS,
                                   PROCESS_OWNERS, AUDITORS}
# Who plans reports (schedules, a report by hand): the project manager who writes them, the service desk
# that adds customers' requests to the service plan, the process owners.
REPORT_PLANNERS = frozenset({"project_manager", SERVICE_DESK, PROCESS_OWNERS})
REPORT_TRACKERS = frozenset({QUALITY_ADMINS, REPORT_MANAGERS, PROCESS_OWNERS, AUDITORS})


def may_read_reports(actor: Actor) -> bool:
    return bool(actor.groups & REPORT_READERS)


def require_read_reports(actor: Actor, what: str = "read the service-report archive") -> None:
    if not may_read_reports(actor):
        raise Forbidden(f"{actor.username} may not {what}")


def may_plan_reports(actor: Actor) -> bool:
    return bool(actor.groups & REPORT_PLANNERS) and not actor.is_auditor


def require_plan_reports(actor: Actor, what: str = "plan service reports") -> None:
    if not may_plan_reports(actor):
        raise Forbidden(f"{actor.username} may not {what}")


def may_archive_reports(actor: Actor) -> bool:
    """Filing a report and archiving a new version of its PDF: the service desk (seed 002 7.2.5)."""
    return SERVICE_DESK in actor.groups and not actor.is_auditor


def require_archive_reports(actor: Actor, what: str = "archive service reports") -> None:
    if not may_archive_reports(actor):
        raise Forbidden(f"{actor.username} may not {what}")


def may_track_reports(actor: Actor) -> bool:
    """The list of late and incomplete reports: the 质量管理员 and those above the reviews."""
    return bool(actor.groups & REPORT_TRACKERS)


def require_track_reports(actor: Actor) -> None:
    if not may_track_reports(actor):
        raise Forbidden(f"{actor.username} may not track the timeliness of service reports")


# --- the KPI dashboard (engine.desk.kpi, /reports) ---------------------------------------------------

KPI_READERS = MANAGER_GROUPS | {AUDITORS, QUALITY_ADMINS, REPORT_REVIEWERS}


def may_read_kpis(actor: Actor) -> bool:
    """The KPI dashboard, its drill-down lists and exports: managers, auditors, the quality administrator
    and the report reviewers (研发中心和工程部, seed 002)."""
    return bool(actor.groups & KPI_READERS)


def require_read_kpis(actor: Actor, what: str = "read the service reports") -> None:
    if not may_read_kpis(actor):
        raise Forbidden(f"{actor.username} may not {what} (managers, auditors and the quality administrator do)",
                        reason="kpis_forbidden", params={"username": actor.username})


# --- the requester's own answer to the service desk's call; the service desk's dispatching ------------

# 满意度回访 is the service desk's call to the requester (a task of its group); whoever raised the request may
# answer it themselves in the portal instead, and whichever answer comes first completes it.
SURVEY_FORMS = frozenset({"satisfaction"})


def answers_own_survey(task: TaskFacts, actor: Actor) -> bool:
    """Whether the actor may answer the service desk's survey as the requester who raised it (members of the
    service desk go by their group's rules)."""
    return (not actor.is_auditor and task.started_by == actor.username and task.candidate_group == SERVICE_DESK
            and SERVICE_DESK not in actor.groups and task.assignee != actor.username
            and task.form_key in SURVEY_FORMS)


def _own_surveys(me: str, groups: list[str], raised: Select[tuple[int]]) -> ColumnElement[bool] | None:
    """SQL of answers_own_survey (auditors aside); down the group index, like held_apart."""
    if SERVICE_DESK in groups:
        return None
    return and_(_tasks.c.candidate_group == SERVICE_DESK, _tasks.c.form_key.in_(sorted(SURVEY_FORMS)),
                _tasks.c.instance_id.in_(raised), or_(_tasks.c.assignee.is_(None), _tasks.c.assignee != me))


def may_dispatch(task: TaskFacts, actor: Actor) -> bool:
    """The service desk hands out the work of its own group within its flows (say, a call to the colleague
    who knows the customer), as managers do; 派发现场服务单 assigns the engineer it names through the form."""
    return (SERVICE_DESK in actor.groups and not actor.is_auditor and task.candidate_group == SERVICE_DESK
            and may_see_task(task, actor))


# --- chases and complaints (engine.desk.complaint) ------------------------------------------------

def may_see_chases(actor: Actor) -> bool:
    """The chases list of the inbox: the service desk (it answers the customers), managers and auditors."""
    return SERVICE_DESK in actor.groups or actor.is_manager or actor.is_auditor


def is_staff(person: Actor) -> bool:
    """Who a form's staff picker offers (the complaint's first-responsible person, engine.desk.pickers): the
    people who deliver the service, not customers, auditors or the users' administrators."""
    return bool(person.groups - {REQUESTERS, AUDITORS, USER_ADMINS})


def may_read_complaints(actor: Actor) -> bool:
    """Complaints counted per person (reports): who reads the SLA report."""
    return may_read_sla(actor)


def require_read_complaints(actor: Actor) -> None:
    if not may_read_complaints(actor):
        raise Forbidden(f"{actor.username} may not read the complaint records", reason="complaints_hidden",
                        params={"username": actor.username})


# --- finding requests: the agents' search and all-requests list (engine.desk.request_search, request_list) --

# Who finds every request: the service desk (it takes every request) and whoever reads every history.
REQUEST_FINDERS_OF_ALL = OVERSEERS | {SERVICE_DESK}


class FoundRequestFacts(Protocol):
    """What the finding rule reads of a request: who raised it, and the groups and people of its tasks (open
    or done: candidate groups, assignees, who completed them)."""

    @property
    def started_by(self) -> str | None: ...
    @property
    def task_groups(self) -> frozenset[str]: ...
    @property
    def task_people(self) -> frozenset[str]: ...


def may_search_requests(actor: Actor) -> bool:
    """The search box and the all-requests list: the agents (and auditors); requesters follow their own
    requests in the portal."""
    return may_use_inbox(actor)


def require_search_requests(actor: Actor) -> None:
    if not may_search_requests(actor):
        raise Forbidden(f"{actor.username} may not search requests (agents do; requesters see theirs in the "
                        "portal)", reason="request_search_forbidden", params={"username": actor.username})


def finds_every_request(actor: Actor) -> bool:
    return bool(actor.groups & REQUEST_FINDERS_OF_ALL)


def may_find_request(request: FoundRequestFacts, actor: Actor) -> bool:
    """A request in an agent's search or list: every one for the service desk and the overseers; for the
    others those they raised or one of whose tasks was their group's or theirs (another group's cases stay
    hidden)."""
    if not may_search_requests(actor):
        return False
    if finds_every_request(actor):
        return True
    return (request.started_by == actor.username or actor.username in request.task_people
            or bool(request.task_groups & (actor.groups - {REQUESTERS})))


def found_requests(actor: Actor) -> ColumnElement[bool]:
    """SQL of may_find_request, a condition on process_instance."""
    if not may_search_requests(actor):
        return false()
    if finds_every_request(actor):
        return true()
    me, groups = actor.username, sorted(actor.groups - {REQUESTERS})
    worked = or_(_tasks.c.assignee == me, _tasks.c.completed_by == me,
                 *([_tasks.c.candidate_group.in_(groups)] if groups else []))
    # Correlated: each candidate request's few tasks down ix_task_instance (bench/search.py measured it
    # against an IN over every task of the agent's groups, which reads the whole task table).
    return or_(_instances.c.started_by == me,
               exists(select(_tasks.c.id).where(_tasks.c.instance_id == _instances.c.id, worked)))


# --- attachments on requests and tasks (engine.desk.attachments) ------------------------------------
# `works_on_it`: the actor sees one of the request's tasks (may_see_task over its task records, open or
# done), which the engine reads from the database; the rules here only weigh it. A customer who sees a task
# of a colleague's request (a need owner's decision, engine.desk.zones) reads its customer-visible files.
ATTACHMENT_VISIBILITIES = ("customer", "internal")  # customer: the requester sees it; internal: staff only


def may_read_attachments(request: RequestFacts, actor: Actor, *, works_on_it: bool) -> bool:
    """Who sees the request or one of its tasks sees its attachments: the requester (customer-visible ones),
    the service desk, the agents working on it, the auditors and the overseers who read every history."""
    return may_view_instance(request, actor) or works_on_it


def require_read_attachments(request: RequestFacts, actor: Actor, *, works_on_it: bool) -> None:
    if not may_read_attachments(request, actor, works_on_it=works_on_it):
        require_view_request(request, actor)  # the portal's refusal: another customer learns nothing


def may_read_internal_attachments(request: RequestFacts, actor: Actor, *, works_on_it: bool) -> bool:
    """Internal attachments: staff who read the request's attachments; never a customer, not even on a
    request they raised."""
    return may_use_inbox(actor) and may_read_attachments(request, actor, works_on_it=works_on_it)


def may_attach(request: RequestFacts, actor: Actor, visibility: str, *, works_on_it: bool) -> bool:
    """Adding a file: the requester to their own request (customer-visible only), staff working on the request
    either kind; auditors never."""
    if actor.is_auditor:
        return False
    if is_agent_of(request, actor, works_on_it=works_on_it):  # the conversation's agents, below
        return True
    return visibility == "customer" and request.started_by == actor.username


def require_attach(request: RequestFacts, actor: Actor, visibility: str, *, works_on_it: bool) -> None:
    if may_attach(request, actor, visibility, works_on_it=works_on_it):
        return
    require_read_attachments(request, actor, works_on_it=works_on_it)  # a stranger: the same refusal as reading
    if actor.is_auditor:
        raise Forbidden(f"{actor.username} is an auditor: auditors read, they never change anything",
                        reason="auditor_read_only", params={"username": actor.username})
    raise Forbidden(f"{actor.username} may not add {visibility} attachments to request {request.id}: requesters "
                    "add customer-visible files to their own requests, staff working on the request either kind",
                    reason="attachment_forbidden", params={"username": actor.username, "instance_id": request.id})


# --- the conversation on a request (engine.desk.conversation) -------------------------------------
# `works_on_it`: the actor sees one of the request's tasks (may_see_task over its task records, open or
# done), which the engine reads from the database; the rules here only weigh it.

def is_agent_of(request: RequestFacts, actor: Actor, *, works_on_it: bool) -> bool:
    """Staff answering the request: the service desk (it takes every request) and whoever sees one of its
    tasks as a member of a group other than the customers'; auditors read, they are never agents."""
    return (may_use_inbox(actor) and not actor.is_auditor
            and (SERVICE_DESK in actor.groups or works_on_it))


def may_read_conversation(request: RequestFacts, actor: Actor, *, works_on_it: bool) -> bool:
    """The replies on a request: whoever follows it (requester, service desk, auditors), the overseers who
    read every history, and the agents working on it."""
    return may_view_instance(request, actor) or is_agent_of(request, actor, works_on_it=works_on_it)


def require_read_conversation(request: RequestFacts, actor: Actor, *, works_on_it: bool) -> None:
    if not may_read_conversation(request, actor, works_on_it=works_on_it):
        require_view_request(request, actor)  # the portal's refusal: another customer learns nothing


def may_read_internal_notes(request: RequestFacts, actor: Actor, *, works_on_it: bool) -> bool:
    """Internal work notes: staff only — the agents, the auditors and overseers; never a customer, not even
    on a request they raised (a member of staff who raised a request and does not work on it reads replies)."""
    return may_use_inbox(actor) and (is_agent_of(request, actor, works_on_it=works_on_it) or may_audit(actor))


def may_comment(request: RequestFacts, actor: Actor, visibility: str, *, works_on_it: bool) -> bool:
    """Posting on a request: a reply (the requester reads it) by its requester or an agent; an internal
    note by an agent only. Auditors never write."""
    if actor.is_auditor:
        return False
    if is_agent_of(request, actor, works_on_it=works_on_it):
        return True
    return visibility == "reply" and request.started_by == actor.username


def require_comment(request: RequestFacts, actor: Actor, visibility: str, *, works_on_it: bool) -> None:
    if may_comment(request, actor, visibility, works_on_it=works_on_it):
        return
    require_read_conversation(request, actor, works_on_it=works_on_it)  # a stranger: the same refusal as reading
    if actor.is_auditor:
        raise Forbidden(f"{actor.username} is an auditor: auditors read, they never change anything",
                        reason="auditor_read_only", params={"username": actor.username})
    what = "internal notes" if visibility == "internal" else "replies"
    raise Forbidden(f"{actor.username} may not post {what} on request {request.id}: replies are the requester's "
                    "and the agents' (the service desk and whoever works on the request), internal notes the "
                    "agents' only", reason="comment_forbidden",
                    params={"username": actor.username, "instance_id": request.id})


# --- notifications (engine.desk.notifications) -----------------------------------------------------

def may_read_notification(owner: str, actor: Actor) -> bool:
    """A notice is its recipient's alone: nobody else reads or marks it, auditors included."""
    return owner == actor.username


def notification_condition(owner: ColumnElement[str], actor: Actor) -> ColumnElement[bool]:
    """may_read_notification in its SQL form, on the column holding the recipient's name."""
    return owner == actor.username

