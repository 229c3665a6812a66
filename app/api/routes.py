"""/api/v1: processes, instances, tasks, SLA and the knowledge base, for a personal token's user. Views are
thin: arguments through a schema, one engine call in one unit of work, a schema for the answer."""
from __future__ import annotations

from typing import Any

from flask import url_for
from flask_smorest import Blueprint, Page

import forms
from app.api.auth import actor, etag, expected_version, token_required
from app.api.schemas import (
    AssignArgs,
    AtRiskSchema,
    CommentArgs,
    CommentListArgs,
    CommentSchema,
    CompleteArgs,
    HistoryEventSchema,
    InstanceSchema,
    KnowledgeArgs,
    KnowledgeSchema,
    PolicySchema,
    ProcessDetailSchema,
    ProcessSchema,
    RequestPageSchema,
    RequestsArgs,
    RequestSchema,
    StartArgs,
    TaskListArgs,
    TaskSchema,
)
from app.conversation import routes as comments
from app.notifications.schemas import MarkedSchema, NotificationListArgs, NotificationPageSchema
from app.web.i18n import locale
from app.web.session import unit_of_work
from engine import access, users
from engine.desk import conversation, knowledge, notifications, request_list, request_search, sla, tasks
from engine.process import definitions, runtime


def documented_errors(blp: Blueprint, *statuses: int) -> Any:
    """The problem+json answers an operation may give, listed in the OpenAPI document."""
    names = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT",
             412: "PRECONDITION_FAILED", 422: "UNPROCESSABLE_ENTITY", 428: "PRECONDITION_REQUIRED"}

    def decorate(view: Any) -> Any:
        for status in (401, 403, *statuses):
            view = blp.alt_response(status, response=names[status])(view)
        return view
    return decorate


# Ids in paths are <int:…> (app.web.requests.DatabaseIdConverter): a larger id than the column holds is not found (404)
# rather than an error of the database driver.
IF_MATCH = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
            "description": 'The ETag of the task\'s instance ("<instance id>.<lock version>"); 428 without it, '
                           "412 when the instance changed since"}

processes = Blueprint("api_processes", __name__, url_prefix="/api/v1/processes",
                      description="Deployed processes; starting an instance")
instances = Blueprint("api_instances", __name__, url_prefix="/api/v1/instances",
                      description="Instances (requests) and their history")
task_api = Blueprint("api_tasks", __name__, url_prefix="/api/v1/tasks",
                     description="Tasks: list, claim, release, assign, complete (If-Match required)")
sla_api = Blueprint("api_sla", __name__, url_prefix="/api/v1/sla", description="SLA policies and targets at risk")
knowledge_api = Blueprint("api_knowledge", __name__, url_prefix="/api/v1/knowledge",
                          description="Knowledge-base search")
requests_api = Blueprint("api_requests", __name__, url_prefix="/api/v1/requests",
                         description="The agents' request search and list; a request by its number")
notification_api = Blueprint("api_notifications", __name__, url_prefix="/api/v1/notifications",
                             description="My notifications: list, mark read")
BLUEPRINTS = (processes, instances, task_api, sla_api, knowledge_api, requests_api, notification_api)
for _blueprint in BLUEPRINTS:
    token_required(_blueprint, "api")


# --- processes --------------------------------------------------------------------------------------

@processes.get("")
@processes.response(200, ProcessSchema(many=True))
@processes.paginate(Page)
@documented_errors(processes)
def list_processes() -> Any:
    """Every deployed process with its newest version."""
    with unit_of_work() as session:
        return definitions.list_definitions(session)


