"""KPI tables: the daily roll-up of closed cases (engine.desk.kpi) that keeps a year's dashboard fast."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base

# The additive figures of a group of cases, as kpi computes them (kpi.MEASURES names the same columns).
ROLLUP_MEASURES = ("opened", "resolved", "first_contact", "respond_met", "respond_missed", "resolve_met",
                   "resolve_missed", "rated", "chased", "complaints", "reopened", "backlog", "satisfaction_1",
                   "satisfaction_2", "satisfaction_3", "satisfaction_4", "satisfaction_5", "chases",
                   "resolve_seconds_sum", "resolve_seconds_n", "respond_seconds_sum", "respond_seconds_n",
                   "satisfaction_sum")


class CaseRollup(Base):
    """Closed cases summed per local day they were opened, per attribute value (dimension "*": all of them).

    A closed case never changes again (chasing, re-grading and completing need a running request), so its
    figures are added here once, by kpi.roll_up (a periodic job), and the case is marked with the batch
    that added it; reports add the cases not rolled up yet from service_case itself.
    """

    __tablename__ = "case_rollup"

    # Reports read one attribute's days: the key starts with the attribute.
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)  # "" for not recorded
    opened: Mapped[int] = mapped_column(BigInteger, default=0)
    resolved: Mapped[int] = mapped_column(BigInteger, default=0)
    first_contact: Mapped[int] = mapped_column(BigInteger, default=0)
    respond_met: Mapped[int] = mapped_column(BigInteger, default=0)
    respond_missed: Mapped[int] = mapped_column(BigInteger, default=0)
    resolve_met: Mapped[int] = mapped_column(BigInteger, default=0)
    resolve_missed: Mapped[int] = mapped_column(BigInteger, default=0)
    rated: Mapped[int] = mapped_column(BigInteger, default=0)
    chased: Mapped[int] = mapped_column(BigInteger, default=0)
    complaints: Mapped[int] = mapped_column(BigInteger, default=0)
    reopened: Mapped[int] = mapped_column(BigInteger, default=0)
    backlog: Mapped[int] = mapped_column(BigInteger, default=0)
    satisfaction_1: Mapped[int] = mapped_column(BigInteger, default=0)
    satisfaction_2: Mapped[int] = mapped_column(BigInteger, default=0)
    satisfaction_3: Mapped[int] = mapped_column(BigInteger, default=0)
    satisfaction_4: Mapped[int] = mapped_column(BigInteger, default=0)
    satisfaction_5: Mapped[int] = mapped_column(BigInteger, default=0)
    chases: Mapped[int] = mapped_column(BigInteger, default=0)
    resolve_seconds_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    resolve_seconds_n: Mapped[int] = mapped_column(BigInteger, default=0)
    respond_seconds_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    respond_seconds_n: Mapped[int] = mapped_column(BigInteger, default=0)
    satisfaction_sum: Mapped[int] = mapped_column(BigInteger, default=0)
