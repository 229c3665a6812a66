"""The dashboard's figures and drill-down lists as CSV or XLSX (openpyxl), headed in the page's language."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from openpyxl import Workbook

from app.reports import labels
from engine.desk import kpi

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# The figures of every breakdown row, in this order.
BREAKDOWN_COLUMNS = ("opened", "resolved", "resolution_rate", "mttr_seconds", "first_contact_rate", "respond_rate",
                     "resolve_rate", "satisfaction_average", "chases", "complaints", "reopened", "backlog")


@dataclass(frozen=True)
class ExportTable:
    title: str
    header: list[str]
    rows: list[list[Any]]


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """A case row with times as ISO text (JSON and CSV)."""
    return {key: value.isoformat() if isinstance(value, dt.datetime) else value for key, value in row.items()}


def _name(key: str) -> str:
    for names in (labels.FIGURES, labels.MEASURES):
        if key in names:
            return str(names[key])
    return key


def summary_tables(summary: dict[str, Any]) -> list[ExportTable]:
    """Headline, SLA, satisfaction, trend, backlog and one table per breakdown."""
    headline = summary["headline"]
    tables = [
        ExportTable(gettext("Headline"), [gettext("Figure"), gettext("Value"), gettext("Key")],
                    [[_name(key), value, key] for key, value in headline.items()]),
        ExportTable(gettext("SLA"), [gettext("Fault level"), gettext("Target"), gettext("Met"), gettext("Missed"),
                                     gettext("Attainment")],
                    [[labels.value_name("fault_level", row["fault_level"]), str(labels.TARGETS[row["target"]]),
                      row["met"], row["missed"], row["rate"]] for row in summary["sla"]]),
        ExportTable(gettext("Satisfaction"), [gettext("Score"), gettext("Cases")],
                    [[score, count] for score, count in summary["satisfaction"].items()]),
        ExportTable(gettext("Trend"), [gettext("Period"), *(_name(n) for n in ("opened", "resolved", "resolve_met",
                                                                               "resolve_missed"))],
                    [[row["bucket"], row["opened"], row["resolved"], row["resolve_met"], row["resolve_missed"]]
                     for row in summary["trend"]]),
        ExportTable(gettext("Backlog"), [gettext("Age"), gettext("Cases")],
                    [[str(labels.AGES[name]), summary["backlog"][name]] for name, _, _ in kpi.AGES]),
    ]
    for dimension, rows in summary["breakdowns"].items():
        tables.append(ExportTable(str(labels.DIMENSIONS[dimension]),
                                  [str(labels.DIMENSIONS[dimension]), *(_name(n) for n in BREAKDOWN_COLUMNS)],
                                  [[labels.value_name(dimension, row["value"]), *(row[n] for n in BREAKDOWN_COLUMNS)]
                                   for row in rows]))
    return tables


def cases_table(rows: list[dict[str, Any]], *, at_most: int) -> ExportTable:
    """The cases, at most `at_most` of them (the caller fetched one more to know): a last line says what was left
    out rather than cutting silently."""
    # The request number last: readers of older exports find their columns where they were.
    columns = ("instance_id", "title", *(name for name in kpi.CASE_COLUMNS if name != "instance_id"), "number")
    table = ExportTable(gettext("Cases"), list(columns),
                        [[plain(row)[name] for name in columns] for row in rows[:at_most]])
    if len(rows) > at_most:
        table.rows.append([gettext("Only the newest %(count)d cases are exported; narrow the period or the filters "
                                   "for the rest.", count=at_most)])
    return table


def render(tables: list[ExportTable], fmt: str) -> tuple[bytes, str]:
    """The tables as one CSV (each under its title, a blank line between) or one workbook (a sheet each)."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        for number, table in enumerate(tables):
            if len(tables) > 1:
                if number:
                    writer.writerow([])
                writer.writerow([table.title])
            writer.writerow(table.header)
            writer.writerows(table.rows)
        return ("\ufeff" + out.getvalue()).encode("utf-8"), FORMATS[fmt]  # the BOM: Excel reads UTF-8 Chinese
    book = Workbook(write_only=True)  # rows go straight to the file's XML, not kept as cell objects
    for table in tables:
        sheet = book.create_sheet(_sheet_title(table.title, book.sheetnames))
        sheet.append(table.header)
        for row in table.rows:
            sheet.append(row)
    out_bytes = io.BytesIO()
    book.save(out_bytes)
    return out_bytes.getvalue(), FORMATS[fmt]


def _sheet_title(title: str, taken: list[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in title)[:28] or "Sheet"
    name, number = clean, 2
    while name in taken:
        name, number = f"{clean} {number}", number + 1
    return name