@processes.get("/<process_id>")
@processes.response(200, ProcessDetailSchema)
@documented_errors(processes, 404)
def get_process(process_id: str) -> Any:
    """The newest version of a process, with the fields of its start form."""
    with unit_of_work() as session:
        definition = definitions.get_definition(session, process_id)
        found = {"process_id": definition.process_id, "name": definition.name, "version": definition.version,
                 "start_form_key": definition.start_form_key, "deployed_at": definition.deployed_at}
    form = forms.get_form(definition.start_form_key) if definition.start_form_key else None
    found["start_form"] = [{"id": f.id, "type": f.type, "required": f.required, "label_zh": f.label_zh,
                            "label_en": f.label_en, "choices": [c._asdict() for c in f.choices]}
                           for f in (form.fields if form else ())]
    return found


@processes.post("/<process_id>/instances")
@processes.arguments(StartArgs)
@processes.response(201, InstanceSchema)
@documented_errors(processes, 404, 422)
def start_instance(args: dict[str, Any], process_id: str) -> Any:
    """Start an instance (raise a request) with its start form's data."""
    who = actor()
    with unit_of_work() as session:
        started = runtime.start_instance(session, process_id=process_id, data=args["data"], actor=who,
                                         version=args["version"])
        found = tasks.visible_instance(session, instance_id=started.id, actor=who)
    return found, 201, {"ETag": etag(found["id"], found["lock_version"]),
                        "Location": url_for("api_instances.get_instance", instance_id=found["id"])}


# --- instances --------------------------------------------------------------------------------------

@instances.get("/<int:instance_id>")
@instances.response(200, InstanceSchema, headers={"ETag": {"schema": {"type": "string"}}})
@documented_errors(instances, 404)
def get_instance(instance_id: int) -> Any:
    """An instance and its open tasks; its ETag is the lock version that task changes must name."""
    with unit_of_work() as session:
        found = tasks.visible_instance(session, instance_id=instance_id, actor=actor())
    return found, 200, {"ETag": etag(instance_id, found["lock_version"])}


@instances.get("/<int:instance_id>/history")
@instances.response(200, HistoryEventSchema(many=True))
@instances.paginate(page_size=50, max_page_size=500)
@documented_errors(instances, 404)
def instance_history(instance_id: int, pagination_parameters: Any) -> Any:
    """The instance's hash-chained history, oldest first."""
    with unit_of_work() as session:
        events, total = tasks.visible_history(session, instance_id=instance_id, actor=actor(),
                                              limit=pagination_parameters.page_size,
                                              offset=pagination_parameters.first_item)
    pagination_parameters.item_count = total
    return events


@instances.get("/<int:instance_id>/comments")
@instances.arguments(CommentListArgs, location="query")
@instances.response(200, CommentSchema(many=True))
@instances.paginate(page_size=50, max_page_size=200)
@documented_errors(instances, 404, 422)
def list_comments(args: dict[str, Any], instance_id: int, pagination_parameters: Any) -> Any:
    """The request's conversation, oldest first: replies, and internal notes for the agents and auditors."""
    with unit_of_work() as session:
        comments, total = conversation.comments_page(session, instance_id=instance_id, actor=actor(),
                                                     visibility=args["visibility"],
                                                     limit=pagination_parameters.page_size,
                                                     offset=pagination_parameters.first_item)
    pagination_parameters.item_count = total
    return [c.to_dict() for c in comments]


@instances.post("/<int:instance_id>/comments")
@instances.arguments(CommentArgs)
@instances.response(201, CommentSchema)
@documented_errors(instances, 404, 409, 422)
def post_comment(args: dict[str, Any], instance_id: int) -> Any:
    """Post a reply (the requester reads it; while the request is open) or an internal note (agents only)."""
    return comments.post(instance_id, who=actor(), body=args["body"], visibility=args["visibility"]).to_dict(), 201


# --- tasks ------------------------------------------------------------------------------------------

