"""Monitoring alerts open service-desk requests (channel 监控告警): Prometheus Alertmanager webhooks and
Zabbix-style JSON, one notice per alert.

Which process and fault level a severity opens is a table (alert_level, defaults seeded by the migration,
process owners change it). An alert is known by its source and fingerprint: while the request it opened
runs, it fires again as a note in that request's history and a resolution notice is recorded there too (it
does not close the request: people do). A notice already taken in (the same JSON again: a webhook retry)
changes nothing and answers as the first time. The unique key on (source, open fingerprint) stops two
concurrent deliveries from opening two requests: the loser's transaction fails and is retried by the caller
(app/api/alerts.py), and then finds the request the winner opened.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import access, clock
from engine.desk import sla
from engine.desk.levels import FAULT_LEVELS
from engine.errors import InvalidInput
from engine.process import history, runtime
from engine.status import InstanceStatus
from engine.store.api_models import AlertLevel, AlertNotice, AlertRequest
from engine.store.models import ProcessInstance
from engine.users import Actor
from forms import STRING_MAX_LENGTH, TEXT_MAX_LENGTH

SOURCES = ("alertmanager", "zabbix")
PROCESSES = ("service_desk", "emergency")  # both start with the request form
ANY_SEVERITY = "*"
_URGENCY = {"I": "high", "II": "high", "III": "medium", "IV": "low"}
_SYSTEM_LABELS = ("system", "service", "job", "instance", "host")
_ORGANISATION_LABELS = ("organisation", "organization", "customer", "tenant")


@dataclass(frozen=True)
class Notice:
    """One alert as a monitoring system reported it: firing or resolved."""

    source: str
    fingerprint: str
    firing: bool
    severity: str
    title: str
    description: str = ""
    system: str | None = None
    organisation: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # labels and the like, kept in the history
    raw: dict[str, Any] = field(default_factory=dict)  # the notice as received: a retry sends it unchanged

    @property
    def digest(self) -> str:
        text = json.dumps({"source": self.source, "notice": self.raw}, sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Result:
    fingerprint: str
    outcome: str  # opened | noted | resolved | ignored (resolved, with no open request)
    request_id: int | None


# --- reading the payloads (their shape was checked by app/api/schemas.py) ------------------------------

def _first(mapping: dict[str, Any], names: tuple[str, ...]) -> str | None:
    return next((str(mapping[name]) for name in names if mapping.get(name)), None)


def from_alertmanager(payload: dict[str, Any]) -> list[Notice]:
    """Alertmanager's webhook (version 4): one notice per alert, the group's common labels filled in."""
    notices = []
    for alert in payload.get("alerts", []):
        labels = {**payload.get("commonLabels", {}), **alert.get("labels", {})}
        annotations = {**payload.get("commonAnnotations", {}), **alert.get("annotations", {})}
        name = labels.get("alertname") or "alert"
        summary = annotations.get("summary") or annotations.get("message") or ""
        fingerprint = alert.get("fingerprint") or hashlib.sha256(
            json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]
        notices.append(Notice(
            source="alertmanager", fingerprint=str(fingerprint), firing=alert.get("status", "firing") != "resolved",
            severity=str(labels.get("severity", "")).lower(), title=f"{name}: {summary}" if summary else str(name),
            description=str(annotations.get("description") or summary), system=_first(labels, _SYSTEM_LABELS),
            organisation=_first(labels, _ORGANISATION_LABELS),
            details={"labels": labels, "starts_at": alert.get("startsAt"), "ends_at": alert.get("endsAt"),
                     "generator_url": alert.get("generatorURL")},
            raw=alert))
    return notices


def from_zabbix(payload: dict[str, Any]) -> Notice:
    """A Zabbix-style event (docs/api.md): a problem or its recovery, known by host and trigger."""
    trigger = str(payload.get("trigger_id") or payload["trigger"])
    return Notice(
        source="zabbix", fingerprint=f"{payload['host']}/{trigger}"[:STRING_MAX_LENGTH],
        firing=str(payload["status"]).upper() == "PROBLEM", severity=str(payload["severity"]).lower(),
        title=str(payload["trigger"]), description=str(payload.get("message") or payload["trigger"]),
        system=str(payload.get("system") or payload["host"]), organisation=payload.get("organisation"),
        details={"host": payload["host"], "event_id": payload["event_id"], "value": payload.get("value")},
        raw=payload)


# --- the level table --------------------------------------------------------------------------------

def list_levels(session: Session) -> list[AlertLevel]:
    return list(session.scalars(select(AlertLevel).order_by(AlertLevel.source, AlertLevel.severity)))


def level_for(session: Session, source: str, severity: str) -> AlertLevel:
    """The row for a severity, else the source's catch-all ('*') row."""
    rows = {row.severity: row for row in session.scalars(
        select(AlertLevel).where(AlertLevel.source == source, AlertLevel.severity.in_((severity, ANY_SEVERITY))))}
    found = rows.get(severity) or rows.get(ANY_SEVERITY)
    if found is None:
        raise InvalidInput(f"no alert level is set for {source} severity {severity!r} and no '*' row either",
                           field_errors={"severity": [severity]})
    return found


