"""Monitoring intake (/api/v1/alerts, a token with the `alerts` scope) and the severity -> process and
fault level table (/api/v1/alert-levels). The work is engine.desk.alerts'."""
from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from app.api.auth import actor, token_required
from app.api.routes import documented_errors
from app.api.schemas import (
    AlertLevelArgs,
    AlertLevelSchema,
    AlertmanagerArgs,
    AlertResultsSchema,
    ZabbixArgs,
)
from app.web.session import unit_of_work
from engine.desk import alerts
from engine.errors import Conflict, NotFound

# A delivery racing another of the same alert loses on the unique key (or the instance version) and is run
# again, then finds what the winner did. Three tries are plenty: each loser waits only for one winner.
ATTEMPTS = 3

intake = Blueprint("api_alerts", __name__, url_prefix="/api/v1/alerts",
                   description="Alert intake from monitoring (token scope `alerts`, service desk users)")
levels = Blueprint("api_alert_levels", __name__, url_prefix="/api/v1/alert-levels",
                   description="Which process and fault level each alert severity opens")
token_required(intake, "alerts")
token_required(levels, "api")
BLUEPRINTS = (intake, levels)


def _take_in(notices: list[alerts.Notice]) -> dict[str, Any]:
    who = actor()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with unit_of_work() as session:
                return {"results": [alerts.take_in(session, notice=n, actor=who) for n in notices]}
        except (IntegrityError, Conflict):
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@intake.post("/alertmanager")
@intake.arguments(AlertmanagerArgs)
@intake.response(200, AlertResultsSchema)
@documented_errors(intake, 409, 422)
def alertmanager(payload: dict[str, Any]) -> Any:
    """Prometheus Alertmanager's webhook (version 4): each alert opens a request, notes a repeat on the open
    one, or records its resolution there. The same payload again answers the same."""
    return _take_in(alerts.from_alertmanager(payload))


@intake.post("/zabbix")
@intake.arguments(ZabbixArgs)
@intake.response(200, AlertResultsSchema)
@documented_errors(intake, 409, 422)
def zabbix(payload: dict[str, Any]) -> Any:
    """A Zabbix-style event (docs/api.md), taken in like an Alertmanager alert."""
    return _take_in([alerts.from_zabbix(payload)])


@levels.get("")
@levels.response(200, AlertLevelSchema(many=True))
@documented_errors(levels)
def list_levels() -> Any:
    """The table, by source and severity ('*': any other severity)."""
    with unit_of_work() as session:
        return alerts.list_levels(session)


@levels.put("/<source>/<severity>")
@levels.arguments(AlertLevelArgs)
@levels.response(200, AlertLevelSchema)
@documented_errors(levels, 404, 422)
def set_level(args: dict[str, Any], source: str, severity: str) -> Any:
    """Set what a source's severity opens (process owners)."""
    if source not in alerts.SOURCES:
        raise NotFound(f"unknown alert source {source!r} (one of {', '.join(alerts.SOURCES)})")
    with unit_of_work() as session:
        return alerts.set_level(session, source=source, severity=severity, actor=actor(), **args)