@task_api.get("")
@task_api.arguments(TaskListArgs, location="query")
@task_api.response(200, TaskSchema(many=True))
@task_api.paginate(page_size=50, max_page_size=200)
@documented_errors(task_api, 422)
def list_tasks(args: dict[str, Any], pagination_parameters: Any) -> Any:
    """Open tasks by engine.access's rules: the ones I may work (default), hold, or see."""
    with unit_of_work() as session:
        rows, total = tasks.tasks_page(session, actor=actor(), scope=args["scope"], process_id=args["process_id"],
                                       fault_level=args["fault_level"], limit=pagination_parameters.page_size,
                                       offset=pagination_parameters.first_item)
    pagination_parameters.item_count = total
    return rows


@task_api.get("/<int:task_id>")
@task_api.response(200, TaskSchema, headers={"ETag": {"schema": {"type": "string"}}})
@documented_errors(task_api, 404)
def get_task(task_id: int) -> Any:
    """A task; its ETag is its instance's."""
    with unit_of_work() as session:
        found = tasks.visible_task(session, task_id=task_id, actor=actor())
    return found, 200, {"ETag": etag(found["instance_id"], found["instance_version"])}


def _change_task(task_id: int, verb: str, change: Any) -> Any:
    """Check the task is visible, then If-Match against its instance's version, then make the change."""
    who = actor()
    with unit_of_work() as session:
        found = tasks.visible_task(session, task_id=task_id, actor=who, verb=verb)
        expected = expected_version(found["instance_id"])
        if expected is not None:
            runtime.require_version(session, instance_id=found["instance_id"], expected=expected)
        change(session, who)
        if expected is not None:
            runtime.require_version(session, instance_id=found["instance_id"], expected=expected, after_change=True)
        found = tasks.visible_task(session, task_id=task_id, actor=who)
    return found, 200, {"ETag": etag(found["instance_id"], found["instance_version"])}


@task_api.post("/<int:task_id>/claim")
@task_api.response(200, TaskSchema)
@task_api.doc(parameters=[IF_MATCH])
@documented_errors(task_api, 404, 409, 412, 428)
def claim(task_id: int) -> Any:
    """Take a task of my group, so no colleague works on it at the same time (409 if one did first)."""
    return _change_task(task_id, "claim",
                        lambda session, who: runtime.claim_task(session, task_id=task_id, actor=who))


@task_api.post("/<int:task_id>/release")
@task_api.response(200, TaskSchema)
@task_api.doc(parameters=[IF_MATCH])
@documented_errors(task_api, 404, 409, 412, 428)
def release(task_id: int) -> Any:
    """Give a claimed task back to its group."""
    return _change_task(task_id, "release",
                        lambda session, who: runtime.release_task(session, task_id=task_id, actor=who))


@task_api.post("/<int:task_id>/assign")
@task_api.arguments(AssignArgs(only=("assignee",)))
@task_api.response(200, TaskSchema)
@task_api.doc(parameters=[IF_MATCH])
@documented_errors(task_api, 404, 409, 412, 422, 428)
def assign(args: dict[str, Any], task_id: int) -> Any:
    """A manager hands a task to a member of its group."""
    return _change_task(task_id, "assign", lambda session, who: runtime.assign_task(
        session, task_id=task_id, assignee=users.actor(session, args["assignee"]), actor=who))


@task_api.post("/<int:task_id>/complete")
@task_api.arguments(CompleteArgs)
@task_api.response(200, TaskSchema)
@task_api.doc(parameters=[IF_MATCH])
@documented_errors(task_api, 404, 409, 412, 422, 428)
def complete(args: dict[str, Any], task_id: int) -> Any:
    """Complete a task with its form's data; the instance runs on until it waits again."""
    return _change_task(task_id, "complete", lambda session, who: runtime.complete_task(
        session, task_id=task_id, data=args["data"], actor=who))


# --- SLA and knowledge ------------------------------------------------------------------------------

@sla_api.get("/policies")
@sla_api.response(200, PolicySchema(many=True))
@documented_errors(sla_api)
def policies() -> Any:
    """Each fault level's targets."""
    access.require_read_sla(actor(), "read the SLA policy")
    with unit_of_work() as session:
        return sla.list_policies(session)


