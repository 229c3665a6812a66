"""Modeler pages: the editor (bpmn-js), validate/deploy/draft posts, versions with diff and rollback,
migration of running instances. Process owners act; auditors read; everyone else is refused."""
from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext
from flask_login import current_user

import config as config_module
import forms
from app.modeler import bp, names
from app.modeler.bpmn_texts import bpmn_js_texts
from app.modeler.problems import problem_dicts
from app.modeler.schemas import (
    DeployArgs,
    DeployedSchema,
    DiagramArgs,
    DiffArgs,
    DraftSchema,
    MigrationArgs,
    ProblemSchema,
    ProcessArgs,
    RollbackArgs,
    migration_input,
)
from app.web.display import group_name
from app.web.i18n import locale
from app.web.requests import load_args
from app.web.session import actor, login_manager, unit_of_work
from engine import access, users
from engine.errors import InvalidDiagram, OpsflowError
from engine.process import drafts, versions
from engine.process.definitions import MAX_FILE_BYTES

CAMUNDA_MODDLE = config_module.ROOT / "node_modules" / "camunda-bpmn-moddle" / "resources"


@bp.before_request
def _owners_and_auditors() -> Any:
    """Auditors read every page; only process owners post (validate, deploy, drafts, rollback, migrate)."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    access.require_read_diagrams(actor())
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        access.require_change_diagrams(actor(), "change process diagrams")
    return None


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"bpmn_js_texts": bpmn_js_texts}


def _may_edit() -> bool:
    return access.may_change_diagrams(actor())


def _posted_json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _editor_choices() -> dict[str, Any]:
    """What the properties panel offers: form keys with their titles, and the groups."""
    form_choices = sorted(({"key": key, "title": forms.get_form(key).title(locale())} for key in forms.form_keys()),
                          key=lambda choice: choice["key"])
    return {"forms": form_choices, "groups": [{"id": group_id, "name": group_name(group_id)}
                                              for group_id in users.GROUPS if group_id != "auditor"]}


# --- the editor -----------------------------------------------------------------------------------

@bp.get("/")
def index() -> Any:
    with unit_of_work() as session:
        found = drafts.overview(session, username=actor().username)
    return render_template("modeler/index.html", processes=found["processes"], drafts=found["drafts"],
                           may_edit=_may_edit())


def _editor(page: dict[str, Any], *, is_new: bool) -> Any:
    max_bytes = min(MAX_FILE_BYTES, current_app.config["MAX_CONTENT_LENGTH"])
    return render_template("modeler/edit.html", page=page, is_new=is_new, may_edit=_may_edit(),
                           choices=_editor_choices(), max_bytes=max_bytes, element_types=names.moddle_types())


@bp.get("/new")
def new() -> Any:
    access.require_change_diagrams(actor(), "create diagrams")
    with unit_of_work() as session:
        page = drafts.modeler_page(session, process_id=None, version=None, username=actor().username)
    return _editor(page, is_new=True)


@bp.get("/<process_id>")
def edit(process_id: str) -> Any:
    args = load_args(ProcessArgs(), {**request.args, "process_id": process_id})
    with unit_of_work() as session:
        page = drafts.modeler_page(session, process_id=args["process_id"], version=args["version"],
                                   username=actor().username, use_draft=args["draft"])
    return _editor(page, is_new=page["newest_version"] is None)


@bp.get("/<process_id>/xml")
def diagram(process_id: str) -> Any:
    """A deployed version's XML as JSON (the diff page draws it)."""
    args = load_args(ProcessArgs(), {**request.args, "process_id": process_id})
    with unit_of_work() as session:
        found = drafts.diagram_xml(session, process_id=args["process_id"], version=args["version"])
    return jsonify(found)


@bp.get("/camunda-moddle.json")
def camunda_moddle() -> Any:
    """The Camunda moddle descriptor (npm camunda-bpmn-moddle), so bpmn-js keeps camunda:* attributes."""
    if not (CAMUNDA_MODDLE / "camunda.json").is_file():
        abort(404)
    return send_from_directory(CAMUNDA_MODDLE, "camunda.json", max_age=24 * 3600)


@bp.post("/<process_id>/validate")
def validate(process_id: str) -> Any:
    args = load_args(DiagramArgs(), {**_posted_json(), "process_id": process_id})
    with unit_of_work() as session:
        problems = drafts.validate_diagram(session, process_id=args["process_id"], xml=args["xml"])
    return jsonify(valid=not problems, problems=ProblemSchema(many=True).dump(problem_dicts(problems)))


def _refused(error: InvalidDiagram) -> Any:
    """A refused diagram as JSON, its problems in the page's language (the modeler shows them by element)."""
    problems = ProblemSchema(many=True).dump(problem_dicts(error.problems))
    return jsonify({**error.to_dict(), "problems": problems}), error.status


@bp.post("/<process_id>/deploy")
def deploy(process_id: str) -> Any:
    """Deploy as version N+1; a refused diagram answers 422 with `problems`."""
    args = load_args(DeployArgs(), {**_posted_json(), "process_id": process_id})
    try:
        with unit_of_work() as session:
            result = drafts.deploy_diagram(session, process_id=args["process_id"], xml=args["xml"],
                                           comment=args["comment"], actor=actor())
    except InvalidDiagram as error:
        return _refused(error)
    return jsonify(**DeployedSchema().dump(result),
                   versions_url=url_for("modeler.version_list", process_id=result.process_id),
                   modeler_url=url_for("modeler.edit", process_id=result.process_id))


