"""Saving and loading workflow state, and the in-process cache that makes most loads free.

The process spec is never stored in the instance state: it is the deployed definition, parsed
once and cached (engine.process.definitions). Finished tasks never change, so their JSON fragments are
kept with the live workflow (LiveInstance) and reused: saving costs string joins for the old part of the tree
and real work only for what changed in this step.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import takewhile
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.process.definitions import ParsedDefinition
from engine.process.expressions import SCRIPT_ENGINE

STATE_FORMAT = 1
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.ERROR

_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
_registry = _serializer.registry
_encoder = _serializer._encoder_cls
_workflow_converter: Any = _registry.convert_to_dict[_registry.typenames[BpmnWorkflow]].args[1].__self__
_registry_lock = threading.Lock()  # the registry's encoder mode is a shared flag
_TASK_TYPENAME = _registry.typenames[Task]


_json = _encoder(separators=(",", ":"))


def spiff_task_fragment(task: Any) -> str:
    """A task as SpiffWorkflow's own converter writes it: the reference `_task_fragment` must match."""
    with _registry_lock:
        _registry._encoder_mode = True
        try:
            return json.dumps(_registry.convert(task), cls=_encoder, separators=(",", ":"))
        finally:
            _registry._encoder_mode = False


def _task_fragment(task: Any) -> str:
    """The same JSON as `spiff_task_fragment`, written directly: a quarter faster on the hot path of
    every step (tests/bpmn/conftest.py compares every saved state with the reference)."""
    parent = task.workflow.tasks.get(task._parent)
    if parent is None:
        data, delta = task.data, {}
    else:
        parent_data, own = parent.data, task.data
        data = {}
        delta = {"updates": {k: v for k, v in own.items() if k not in parent_data or v != parent_data[k]},
                 "deletions": [k for k in parent_data if k not in own]}
    internal = task.internal_data
    return _json.encode({
        "id": str(task.id), "parent": str(task._parent) if parent is not None else None,
        "children": [str(child) for child in task._children], "last_state_change": task.last_state_change,
        "state": task.state, "task_spec": task.task_spec.name, "triggered": task.triggered,
        "internal_data": _registry.clean(internal), "data": data, "delta": delta, "typename": _TASK_TYPENAME})


def _fragment_key(task: Any) -> tuple[Any, ...] | None:
    """What a task's fragment depends on, when that is cheap to tell; None: serialize it afresh.

    A finished task never changes again. A predicted task (or any other) holding no data of its own
    is stored as "delete every key of the parent's data", so its fragment changes only with its
    state, children, internal data or the parent's key set — not with the parent's values.
    """
    if task.state & _FINISHED:
        return (task.state, task.last_state_change, len(task._children))
    parent = task.parent
    if task.data or parent is None:
        return None
    internal = task.internal_data
    return (task.state, task.last_state_change, tuple(task._children), task.triggered, tuple(parent.data),
            repr(internal) if internal else None)


# Finished tasks a compaction must be able to drop before it happens: ordinary instances never
# reach it (a service-desk request finishes with ~80 tasks), so their saved state stays complete.
COMPACT_AFTER = 256


def compact(workflow: BpmnWorkflow, *, threshold: int = COMPACT_AFTER) -> tuple[UUID, ...]:
    """Drop finished history the workflow can no longer need; returns the ids of the tasks that went
    or were re-attached (their saved fragments are void), none when nothing was dropped.

    SpiffWorkflow keeps every turn of a loop in its task tree and walks the whole tree several
    times per step, so steps slow down as loops turn (bare SpiffWorkflow: 0.4 ms after 5 turns of
    the 遗留问题 loop, 4.5 ms after 200). Everything above the lowest common ancestor of the
    unfinished tasks and the last completed one is finished, and so is every side branch hanging
    off that path: nothing can run there again and no pending task refers to it. That ancestor is
    re-attached under the root and the rest removed. What happened stays in the history (the audit
    re-executes from events, and calls this at the same points, so both trees stay alike). Skipped
    for workflows with sub-processes, whose tasks live in workflows of their own.
    """
    if workflow.subprocesses:
        return ()
    tasks, root = workflow.tasks, workflow.task_tree
    if len(tasks) < threshold:  # every ordinary step: no scan at all
        return ()
    anchors = [t for t in tasks.values() if not t.state & _FINISHED]
    if not anchors or len(tasks) - len(anchors) < threshold:
        return ()
    if workflow.last_task is not None:
        anchors.append(workflow.last_task)
    common: list[UUID] | None = None
    for task in anchors:
        path = []
        while task is not None:
            path.append(task.id)
            task = task.parent
        path.reverse()
        common = path if common is None else [a for a, _ in takewhile(lambda pair: pair[0] == pair[1],
                                                                          zip(common, path, strict=False))]
    top_id = common[-1] if common else root.id
    if top_id == root.id:
        return ()
    keep, stack = {root.id}, [top_id]
    while stack:
        task_id = stack.pop()
        keep.add(task_id)
        stack.extend(tasks[task_id]._children)
    dropped = [task_id for task_id in tasks if task_id not in keep]
    if len(dropped) < threshold:
        return ()
    for task_id in dropped:
        del tasks[task_id]
    tasks[top_id]._parent = root.id
    root._children = [top_id]
    return (*dropped, top_id, root.id)