@sla_api.get("/at-risk")
@sla_api.response(200, AtRiskSchema(many=True))
@documented_errors(sla_api)
def at_risk() -> Any:
    """Open targets past their warning point or already missed."""
    access.require_read_sla(actor())
    with unit_of_work() as session:
        return sla.at_risk(session)


@knowledge_api.get("")
@knowledge_api.arguments(KnowledgeArgs, location="query")
@knowledge_api.response(200, KnowledgeSchema)
@documented_errors(knowledge_api, 422)
def search(args: dict[str, Any]) -> Any:
    """Solutions matching the words (best first) and filters; requesters see approved ones only."""
    who = actor()
    with unit_of_work() as session:
        return knowledge.search(session, actor=who, text=args["text"], kind=args["kind"], system=args["system"],
                                device_type=args["device_type"], category=args["category"], status=args["status"],
                                author=who.username if args["mine"] else None, limit=args["page_size"],
                                offset=(args["page"] - 1) * args["page_size"])


# --- requests -----------------------------------------------------------------------------------------

@requests_api.get("")
@requests_api.arguments(RequestsArgs, location="query")
@requests_api.response(200, RequestPageSchema)
@documented_errors(requests_api, 422)
def list_requests(args: dict[str, Any]) -> Any:
    """Requests I may find (agents; 403 for requesters): with `q` the search's best matches, without it the
    list, newest first or by `sort`; the list's filters either way."""
    filters = {key: args[key] for key in request_list.FILTER_KEYS}
    with unit_of_work() as session:
        if args["q"].strip():
            found = request_search.search(session, actor=actor(), text=args["q"], page=args["page"],
                                          page_size=args["page_size"], filters=filters)
            return {"requests": found.rows, "page": found.page, "has_more": found.has_more, "total": None,
                    "terms": found.terms}
        listed = request_list.list_requests(session, actor=actor(), filters=filters, page=args["page"],
                                            page_size=args["page_size"])
        return {"requests": listed.rows, "page": listed.page, "has_more": listed.has_more, "total": listed.total,
                "terms": []}


@requests_api.get("/<string(maxlength=40):number>")
@requests_api.response(200, RequestSchema)
@documented_errors(requests_api, 404)
def get_request(number: str) -> Any:
    """A request by its number (INC-2026-000123); 404 for one I may not find, as for one that does not exist."""
    with unit_of_work() as session:
        return request_list.by_number(session, number=number, actor=actor())
# --- notifications ----------------------------------------------------------------------------------

@notification_api.get("")
@notification_api.arguments(NotificationListArgs, location="query")
@notification_api.response(200, NotificationPageSchema)
@documented_errors(notification_api, 422)
def list_notifications(args: dict[str, Any]) -> Any:
    """My in-app notifications, newest first, in my language, with how many are unread."""
    with unit_of_work() as session:
        items, total, unread = notifications.list_for(session, actor=actor(), unread_only=args["unread"],
                                                      limit=args["limit"], offset=args["offset"], locale=locale())
    return {"items": items, "total": total, "unread": unread}


@notification_api.post("/<int:notification_id>/read")
@notification_api.response(200, MarkedSchema)
@documented_errors(notification_api, 404)
def mark_notification_read(notification_id: int) -> Any:
    """Mark one of my notifications read (404 for anyone else's)."""
    with unit_of_work() as session:
        marked = notifications.mark_read(session, actor=actor(), notification_id=notification_id)
        unread = notifications.unread_count(session, actor=actor())
    return {"marked": marked, "unread": unread}


@notification_api.post("/read-all")
@notification_api.response(200, MarkedSchema)
@documented_errors(notification_api)
def mark_all_notifications_read() -> Any:
    """Mark all my notifications read."""
    with unit_of_work() as session:
        marked = notifications.mark_read(session, actor=actor())
    return {"marked": marked, "unread": 0}
