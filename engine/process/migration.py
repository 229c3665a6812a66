"""Moving a running instance to another deployed version of its process (opt-in, previewed first).

Migration is possible when every element the instance has passed or waits in exists in the target
version (by id): the token then continues on the new diagram from where it stands. The move itself is
one state change (engine.process.runtime.change_version, advancing through engine.process.step.migrate)
and is recorded in the instance's history.
"""
from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from engine import access
from engine.errors import Conflict, NotFound
from engine.process import definitions, runtime
from engine.store.models import ProcessDefinition, ProcessInstance
from engine.users import Actor

_instances = cast(Table, ProcessInstance.__table__)


def _spec_names(state: str) -> set[str]:
    """Every task spec the saved workflow refers to (top level and sub-processes)."""
    dct = json.loads(state)
    names = {task["task_spec"] for task in dct["tasks"].values()}
    for sub in dct.get("subprocesses", {}).values():
        names |= {task["task_spec"] for task in sub["tasks"].values()}
    return names


def _user_task_facts(spec: Any) -> dict[str, Any]:
    extensions = getattr(spec, "extensions", None) or {}
    return {"name": getattr(spec, "bpmn_name", None), "group": extensions.get("candidateGroups"),
            "form_key": extensions.get("formKey"), "lane": getattr(spec, "lane", None)}


def preview_migration(session: Session, *, instance_id: int, to_version: int) -> dict[str, Any]:
    """What moving a running instance to another version of its process would do."""
    instance = session.connection().execute(
        select(_instances.c.process_id, _instances.c.definition_id, _instances.c.status, _instances.c.workflow_state)
        .where(_instances.c.id == instance_id)).one_or_none()
    if instance is None:
        raise NotFound(f"instance {instance_id} does not exist")
    current = session.get(ProcessDefinition, instance.definition_id)
    assert current is not None
    target = definitions.get_definition(session, instance.process_id, to_version)
    old = definitions.parsed(current)
    new = definitions.parsed(target)
    all_new = {name for spec in [new.spec, *new.subprocess_specs.values()] for name in spec.task_specs}
    missing = sorted(_spec_names(str(instance.workflow_state)) - all_new)
    waiting = []
    for row in session.connection().execute(runtime.SELECT_OPEN_TASKS, {"instance_id": instance_id}):
        old_spec = old.spec.task_specs.get(row.element_id)
        new_spec = new.spec.task_specs.get(row.element_id)
        before, after = _user_task_facts(old_spec), _user_task_facts(new_spec)
        waiting.append({"task_id": row.id, "element_id": row.element_id, "exists": new_spec is not None,
                        "changes": {k: {"from": before[k], "to": after[k]} for k in before
                                    if new_spec is not None and before[k] != after[k]}})
    problems = []
    if instance.status != "running":
        problems.append(f"instance is {instance.status}")
    if target.id == current.id:
        problems.append(f"instance already runs on version {current.version}")
    if missing:
        problems.append(f"version {target.version} lacks elements this instance uses: {', '.join(missing)}")
    return {"instance_id": instance_id, "process_id": instance.process_id, "from_version": current.version,
            "to_version": target.version, "can_migrate": not problems, "problems": problems, "missing": missing,
            "waiting": waiting}


def migrate_instance(session: Session, *, instance_id: int, to_version: int, actor: Actor) -> runtime.InstanceRef:
    """Move a running instance to another version of its process (opt-in; one transaction)."""
    access.require_change_diagrams(actor, "migrate instances")
    preview = preview_migration(session, instance_id=instance_id, to_version=to_version)
    if not preview["can_migrate"]:
        raise Conflict(f"instance {instance_id} cannot move to version {to_version}: "
                       + "; ".join(preview["problems"]), process_id=preview["process_id"], version=to_version)
    target = definitions.get_definition(session, preview["process_id"], to_version)
    return runtime.change_version(session, instance_id=instance_id, target=target, actor=actor.username,
                                  payload={"from_version": preview["from_version"], "to_version": target.version,
                                           "to_definition_id": target.id, "waiting": preview["waiting"]})
