"""The modeler's side of the engine: drafts of diagrams per process and user, and deploying them.

A draft is a process owner's unfinished work, kept so a half-edited diagram survives a closed tab;
it is never run. Deploying from the modeler goes through engine.process.definitions like any deploy, with
the newest versions of the processes the diagram calls as extra files, and discards the draft.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from engine import access, clock
from engine.errors import InvalidDiagram, InvalidInput, NotFound, Problem
from engine.process import definitions, migration, runtime
from engine.status import InstanceStatus, TaskState
from engine.store.models import ProcessDefinition, ProcessDraft, ProcessInstance, TaskRecord
from engine.users import Actor

# A process id is an XML NCName; keeping to ASCII keeps it usable in URLs and file names.
PROCESS_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,199}")
MIGRATION_LIST_LIMIT = 500


def _check_process_id(process_id: str) -> None:
    if not PROCESS_ID.fullmatch(process_id):
        raise InvalidInput(f"{process_id!r} is not a process id (letters, digits, _ . -, starting with a letter)",
                           field_errors={"process_id": ["not a process id"]})


def _main_filename(session: Session, process_id: str) -> str:
    """The file name the process was deployed under, so versions of one process keep one name."""
    sources = session.scalars(select(ProcessDefinition.sources).where(ProcessDefinition.process_id == process_id)
                              .order_by(ProcessDefinition.version.desc()).limit(1)).first()
    return str(sources[0]["filename"]) if sources else f"{process_id}.bpmn"


def sources_for(session: Session, *, process_id: str, xml: str) -> list[definitions.SourceFile]:
    """The diagram as its main file, plus the newest deployed versions of the processes it calls."""
    _check_process_id(process_id)
    main = definitions.SourceFile(_main_filename(session, process_id), xml.encode("utf-8"))
    try:
        tree = definitions.load_xml(main)
    except InvalidDiagram:
        return [main]  # validate/deploy report why
    called = {str(c.get("calledElement")) for c in tree.getroot().iter(f"{{{definitions.BPMN_NS}}}callActivity")
              if c.get("calledElement")}
    own = {str(p.get("id")) for p in tree.getroot().iterfind("bpmn:process", definitions.NS)}
    sources = [main]
    for called_id in sorted(called - own):
        newest = session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_id == called_id)
                                 .order_by(ProcessDefinition.version.desc()).limit(1)).first()
        if newest is None:
            continue  # validation names the call activity whose process is missing
        for source in newest.sources:
            if all(s.filename != source["filename"] for s in sources):
                sources.append(definitions.SourceFile(source["filename"], source["xml"].encode("utf-8")))
    return sources


def validate_diagram(session: Session, *, process_id: str, xml: str) -> list[Problem]:
    """Every problem deploy would refuse, for the process of the modeler's diagram (never raises for the diagram)."""
    return definitions.validate(sources_for(session, process_id=process_id, xml=xml), process_id=process_id)


def deploy_diagram(session: Session, *, process_id: str, xml: str, comment: str | None,
                   actor: Actor) -> definitions.DeployResult:
    """Deploy the modeler's diagram as version N+1 (InvalidDiagram names each element at fault); drops the draft."""
    access.require_change_diagrams(actor, "deploy diagrams")
    result = definitions.deploy(session, sources_for(session, process_id=process_id, xml=xml),
                                user=actor.username, comment=comment, process_id=process_id)
    session.execute(delete(ProcessDraft).where(ProcessDraft.process_id == process_id,
                                               ProcessDraft.username == actor.username))
    session.flush()
    return result


def _draft_dict(draft: ProcessDraft, *, with_xml: bool = True) -> dict[str, Any]:
    found = {"process_id": draft.process_id, "username": draft.username, "base_version": draft.base_version,
             "saved_at": draft.saved_at, "size": len(draft.xml)}
    if with_xml:
        found["xml"] = draft.xml
    return found


