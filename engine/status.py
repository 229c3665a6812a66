"""The closed sets of states the engine stores as strings (instances, tasks, timers): one StrEnum each.

Members are str, so they compare equal to the stored text, serialise as their value (JSON, the
hash chain) and need no conversion when read back from the database.
"""
from __future__ import annotations

from enum import StrEnum


class InstanceStatus(StrEnum):
    """process_instance.status"""

    RUNNING = "running"
    COMPLETED = "completed"
    ERROR = "error"


class TaskState(StrEnum):
    """task_record.state"""

    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TimerStatus(StrEnum):
    """timer.status"""

    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


class TimerKind(StrEnum):
    """timer.kind: the BPMN event the timer belongs to."""

    BOUNDARY = "boundary"
    INTERMEDIATE = "intermediate"
    START = "start"
