"""Auditors' pages: the instance list, one instance's history, its replay on the diagram, the exports, and
verifying every instance. Read only: nothing here changes an instance, and any write is answered with 403."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, jsonify, render_template, request
from flask_babel import gettext

import forms
from app.audit import bp
from app.audit.schemas import (
    CHANGE_NAMES,
    CHECK_NAMES,
    KIND_NAMES,
    SLA_STATE_NAMES,
    SLA_TARGET_NAMES,
    HistoryArgs,
    InstancesArgs,
    StepSchema,
)
from app.web.display import STATUS_NAMES, when
from app.web.form_display import display_value
from app.web.i18n import locale
from app.web.requests import load_args
from app.web.session import actor, unit_of_work
from engine.audit import views as audit_views
from engine.audit.verification import abbreviate
from engine.errors import Forbidden, NotFound

EXPORT_TYPES = {"json": "application/json; charset=utf-8", "csv": "text/csv; charset=utf-8"}
# Excel on Chinese Windows reads a CSV file without a byte-order mark as GBK and garbles it.
UTF8_BOM = "\ufeff"
WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]


def when_exact(value: dt.datetime | str | None) -> str:
    """A time to the second: the order of events one second apart matters to an auditor."""
    return when(value, "yyyy-MM-dd HH:mm:ss")


class FieldNames:
    """Labels and readable values of instance data keys, from the forms the instance's events name."""

    def __init__(self, events: Iterable[Mapping[str, Any]]):
        self.specs: dict[str, forms.Field] = {}
        for event in events:
            form_key = (event.get("payload") or {}).get("form_key")
            try:
                definition = forms.get_form(form_key) if form_key else None
            except forms.UnknownFormKey:
                continue
            for spec in definition.fields if definition else ():
                self.specs.setdefault(spec.id, spec)

    def label(self, key: str) -> str:
        spec = self.specs.get(key)
        return spec.label(locale()) if spec else key

    def value(self, key: str, value: Any) -> str:
        return display_value(self.specs.get(key), value)

    def is_known(self, key: str) -> bool:
        return key in self.specs

    def pairs(self, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [(self.label(key), self.value(key, value)) for key, value in data.items()]


_NAMES = {"kind_names": KIND_NAMES, "sla_target_names": SLA_TARGET_NAMES, "sla_state_names": SLA_STATE_NAMES,
          "change_names": CHANGE_NAMES, "check_names": CHECK_NAMES, "when_exact": when_exact,
          "abbreviate": abbreviate}


@bp.get("/")
def index() -> Any:
    args = load_args(InstancesArgs(), request.args)
    with unit_of_work() as session:
        page = audit_views.instances_page(session, actor=actor(), **args)
    filters = {"process": args["process_id"] or "", "status": args["status"] or ""}
    return render_template("audit/index.html", page=page, filters=filters, limit=args["limit"], **_NAMES)


@bp.get("/verify")
def verify() -> Any:
    with unit_of_work() as session:
        summary = audit_views.verify_summary(session, actor=actor())
    return render_template("audit/verify.html", summary=summary, **_NAMES)


@bp.get("/instances/<int:instance_id>")
def history(instance_id: int) -> Any:
    args = load_args(HistoryArgs(), request.args)
    with unit_of_work() as session:
        page = audit_views.history_page(session, instance_id=instance_id, actor=actor(), **args)
    filters = {"kind": args["kind"] or "", "actor": args["who"] or ""}
    return render_template("audit/instance.html", page=page, filters=filters, names=FieldNames(page["events"]),
                           **_NAMES)


@bp.get("/instances/<int:instance_id>/export.<any(json, csv):fmt>")
def export(instance_id: int, fmt: str) -> Any:
    with unit_of_work() as session:
        document = audit_views.export_history(session, instance_id=instance_id, fmt=fmt, actor=actor())
    if fmt == "csv":
        document = UTF8_BOM + document
    # content_type, not mimetype: Flask would add a second charset to a text/* mimetype.
    return Response(document, content_type=EXPORT_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="opsflow-instance-{instance_id}-history.{fmt}"'})


@bp.get("/instances/<int:instance_id>/replay")
def replay(instance_id: int) -> Any:
    with unit_of_work() as session:
        page = audit_views.replay_page(session, instance_id=instance_id, actor=actor())
    labels = {"kinds": {kind: str(name) for kind, name in KIND_NAMES.items()},
              "status": {"not_started": gettext("not started yet"), "running": str(STATUS_NAMES["running"]),
                         "completed": str(STATUS_NAMES["completed"])},
              "diverges": gettext("Re-execution disagrees with this event:"), "none": "—"}
    return render_template("audit/replay.html", page=page, labels=labels, **_NAMES)


@bp.get("/instances/<int:instance_id>/steps.json")
def steps(instance_id: int) -> Any:
    """The diagram and the state after each event, for replay.js; labels and times in the page's language."""
    with unit_of_work() as session:
        found = audit_views.replay_steps(session, instance_id=instance_id, actor=actor())
    names = FieldNames(step["event"] for step in found["steps"])
    shown = [{**step, "at_text": when_exact(step["event"]["at"]), "data": names.pairs(step["data"]),
              "waiting_timers": [{**t, "due_text": when_exact(t["due_at"])} for t in step["waiting_timers"]]}
             for step in found["steps"]]
    return jsonify(instance_id=instance_id, xml=found["xml"], steps=StepSchema(many=True).dump(shown))


@bp.route("/", methods=WRITE_METHODS, endpoint="refuse_root")
@bp.route("/<path:anything>", methods=["GET", *WRITE_METHODS])
def refuse(anything: str = "") -> Any:
    """Nothing here changes anything: writes are refused outright, whoever sends them (a 403, not a 405
    that would suggest some other method might do)."""
    if request.method in ("GET", "HEAD"):
        raise NotFound(f"there is no audit page at {request.path}", reason="audit_page_missing",
                       params={"path": request.path})
    raise Forbidden(f"the audit pages are read only; {request.method} {request.path} is refused",
                    reason="audit_read_only", params={"method": request.method, "path": request.path})