@bp.post("/<process_id>/draft")
def save_draft(process_id: str) -> Any:
    args = load_args(DiagramArgs(), {**_posted_json(), "process_id": process_id})
    try:
        with unit_of_work() as session:
            saved = drafts.save_draft(session, process_id=args["process_id"], xml=args["xml"], actor=actor(),
                                      base_version=args["base_version"])
    except InvalidDiagram as error:
        return _refused(error)
    return jsonify(DraftSchema().dump(saved))


@bp.post("/<process_id>/draft/discard")
def discard_draft(process_id: str) -> Any:
    args = load_args(ProcessArgs(), {"process_id": process_id})
    with unit_of_work() as session:
        drafts.discard_draft(session, process_id=args["process_id"], actor=actor())
    flash(gettext("Your draft was discarded."), "success")
    return redirect(url_for("modeler.index"))


# --- versions -------------------------------------------------------------------------------------

@bp.get("/<process_id>/versions")
def version_list(process_id: str) -> Any:
    args = load_args(ProcessArgs(), {"process_id": process_id})
    with unit_of_work() as session:
        rows = versions.versions(session, args["process_id"])
    return render_template("modeler/versions.html", process_id=args["process_id"], rows=rows, may_edit=_may_edit())


@bp.get("/<process_id>/diff")
def diff(process_id: str) -> Any:
    args = load_args(DiffArgs(), {**request.args, "process_id": process_id})
    with unit_of_work() as session:
        found = versions.diff(session, args["process_id"], args["from_version"], args["to_version"])
    return render_template("modeler/diff.html", process_id=args["process_id"], diff=found,
                           element_type=names.element_type, diff_field=names.diff_field)


@bp.get("/<process_id>/versions/<int:version>/rollback")
def confirm_rollback(process_id: str, version: int) -> Any:
    args = load_args(ProcessArgs(), {"process_id": process_id, "version": version})
    with unit_of_work() as session:
        rows = versions.versions(session, args["process_id"])
    chosen = next((row for row in rows if row["version"] == version), None)
    if chosen is None:
        abort(404)
    return render_template("modeler/rollback.html", process_id=args["process_id"], chosen=chosen, newest=rows[0],
                           may_edit=_may_edit())


@bp.post("/<process_id>/versions/<int:version>/rollback")
def rollback(process_id: str, version: int) -> Any:
    args = load_args(RollbackArgs(), request.form)
    checked = load_args(ProcessArgs(), {"process_id": process_id, "version": version})
    with unit_of_work() as session:
        result = versions.rollback(session, checked["process_id"], version, user=actor().username,
                                   comment=args["comment"] or None)
    flash(gettext("Version %(old)d is deployed again as version %(new)d; new requests use it.",
                  old=version, new=result.version), "success")
    return redirect(url_for("modeler.version_list", process_id=result.process_id))


# --- migration ------------------------------------------------------------------------------------

def _migration_page(process_id: str, args: dict[str, Any], *, outcomes: list[dict[str, Any]] | None = None,
                    status: int = 200) -> Any:
    with unit_of_work() as session:
        listing = drafts.running_instances(session, process_id=process_id)
    to_version = args["to_version"] or listing["newest_version"]
    previews = []
    if outcomes is None:
        for instance_id in args["instances"]:
            try:
                with unit_of_work() as session:
                    preview = drafts.preview_migration(session, process_id=process_id, instance_id=instance_id,
                                                       to_version=to_version)
                previews.append({"instance_id": instance_id, **preview})
            except OpsflowError as error:
                previews.append({"instance_id": instance_id, "can_migrate": False, "problems": [str(error)],
                                 "waiting": [], "missing": []})
    return render_template("modeler/migrate.html", process_id=process_id, listing=listing, to_version=to_version,
                           chosen=set(args["instances"]), previews=previews, outcomes=outcomes or [],
                           may_edit=_may_edit()), status


@bp.get("/<process_id>/migrate")
def migrate_page(process_id: str) -> Any:
    """Running instances on older versions; with `instance` parameters, a preview of moving each."""
    checked = load_args(ProcessArgs(), {"process_id": process_id})
    args = load_args(MigrationArgs(), migration_input(request.args))
    return _migration_page(checked["process_id"], args)


@bp.post("/<process_id>/migrate")
def migrate(process_id: str) -> Any:
    """Move each chosen instance in its own transaction: one refused instance does not hold back the others."""
    checked = load_args(ProcessArgs(), {"process_id": process_id})
    args = load_args(MigrationArgs(), migration_input(request.form))
    if args["to_version"] is None:
        abort(400)
    outcomes = []
    for instance_id in args["instances"]:
        try:
            with unit_of_work() as session:
                moved = drafts.migrate_instance(session, process_id=checked["process_id"], instance_id=instance_id,
                                                to_version=args["to_version"], actor=actor())
            outcomes.append({"instance_id": instance_id, "ok": True, "status": moved.status, "message": None})
        except OpsflowError as error:
            outcomes.append({"instance_id": instance_id, "ok": False, "status": None, "message": str(error)})
    return _migration_page(checked["process_id"], {**args, "instances": []}, outcomes=outcomes)
