"""The engine's one clock: real time by default, settable for tests and replay.

SpiffWorkflow reads `datetime.now(timezone.utc)` for timers in a single module; we point that
module at a `datetime` subclass whose `now()` asks this clock, so timers, history and replay
all see the same time.
"""
from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

_local = threading.local()


def _real_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def now() -> _dt.datetime:
    """Current UTC time (aware), or the frozen/offset time a test or replay set."""
    source: Callable[[], _dt.datetime] | None = getattr(_local, "source", None)
    return source() if source else _real_now()


@contextmanager
def frozen(at: _dt.datetime) -> Iterator[Callable[[_dt.timedelta], None]]:
    """Freeze the clock at `at` for this thread; yields `advance(delta)` to move it."""
    state = {"at": at}
    previous = getattr(_local, "source", None)
    _local.source = lambda: state["at"]

    def advance(delta: _dt.timedelta) -> None:
        state["at"] = state["at"] + delta

    try:
        yield advance
    finally:
        _local.source = previous


class _EngineDatetime(_dt.datetime):
    """`datetime` whose `now()` reads the engine clock; used inside SpiffWorkflow's timer module."""

    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> _dt.datetime:  # type: ignore[override]
        current = now()
        return current.astimezone(tz) if tz else current.replace(tzinfo=None)


def install() -> None:
    """Route SpiffWorkflow's timer clock through ours (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _EngineDatetime


P = ParamSpec("P")
R = TypeVar("R")


def one_instant(function: Callable[P, R]) -> Callable[P, R]:
    """Run a whole state change at one instant of the engine clock, so every time it records —
    event times, timer due times, lateness — is exactly reproducible on replay."""
    @wraps(function)
    def at_one_instant(*args: P.args, **kwargs: P.kwargs) -> R:
        with frozen(now()):
            return function(*args, **kwargs)
    return at_one_instant