def save_draft(session: Session, *, process_id: str, xml: str, actor: Actor,
               base_version: int | None = None) -> dict[str, Any]:
    """Keep the diagram as the actor's draft of the process, replacing the previous one.

    A draft may be an invalid diagram, but it must be BPMN XML that is safe to load (size, no DOCTYPE).
    """
    access.require_change_diagrams(actor, "save drafts")
    _check_process_id(process_id)
    definitions.load_xml(definitions.SourceFile(f"{process_id}.bpmn", xml.encode("utf-8")))
    draft = session.scalars(select(ProcessDraft).where(ProcessDraft.process_id == process_id,
                                                       ProcessDraft.username == actor.username)).first()
    if draft is None:
        draft = ProcessDraft(process_id=process_id, username=actor.username, xml=xml)
        session.add(draft)
    draft.xml, draft.base_version, draft.saved_at = xml, base_version, clock.now()
    session.flush()
    return _draft_dict(draft, with_xml=False)


def get_draft(session: Session, *, process_id: str, username: str) -> dict[str, Any] | None:
    """The user's draft of the process, with its XML, or None."""
    draft = session.scalars(select(ProcessDraft).where(ProcessDraft.process_id == process_id,
                                                       ProcessDraft.username == username)).first()
    return _draft_dict(draft) if draft is not None else None


def list_drafts(session: Session, *, username: str) -> list[dict[str, Any]]:
    """The user's drafts, newest first, without their XML."""
    found = session.scalars(select(ProcessDraft).where(ProcessDraft.username == username)
                            .order_by(ProcessDraft.saved_at.desc()))
    return [_draft_dict(draft, with_xml=False) for draft in found]


def discard_draft(session: Session, *, process_id: str, actor: Actor) -> bool:
    """Delete the actor's draft of the process; False when there was none."""
    access.require_change_diagrams(actor, "discard drafts")
    deleted = session.execute(delete(ProcessDraft).where(ProcessDraft.process_id == process_id,
                                                         ProcessDraft.username == actor.username))
    session.flush()
    return bool(getattr(deleted, "rowcount", 0))


def modeler_page(session: Session, *, process_id: str | None, version: int | None, username: str,
                 use_draft: bool = False) -> dict[str, Any]:
    """What the modeler opens: a deployed version (or the user's draft of it), the user's draft if any,
    and the deployed processes a call activity may call."""
    processes = definitions.list_definitions(session)
    draft = get_draft(session, process_id=process_id, username=username) if process_id else None
    page: dict[str, Any] = {"process_id": process_id, "version": None, "newest_version": None, "xml": None,
                            "draft": draft, "from_draft": False, "processes": processes}
    if process_id is None:
        return page
    newest = next((p["newest_version"] for p in processes if p["process_id"] == process_id), None)
    page["newest_version"] = newest
    if use_draft and draft is not None:
        page.update(xml=draft["xml"], version=draft["base_version"], from_draft=True)
        return page
    if newest is None:
        if draft is None:
            definitions.get_definition(session, process_id)  # raises NotFound, naming the process
        page.update(xml=draft["xml"] if draft else None, version=None, from_draft=draft is not None)
        return page
    definition = definitions.get_definition(session, process_id, version)
    page.update(xml=definition.sources[0]["xml"], version=definition.version)
    return page


def diagram_xml(session: Session, *, process_id: str, version: int | None = None) -> dict[str, Any]:
    """The main file of a deployed version, for showing it (diffs, read-only views)."""
    definition = definitions.get_definition(session, process_id, version)
    return {"process_id": process_id, "version": definition.version, "xml": definition.sources[0]["xml"]}


