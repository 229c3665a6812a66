"""Fault levels (故障级别): level I is the most severe; the SLA table has one row per level."""
from __future__ import annotations

from enum import StrEnum


class FaultLevel(StrEnum):
    I = "I"  # noqa: E741 - the name the SLA table uses
    II = "II"
    III = "III"
    IV = "IV"


FAULT_LEVELS = tuple(FaultLevel)