Fragments = dict[UUID, tuple[Any, str]]


def dump(workflow: BpmnWorkflow, fragments: Fragments | None = None) -> str:
    """Serialize a workflow without its spec; with `fragments` (kept between steps of one live workflow),
    reuses the JSON of tasks that did not change."""
    if fragments is None:
        fragments = {}
    with _registry_lock:
        _registry._encoder_mode = True
        try:
            parts = []
            for task_id, task in workflow.tasks.items():
                key = _fragment_key(task)
                cached = fragments.get(task_id)
                if cached is not None and cached[0] == key:
                    fragment = cached[1]
                else:
                    fragment = _task_fragment(task)
                    if key is not None:
                        fragments[task_id] = (key, fragment)
                parts.append(f'"{task_id}":{fragment}')
            header = {
                "opsflow_state": STATE_FORMAT,
                "serializer_version": _serializer.VERSION,
                "data": _registry.clean(workflow.data),
                "correlations": workflow.correlations,
                "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
                "success": workflow.success,
                "completed": workflow.completed,
                "root": str(workflow.task_tree.id),
                "subprocesses": {str(k): _registry.convert(v) for k, v in workflow.subprocesses.items()},
                "bpmn_events": _registry.convert(workflow.bpmn_events),
            }
            head = json.dumps(header, cls=_encoder, separators=(",", ":"))
        finally:
            _registry._encoder_mode = False
    return head[:-1] + ',"tasks":{' + ",".join(parts) + "}}"


def load(state: str, definition: ParsedDefinition) -> BpmnWorkflow:
    """Rebuild a workflow from `dump` output and the cached spec of its definition version."""
    dct = json.loads(state)
    if dct.get("opsflow_state") != STATE_FORMAT:
        raise ValueError(f"unknown workflow state format {dct.get('opsflow_state')!r}")
    workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=SCRIPT_ENGINE,
                            deserializing=True)
    workflow.tasks = _workflow_converter.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
    _workflow_converter.set_default_attributes(workflow, dct)
    _workflow_converter.subprocesses_from_dict(dct["subprocesses"], workflow)
    workflow.bpmn_events = _registry.restore(dct.get("bpmn_events", []))
    return workflow


def new_workflow(definition: ParsedDefinition) -> BpmnWorkflow:
    return BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=SCRIPT_ENGINE)


@dataclass(frozen=True)
class OpenTask:
    """An open task record: its id and element."""

    id: int
    element_id: str


@dataclass(frozen=True)
class TrackedTimer:
    """A pending timer row: its id and due time."""

    id: int
    due_at: dt.datetime


@dataclass(eq=False)
class LiveInstance:
    """A live workflow and what is known about it at one instance version: its open task records and
    pending timer rows by SpiffWorkflow task id (None until read from the tables), and the saved JSON
    of its unchanged tasks. Cached as one object, valid exactly as long as that version (records and
    rows only change through engine.process.runtime, under the same version as the workflow)."""

    workflow: BpmnWorkflow
    open_tasks: dict[str, OpenTask] | None = None
    timers: dict[str, TrackedTimer] | None = None
    fragments: Fragments = field(default_factory=dict)

    def forget(self, task_ids: tuple[UUID, ...]) -> None:
        """Drop the saved JSON of tasks that went or changed place (after a compaction)."""
        for task_id in task_ids:
            self.fragments.pop(task_id, None)


class WorkflowCache:
    """Live instances keyed by instance, valid only for the lock_version they were saved at.

    `checkout` removes the entry, so two threads of one process never share a workflow object;
    `checkin` happens after commit only, so a rolled-back change never reaches the cache.
    """

    def __init__(self, max_entries: int = 500):
        self.max_entries = max_entries
        self._entries: OrderedDict[int, tuple[int, LiveInstance]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def checkout(self, instance_id: int, lock_version: int) -> LiveInstance | None:
        with self._lock:
            entry = self._entries.pop(instance_id, None)
            if entry is not None and entry[0] == lock_version:
                self.hits += 1
                return entry[1]
            self.misses += 1
            return None

    def checkin(self, instance_id: int, lock_version: int, live: LiveInstance) -> None:
        with self._lock:
            self._entries[instance_id] = (lock_version, live)
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


workflow_cache = WorkflowCache()