def running_instances(session: Session, *, process_id: str) -> dict[str, Any]:
    """Running instances of the process on versions other than the newest, with the tasks they wait in:
    what a process owner may move to another version (engine.process.migration.preview_migration / migrate_instance)."""
    rows = session.execute(select(ProcessDefinition.id, ProcessDefinition.version, ProcessDefinition.comment)
                           .where(ProcessDefinition.process_id == process_id)
                           .order_by(ProcessDefinition.version.desc())).all()
    if not rows:
        definitions.get_definition(session, process_id)  # raises NotFound
    newest = rows[0]
    version_of = {row.id: row.version for row in rows}
    count = session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.process_id == process_id, ProcessInstance.status == InstanceStatus.RUNNING,
        ProcessInstance.definition_id != newest.id)) or 0
    instances = list(session.execute(
        select(ProcessInstance.id, ProcessInstance.definition_id, ProcessInstance.title, ProcessInstance.started_by,
               ProcessInstance.started_at)
        .where(ProcessInstance.process_id == process_id, ProcessInstance.status == InstanceStatus.RUNNING,
               ProcessInstance.definition_id != newest.id)
        .order_by(ProcessInstance.id).limit(MIGRATION_LIST_LIMIT)))
    waiting: dict[int, list[dict[str, Any]]] = {}
    if instances:
        for task in session.execute(select(TaskRecord.instance_id, TaskRecord.element_id, TaskRecord.name)
                                    .where(and_(TaskRecord.instance_id.in_([i.id for i in instances]),
                                                TaskRecord.state == TaskState.READY))
                                    .order_by(TaskRecord.id)):
            waiting.setdefault(task.instance_id, []).append({"element_id": task.element_id, "name": task.name})
    return {
        "process_id": process_id, "newest_version": newest.version,
        "versions": [{"version": row.version, "comment": row.comment} for row in rows],
        "count": count, "limit": MIGRATION_LIST_LIMIT,
        "instances": [{"id": i.id, "version": version_of[i.definition_id], "title": i.title,
                       "started_by": i.started_by, "started_at": i.started_at, "waiting": waiting.get(i.id, [])}
                      for i in instances],
    }


def overview(session: Session, *, username: str) -> dict[str, Any]:
    """The modeler's start page: every deployed process with its newest version and how many instances run
    on it and on older versions, and the user's drafts."""
    newest = {p["process_id"]: p["newest_version"] for p in definitions.list_definitions(session)}
    counts = session.execute(
        select(ProcessInstance.process_id, ProcessDefinition.version, func.count())
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(ProcessInstance.status == InstanceStatus.RUNNING)
        .group_by(ProcessInstance.process_id, ProcessDefinition.version)).all()
    running: dict[str, dict[str, int]] = {pid: {"newest": 0, "older": 0} for pid in newest}
    for process_id, version, count in counts:
        if process_id in running:
            running[process_id]["newest" if version == newest[process_id] else "older"] += count
    processes = [{"process_id": pid, "newest_version": version, "running_newest": running[pid]["newest"],
                  "running_older": running[pid]["older"]} for pid, version in newest.items()]
    return {"processes": processes, "drafts": list_drafts(session, username=username)}


def _instance_of(session: Session, process_id: str, instance_id: int) -> None:
    found = session.scalar(select(ProcessInstance.process_id).where(ProcessInstance.id == instance_id))
    if found != process_id:
        raise NotFound(f"process {process_id!r} has no instance {instance_id}", process_id=process_id,
                       reason="instance_not_of_process", params={"process_id": process_id, "instance_id": instance_id})


def preview_migration(session: Session, *, process_id: str, instance_id: int, to_version: int) -> dict[str, Any]:
    """migration.preview_migration for an instance of this process (the modeler's pages are per process)."""
    _instance_of(session, process_id, instance_id)
    return migration.preview_migration(session, instance_id=instance_id, to_version=to_version)


def migrate_instance(session: Session, *, process_id: str, instance_id: int, to_version: int,
                     actor: Actor) -> runtime.InstanceRef:
    """migration.migrate_instance for an instance of this process; the caller gives each its own transaction."""
    _instance_of(session, process_id, instance_id)
    return migration.migrate_instance(session, instance_id=instance_id, to_version=to_version, actor=actor)