def set_level(session: Session, *, source: str, severity: str, process_id: str, fault_level: str,
              actor: Actor) -> AlertLevel:
    """Set (or add) the process and fault level a source's severity opens."""
    access.require_edit_alert_levels(actor)
    problems = {}
    if source not in SOURCES:
        problems["source"] = [f"one of {', '.join(SOURCES)}"]
    if process_id not in PROCESSES:
        problems["process_id"] = [f"one of {', '.join(PROCESSES)}"]
    if fault_level not in FAULT_LEVELS:
        problems["fault_level"] = [f"one of {', '.join(FAULT_LEVELS)}"]
    severity = severity.strip().lower()
    if not severity or len(severity) > 40:
        problems["severity"] = ["1-40 characters"]
    if problems:
        raise InvalidInput("alert level refused", field_errors=problems)
    row = session.scalars(select(AlertLevel).where(AlertLevel.source == source,
                                                   AlertLevel.severity == severity)).first()
    if row is None:
        row = AlertLevel(source=source, severity=severity)
        session.add(row)
    row.process_id, row.fault_level = process_id, fault_level
    row.updated_by, row.updated_at = actor.username, clock.now()
    session.flush()
    return row


# --- taking notices in ------------------------------------------------------------------------------

def _request_data(notice: Notice, level: str) -> dict[str, Any]:
    described = notice.description
    labels = notice.details.get("labels")
    if labels:
        described += "\n\n" + "\n".join(f"{key}={value}" for key, value in sorted(labels.items()))
    name = {"alertmanager": "Prometheus Alertmanager", "zabbix": "Zabbix"}[notice.source]
    return {"channel": "monitoring", "requester_name": f"{name} 监控告警", "contact_phone": "-",
            "organisation": (notice.organisation or "监控告警")[:STRING_MAX_LENGTH],
            "system": (notice.system or "-")[:STRING_MAX_LENGTH],
            "title": f"[{notice.severity or '-'}] {notice.title}"[:STRING_MAX_LENGTH],
            "description": (described or notice.title)[:TEXT_MAX_LENGTH], "urgency": _URGENCY[level]}


def _open_link(session: Session, notice: Notice) -> AlertRequest | None:
    """The alert's link to a request still running; a link whose request ended is let go."""
    link = session.scalars(select(AlertRequest).where(AlertRequest.source == notice.source,
                                                      AlertRequest.open_fingerprint == notice.fingerprint)).first()
    if link is None:
        return None
    status = session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == link.instance_id))
    if status == InstanceStatus.RUNNING:
        return link
    link.open_fingerprint = None
    session.flush()
    return None


def _open_request(session: Session, notice: Notice, actor: Actor) -> AlertRequest:
    level = level_for(session, notice.source, notice.severity)
    # The link first: a concurrent delivery of the same alert stops here (unique key) before doing any work.
    link = AlertRequest(source=notice.source, fingerprint=notice.fingerprint, open_fingerprint=notice.fingerprint,
                        created_at=clock.now())
    session.add(link)
    session.flush()
    started = runtime.start_instance(session, process_id=level.process_id,
                                     data=_request_data(notice, level.fault_level), actor=actor)
    sla.change_fault_level(session, instance_id=started.id, level=level.fault_level, actor=actor,
                           reason=f"监控告警 {notice.source} severity={notice.severity or '-'}")
    link.instance_id = started.id
    session.flush()
    return link


def _note(session: Session, link: AlertRequest, notice: Notice, actor: Actor) -> None:
    kind = history.ALERT_REPEATED if notice.firing else history.ALERT_RESOLVED
    instance = runtime.load_instance(session, int(link.instance_id or 0))
    runtime.record_events(session, instance=instance, actor=actor.username, events=[(kind, {
        "source": notice.source, "fingerprint": notice.fingerprint, "severity": notice.severity,
        "title": notice.title, "description": notice.description[:2000], **notice.details})])


def take_in(session: Session, *, notice: Notice, actor: Actor) -> Result:
    """Open a request for a new alert, note a repeat or a resolution on the open one; a notice seen before
    answers as it did then."""
    access.require_take_alerts(actor)
    seen = session.execute(select(AlertNotice.outcome, AlertRequest.instance_id)
                           .outerjoin(AlertRequest, AlertRequest.id == AlertNotice.alert_request_id)
                           .where(AlertNotice.source == notice.source,
                                  AlertNotice.notice_sha256 == notice.digest)).first()
    if seen is not None:
        return Result(notice.fingerprint, seen.outcome, seen.instance_id)
    link = _open_link(session, notice)
    if link is None and not notice.firing:
        outcome = "ignored"
    elif link is None:
        link, outcome = _open_request(session, notice, actor), "opened"
    else:
        _note(session, link, notice, actor)
        outcome = "noted" if notice.firing else "resolved"
    session.add(AlertNotice(source=notice.source, notice_sha256=notice.digest,
                            alert_request_id=link.id if link else None, outcome=outcome,
                            resolved=not notice.firing, received_at=clock.now()))
    session.flush()
    return Result(notice.fingerprint, outcome, link.instance_id if link else None)
