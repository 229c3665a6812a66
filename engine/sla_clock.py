"""The SLA clock: when a target falls due on a policy's calendar, and how a pause moves the deadlines.

Pure functions of their arguments (no database, no engine clock), shared by the desk, which sets the
deadlines (engine.desk.sla), and the audit, which re-derives every recorded pause (engine.audit.verification).

Calendars:
- "7x24": every hour counts (seed 001 §5.4, §6.1: 7×24 service); a target of 24 h is due 24 h later.
- "workdays": only working hours of Chinese working days count, from the package chinesecalendar
  (public holidays and the make-up working days, 调休, of each year). Hours are local (Asia/Shanghai).
  For a year the package has no data for (1.11.0 covers 2004-2026), Monday to Friday count as working
  days: a deadline there may fall on a holiday nobody has published yet; `covered_until` tells how far
  the data goes, and the SLA page says so.

Pauses: while a case waits on the customer the clock stands still. When it runs again, every deadline
still ahead at the pause's start moves by the working time the pause took: on 7×24 exactly the paused
duration, on a working calendar the working time that was left runs from the end of the pause. Once the
case is resolved (`sla_resolved` set) its targets are measured: a later wait (the satisfaction callback)
stops no clock, and the desk records no pause for it (a pause recorded anyway would move nothing).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

ALWAYS = "7x24"
WORKDAYS = "workdays"
KINDS = (ALWAYS, WORKDAYS)
ZONE = ZoneInfo("Asia/Shanghai")
PREFIX = "sla_"
NEVER = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
# Instance variables of the clock itself (not deadlines).
CALENDAR = f"{PREFIX}calendar"
PAUSES = f"{PREFIX}pauses"
RESOLVED = f"{PREFIX}resolved"  # when the case was first resolved: the clock of its targets stopped then


def covered_until() -> dt.date:
    """The last day chinesecalendar has holiday data for."""
    return dt.date(max(chinese_calendar.constants.holidays).year, 12, 31)


@lru_cache(maxsize=4096)
def is_workday(day: dt.date) -> bool:
    """A Chinese working day (make-up Saturdays included, public holidays not); beyond the package's
    data, Monday to Friday."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def _clock_time(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


@dataclass(frozen=True)
class Calendar:
    kind: str = ALWAYS
    start: str = "09:00"  # working hours (local), for "workdays"
    end: str = "18:00"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown SLA calendar {self.kind!r}: use {' or '.join(KINDS)}")
        if self.kind == WORKDAYS and not _clock_time(self.start) < _clock_time(self.end):
            raise ValueError(f"working hours {self.start}-{self.end}: the start must come before the end")

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, value: dict[str, Any] | None) -> Calendar:
        return cls(**value) if value else cls()

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The working hours of `day` in UTC, None on a day off."""
        if not is_workday(day):
            return None
        opens = dt.datetime.combine(day, _clock_time(self.start), ZONE).astimezone(dt.UTC)
        closes = dt.datetime.combine(day, _clock_time(self.end), ZONE).astimezone(dt.UTC)
        return opens, closes

    def add(self, moment: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The moment `duration` of counted time after `moment`."""
        if self.kind == ALWAYS or duration <= dt.timedelta(0):
            return moment + max(duration, dt.timedelta(0))
        left, cursor = duration, moment
        day = moment.astimezone(ZONE).date()
        while True:
            window = self._window(day)
            if window is not None and cursor < window[1]:
                begin = max(cursor, window[0])
                if window[1] - begin >= left:
                    return begin + left
                left -= window[1] - begin
                cursor = window[1]
            day += dt.timedelta(days=1)

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Counted time from `start` to `end` (zero if end is not after start)."""
        if end <= start:
            return dt.timedelta(0)
        if self.kind == ALWAYS:
            return end - start
        total = dt.timedelta(0)
        day, last = start.astimezone(ZONE).date(), end.astimezone(ZONE).date()
        while day <= last:
            window = self._window(day)
            if window is not None:
                total += max(dt.timedelta(0), min(end, window[1]) - max(start, window[0]))
            day += dt.timedelta(days=1)
        return total


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def is_deadline(name: str, value: Any) -> bool:
    """Whether an instance variable is one of the SLA deadlines (an ISO time under the sla_ prefix)."""
    return isinstance(value, str) and name.startswith(PREFIX) and (
        name.endswith(("_due", "_warn", "_at")) or "_escalate_" in name)


def shifted(moment: dt.datetime, paused_from: dt.datetime, paused_to: dt.datetime, calendar: Calendar) -> dt.datetime:
    """A deadline after a pause: unchanged if it was due before the pause began (or is NEVER), otherwise
    the counted time it still had at the pause's start, counted from the pause's end."""
    if moment <= paused_from or moment >= NEVER:
        return moment
    return calendar.add(paused_to, calendar.between(paused_from, moment))


def after_pause(variables: dict[str, Any], paused_from: dt.datetime, paused_to: dt.datetime) -> dict[str, Any]:
    """The instance variables a pause changes: every deadline moved (see `shifted`) and the pause added
    to `sla_pauses`. The desk sets these when the clock runs again; the audit derives them again."""
    calendar = Calendar.from_dict(variables.get(CALENDAR))
    changes: dict[str, Any] = {}
    for name, value in variables.items():
        if is_deadline(name, value) and not variables.get(RESOLVED):
            moment = dt.datetime.fromisoformat(value)
            moved = shifted(moment, paused_from, paused_to, calendar)
            if moved != moment:
                changes[name] = iso(moved)
    changes[PAUSES] = [*(variables.get(PAUSES) or []), [iso(paused_from), iso(paused_to)]]
    return changes


def apply_pauses(moment: dt.datetime, pauses: list[list[str]], calendar: Calendar) -> dt.datetime:
    """A deadline computed afresh (a new level) with the instance's earlier pauses applied, in order."""
    for paused_from, paused_to in pauses:
        moment = shifted(moment, dt.datetime.fromisoformat(paused_from), dt.datetime.fromisoformat(paused_to),
                         calendar)
    return moment
