"""What went wrong, in the user's language: engine errors worded from their `reason` (or `code`) and
`params`, never by translating the engine's English message; CSRF and HTTP errors likewise.

An error whose reason has no wording here keeps its English message (marked lang="en"); a test
checks that every reason raised in engine/ and app/ has one.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import request
from flask_babel import lazy_gettext
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from app.web.display import data, group_name, process_name, when
from engine.errors import OpsflowError

# By the error's reason (or, for errors that are one thing only, its code).
DETAILS: dict[str, LazyString] = {
    # Why the restricted evaluator refused an expression (also the modeler's problem detail).
    "expression_empty": lazy_gettext("the expression is empty"),
    "expression_too_long": lazy_gettext("the expression is longer than %(limit)s characters"),
    "expression_syntax": lazy_gettext("%(source)s does not parse (%(detail)s)"),
    "expression_syntax_not_allowed": lazy_gettext("%(node)s is not allowed in an expression: %(source)s"),
    "expression_underscore_name": lazy_gettext("names starting with _ are not allowed: %(name)s in %(source)s"),
    "expression_dunder_string": lazy_gettext("strings containing __ are not allowed in %(source)s"),
    "expression_function": lazy_gettext("function %(name)s is not allowed (allowed: %(allowed)s) in %(source)s"),
    "expression_assign_target": lazy_gettext("only plain names can be assigned in %(source)s"),
    "expression_statement": lazy_gettext("%(node)s is not allowed in a script: %(source)s"),
    "database_busy": lazy_gettext("The database is busy (locked by another process); try again in a moment."),
    "user_missing": lazy_gettext("There is no active user %(username)s."),
    "process_missing": lazy_gettext("Process %(process_id)s is not deployed."),
    "version_missing": lazy_gettext("Version %(version)s of %(process_id)s is not deployed."),
    "definition_missing": lazy_gettext("Process definition %(definition_id)s does not exist."),
    "instance_missing": lazy_gettext("Instance %(instance_id)s does not exist."),
    "instance_not_of_process": lazy_gettext("%(process_id)s has no instance %(instance_id)s."),
    "task_missing": lazy_gettext("Task %(task_id)s does not exist."),
    "notification_missing": lazy_gettext("Notification %(notification_id)s does not exist."),
    "task_completed": lazy_gettext("Task %(task_id)s (%(task)s) was already completed by %(completed_by)s "
                                   "at %(completed_at)s."),
    "task_hidden_assigned": lazy_gettext("Task %(task_id)s (%(task)s) is assigned to %(assignee)s; "
                                         "%(username)s may not see it."),
    "task_hidden_group": lazy_gettext("Task %(task_id)s (%(task)s) is for the group %(group)s; "
                                      "%(username)s may not see it."),
    "request_missing": lazy_gettext("Request %(instance_id)s does not exist."),
    "request_of_someone_else": lazy_gettext("Request %(instance_id)s was raised by someone else."),
    "request_search_forbidden": lazy_gettext("%(username)s may not search requests; your own requests are under "
                                             "My requests."),
    "request_number_missing": lazy_gettext("There is no request %(number)s you may see."),
    "saved_filter_missing": lazy_gettext("Saved filter %(filter_id)s does not exist."),
    "saved_filter_exists": lazy_gettext("You already have a filter named “%(name)s”."),
    "saved_filter_group": lazy_gettext("A filter is shared only with one of your own groups, not %(group_id)s."),
    "saved_filters_too_many": lazy_gettext("You have %(limit)s saved filters already; delete one first."),
    "directory_hidden": lazy_gettext("%(username)s may not list users."),
    "sla_policy_missing": lazy_gettext("There is no SLA policy for fault level %(level)s."),
    "sla_report_forbidden": lazy_gettext("%(username)s may not read the SLA report or policy: managers, the "
                                         "service desk, process owners and auditors may."),
    "sla_policy_edit_forbidden": lazy_gettext("%(username)s may not change the SLA policy: process owners do."),
    "process_owners_only": lazy_gettext("Only process owners may do this; %(username)s is not one."),
    "history_readers_only": lazy_gettext("%(username)s may not read instance histories: auditors, process owners "
                                         "and managers may."),
    "auditor_read_only": lazy_gettext("%(username)s is an auditor: auditors read, they never change anything."),
    "audit_page_missing": lazy_gettext("There is no audit page at %(path)s."),
    "audit_read_only": lazy_gettext("The audit pages are read only; %(method)s %(path)s is refused."),
    "modeler_forbidden": lazy_gettext("%(username)s may not use the modeler: it is for process owners "
                                      "(and auditors, to read)."),
    "draft_create_forbidden": lazy_gettext("%(username)s may not create diagrams (process owners do)."),
    "user_admins_only": lazy_gettext("%(username)s may not administer users: members of the user "
                                     "administrators group do."),
    "user_admin_log_hidden": lazy_gettext("%(username)s may not read the user administration log: user "
                                          "administrators and auditors may."),
    "customers_hidden": lazy_gettext("%(username)s may not read the customer archive."),
    "customer_keepers_only": lazy_gettext("%(username)s may not change customers, contracts or zones: the "
                                          "service desk and managers do."),
    "user_unknown": lazy_gettext("There is no user %(username)s."),
    "username_invalid": lazy_gettext("A user name is 1–100 letters, digits, '.', '_' or '-', starting with a "
                                     "letter or digit."),
    "username_taken": lazy_gettext("The user name %(username)s is taken already."),
    "groups_empty": lazy_gettext("Choose at least one group."),
    "groups_unknown": lazy_gettext("There is no group %(groups)s."),
    "display_name_long": lazy_gettext("The display name is longer than 200 characters."),
    "email_invalid": lazy_gettext("%(email)s is not an e-mail address."),
    "password_empty": lazy_gettext("Enter a password."),
    "password_short": lazy_gettext("The password is too short: at least %(minimum)s characters."),
    "password_has_username": lazy_gettext("The password must not contain the user name."),
    "password_one_kind": lazy_gettext("The password needs letters and also digits or other signs."),
    "last_user_admin": lazy_gettext("%(username)s is the last active user administrator: make someone else one "
                                    "first."),
    "own_groups": lazy_gettext("%(username)s cannot change their own groups: another user administrator does."),
    "deactivate_self": lazy_gettext("You cannot deactivate yourself (%(username)s)."),
    "user_already_inactive": lazy_gettext("%(username)s is deactivated already."),
    "user_already_active": lazy_gettext("%(username)s is active already."),
    "viewer_missing": lazy_gettext("The diagram viewer is not installed (run scripts/install)."),
    "token_missing": lazy_gettext("There is no API token %(token_id)s of yours."),
    "token_scope": lazy_gettext("This API token is not for %(scope)s."),
    "version_mismatch": lazy_gettext("Request no. %(instance_id)s changed meanwhile (version %(version)s, you had "
                                     "%(expected)s): nothing was saved; load it again."),
    "alerts_forbidden": lazy_gettext("%(username)s may not open requests from monitoring alerts: the service desk "
                                     "does."),
    "alert_levels_forbidden": lazy_gettext("%(username)s may not change the alert level mapping: process owners do."),
    "swagger_ui_missing": lazy_gettext("The API documentation viewer is not installed (run scripts/install)."),
    "parts_readers_only": lazy_gettext("%(username)s may not read the spare-parts store."),
    "parts_keepers_only": lazy_gettext("%(username)s may not change the spare-parts store: managers do."),
    "parts_request_forbidden": lazy_gettext("%(username)s may not ask for parts approvals."),
    "parts_approvers_only": lazy_gettext("%(username)s may not approve the use of parts: managers do."),
    "parts_own_approval": lazy_gettext("%(username)s may not decide their own request for parts approval."),
    "kpis_forbidden": lazy_gettext("%(username)s may not read the service reports: managers, auditors, the "
                                      "quality administrator and the report reviewers may."),
    "charts_missing": lazy_gettext("The chart library is not installed (run scripts/install)."),
    "export_format_missing": lazy_gettext("There is no export as %(format)s: CSV or XLSX."),
    # Chases and complaints (engine.desk.complaint).
    "chase_too_soon": lazy_gettext("Request %(instance_id)s was chased at %(last_at)s. One chase per %(minutes)s "
                                   "minutes: the next is possible from %(next_at)s."),
    "complaint_not_by_hand": lazy_gettext("A complaint flow is started from a request (its 3rd chase, the complaint "
                                          "channel or category complaint), not by hand."),
    "complaints_hidden": lazy_gettext("%(username)s may not read the complaint records."),
    # Attachments (engine.desk.attachments).
    "attachment_too_large": lazy_gettext("%(filename)s is larger than the limit of %(limit_size)s per file."),
    "attachment_upload_too_large": lazy_gettext("The file sent is larger than the limit of %(limit_size)s per "
                                                "file; nothing was attached."),
    "attachment_name_missing": lazy_gettext("The file has no name."),
    "attachment_empty": lazy_gettext("%(filename)s is empty."),
    "attachment_type_refused": lazy_gettext("%(filename)s: files of this type are not accepted (accepted: "
                                            "%(allowed)s)."),
    "attachment_content_refused": lazy_gettext("%(filename)s contains a %(found)s, which is never accepted."),
    "attachment_content_mismatch": lazy_gettext("%(filename)s is not a %(expected)s file: its content looks like "
                                                "%(found)s."),
    "attachment_visibility": lazy_gettext("%(visibility)s is not a visibility of attachments."),
    "attachment_forbidden": lazy_gettext("%(username)s may not add such a file to request %(instance_id)s: "
                                         "requesters attach files to their own requests, staff working on the "
                                         "request may also attach files for staff only."),
    "attachment_task_missing": lazy_gettext("Request %(instance_id)s has no task %(task_id)s."),
    "attachment_request_closed": lazy_gettext("Request %(instance_id)s is closed: %(filename)s was not attached."),
    "attachment_too_many": lazy_gettext("%(filename)s was not attached: request %(instance_id)s already has "
                                        "%(limit)s files, the most it may have."),
    "attachment_missing": lazy_gettext("Attachment %(attachment_id)s does not exist."),
    "attachment_content_missing": lazy_gettext("The content of attachment %(attachment_id)s (%(filename)s) is "
                                               "missing from the file store."),
    # The conversation on a request (engine.desk.conversation).
    "comment_forbidden": lazy_gettext("%(username)s may not post this on request %(instance_id)s: replies are the "
                                      "requester's and the agents', internal notes the agents' only."),
    "comment_empty": lazy_gettext("The message is empty."),
    "comment_too_long": lazy_gettext("The message is %(length)s characters long; at most %(limit)s are allowed."),
    "comment_not_text": lazy_gettext("The message contains characters that are not text."),
    "comment_visibility": lazy_gettext("A message is a reply or an internal note, not %(visibility)s."),
    "conversation_closed": lazy_gettext("Request %(instance_id)s is closed; replies are no longer possible. "
                                        "Raise a new request if something remains."),
}

# flask-wtf names a CSRF failure only by an English sentence; these are all it sends.
CSRF_DETAILS: dict[str, LazyString] = {
    "The CSRF token is missing.": lazy_gettext("The form was sent without its security token."),
    "The CSRF session token is missing.": lazy_gettext("Your session holds no security token: it has ended, "
                                                       "or the browser does not keep cookies for this site."),
    "The CSRF token has expired.": lazy_gettext("The form's security token has expired."),
    "The CSRF token is invalid.": lazy_gettext("The form's security token is not valid."),
    "The CSRF tokens do not match.": lazy_gettext("The form's security token belongs to another session."),
    "The referrer header is missing.": lazy_gettext("The browser did not say which page sent the form."),
    "The referrer does not match the host.": lazy_gettext("The form was sent from another site."),
}
_CSRF_OTHER = lazy_gettext("The form's security check failed.")

# Werkzeug's descriptions are English; the statuses opsflow answers with get these.
HTTP_DETAILS: dict[int, LazyString] = {
    400: lazy_gettext("The request to %(path)s was malformed."),
    404: lazy_gettext("There is no page at %(path)s."),
    405: lazy_gettext("%(method)s is not allowed at %(path)s."),
    413: lazy_gettext("The data sent to %(path)s is larger than the limit."),
}


def _shown(key: str, value: Any) -> Markup:
    """A parameter as the page shows it: times in the display time zone, names for group and process ids."""
    if isinstance(value, dt.datetime):
        return data(when(value))
    if key == "group":
        return data(group_name(value))
    if key == "process_id" and value is not None:
        return data(process_name(value, value))
    return data(value)


def _worded(template: LazyString, params: Mapping[str, Any]) -> Markup | None:
    try:
        return escape(str(template)) % {key: _shown(key, value) for key, value in params.items()}
    except (KeyError, TypeError, ValueError):  # a wording and its raise site disagree: keep the English
        return None


def describe(error: OpsflowError) -> Markup:
    """The error's detail line in the page's language; its English message where no wording exists."""
    template = DETAILS.get(error.reason or error.code)
    worded = _worded(template, error.params) if template is not None else None
    return worded if worded is not None else Markup('<span lang="en">{}</span>').format(str(error))


def describe_csrf(reason: str | None) -> str:
    return str(CSRF_DETAILS.get(reason or "", _CSRF_OTHER))


def describe_http(error: HTTPException) -> Markup | None:
    template = HTTP_DETAILS.get(error.code or 500)
    return _worded(template, {"path": request.path, "method": request.method}) if template is not None else None
