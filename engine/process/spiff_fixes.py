"""Adjustments to SpiffWorkflow 3.2.0 that opsflow relies on, in one place.

- Task-tree walks stop silently at depth 1000 (`max_depth` default of the task iterators): a
  loop such as 遗留问题 adds ~4 levels per turn, so after ~248 turns new tasks became invisible
  and `is_completed()` turned True. We lift the default far beyond any real case.
- Timer code reads the wall clock directly; `engine.clock.install()` routes it through ours.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator

from engine import clock

MAX_TREE_DEPTH = 10**7


def _lift_depth_limit(cls: type, max_depth_position: int) -> None:
    defaults = list(cls.__init__.__defaults__ or ())  # type: ignore[misc]
    if defaults[max_depth_position] != MAX_TREE_DEPTH:
        defaults[max_depth_position] = MAX_TREE_DEPTH
        cls.__init__.__defaults__ = tuple(defaults)  # type: ignore[misc]


def apply() -> None:
    """Idempotent; called when the runtime is imported."""
    # (end_at_spec, max_depth, depth_first, …): max_depth is the second default in both.
    _lift_depth_limit(TaskIterator, 1)
    _lift_depth_limit(BpmnTaskIterator, 1)
    clock.install()
