"""E-mail notice of SLA escalations through SMTP: optional, off unless OPSFLOW_SMTP_HOST is set.

    OPSFLOW_SMTP_HOST   SMTP relay host; unset or empty: no mail is ever sent
    OPSFLOW_SMTP_PORT   port (default 25)
    OPSFLOW_SMTP_FROM   sender address (default opsflow@localhost)

`notify_escalation` sends one plain-text UTF-8 mail (Chinese first, English below) to the given
addresses — the members of the group the escalation went to; users carry no address in the
database yet, so the caller supplies them. Mail is best effort and happens after the escalation
committed: a relay that is down or refuses is logged and reported as False, never raised, so
it cannot undo or block an escalation. Call it after commit, outside the firing transaction —
as `mail_escalations`, the receiver of the core's tasks_opened hook, does.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import smtplib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine import clock, users
from engine.process import hooks
from engine.store.db import after_commit
from engine.users import GROUPS

log = logging.getLogger(__name__)

DEFAULT_PORT = 25
DEFAULT_SENDER = "opsflow@localhost"
DEFAULT_TIMEZONE = "Asia/Shanghai"
_TITLE_LIMIT = 80
ESCALATION_FORM = "sla_escalation"  # the tasks whose group is mailed
# One plain ASCII address (no display name, no comments, no line breaks): what a directory hands us.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = DEFAULT_PORT
    sender: str = DEFAULT_SENDER
    timeout: float = 10.0


def settings_from_env(environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
    """The SMTP settings from the environment, or None when mail is off (no host)."""
    env = os.environ if environ is None else environ
    host = env.get("OPSFLOW_SMTP_HOST", "").strip()
    if not host:
        return None
    raw_port = env.get("OPSFLOW_SMTP_PORT", "").strip()
    try:
        port = int(raw_port) if raw_port else DEFAULT_PORT
    except ValueError:
        raise ValueError(f"OPSFLOW_SMTP_PORT must be a number, not {raw_port!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"OPSFLOW_SMTP_PORT {port} is out of range")
    sender = env.get("OPSFLOW_SMTP_FROM", "").strip() or DEFAULT_SENDER
    if not _ADDRESS.match(sender):
        raise ValueError(f"OPSFLOW_SMTP_FROM {sender!r} is not a plain e-mail address")
    return SmtpSettings(host=host, port=port, sender=sender)


def _one_line(text: str | None, limit: int = _TITLE_LIMIT) -> str:
    """User text made safe for a header or a line: no line breaks, bounded length."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _recipients(addresses: Sequence[str]) -> list[str]:
    seen: list[str] = []
    for address in addresses:
        address = address.strip()
        if not _ADDRESS.match(address):
            log.warning("escalation mail: skipping invalid address %r", address)
        elif address.lower() not in (s.lower() for s in seen):
            seen.append(address)
    return seen


def build_escalation_message(*, sender: str, recipients: Sequence[str], instance_id: int, title: str | None,
                             task_name: str, group: str, due_at: dt.datetime | None, step: int = 1,
                             fault_level: str | None = None, link: str | None = None,
                             timezone: str = DEFAULT_TIMEZONE) -> EmailMessage:
    """The mail `notify_escalation` sends (exposed for previews and tests)."""
    title_text = _one_line(title) or "—"
    task_text = _one_line(task_name, 60)
    group_zh, group_en = GROUPS.get(group, (group, group))
    zone = _zone(timezone)
    if due_at is not None:
        due_local = f"{due_at.astimezone(zone):%Y-%m-%d %H:%M}（{timezone if zone is not dt.UTC else 'UTC'}）"
        due_utc = f"{due_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    else:
        due_local = due_utc = "—"
    level_zh = f"{fault_level} 级" if fault_level else "未定级"
    level_en = fault_level or "not graded"
    link_line = _one_line(link, 500) if link else None

    zh = [
        "您好：",
        "",
        f"服务请求 #{instance_id}「{title_text}」的任务「{task_text}」已超过 SLA 时限，"
        f"已升级至{group_zh}（第 {step} 级升级）。",
        "",
        f"故障级别：{level_zh}",
        f"时限：{due_local}",
    ]
    en = [
        "Hello,",
        "",
        f"Task \"{task_text}\" of service request #{instance_id} \"{title_text}\" has missed its SLA deadline "
        f"and was escalated to {group_en} (escalation step {step}).",
        "",
        f"Fault level: {level_en}",
        f"Due: {due_utc}",
    ]
    if link_line:
        zh.append(f"请及时处理：{link_line}")
        en.append(f"Please act on it: {link_line}")
    zh += ["", "此邮件由 opsflow 自动发送，请勿直接回复。"]
    en += ["", "This message was sent automatically by opsflow; please do not reply to it."]

    message = EmailMessage(policy=SMTP_POLICY)
    message["Subject"] = (f"【SLA 升级】请求 #{instance_id}「{title_text}」{task_text} 已超时"
                          f" / SLA escalation: request #{instance_id} overdue")
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(idstring=f"escalation-{instance_id}", domain=sender.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.set_content("\n".join([*zh, "", "-" * 40, "", *en]) + "\n", charset="utf-8")
    return message


def notify_escalation(recipients: Sequence[str], *, instance_id: int, title: str | None, task_name: str, group: str,
                      due_at: dt.datetime | None, step: int = 1, fault_level: str | None = None,
                      link: str | None = None, settings: SmtpSettings | None = None,
                      timezone: str = DEFAULT_TIMEZONE) -> bool:
    """Mail the members of `group` that a task of request `instance_id` was escalated to them.

    One message to every valid address in `recipients`. Settings default to the environment.
    Returns True when the relay accepted it for at least one recipient; False when mail is off,
    there is nobody to tell, or delivery failed (logged, never raised).
    """
    settings = settings if settings is not None else settings_from_env()
    if settings is None:
        return False
    to = _recipients(recipients)
    if not to:
        return False
    message = build_escalation_message(sender=settings.sender, recipients=to, instance_id=instance_id, title=title,
                                       task_name=task_name, group=group, due_at=due_at, step=step,
                                       fault_level=fault_level, link=link, timezone=timezone)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            refused = smtp.send_message(message, from_addr=settings.sender, to_addrs=to)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("escalation mail for request %s to %s via %s:%s failed: %s", instance_id, ", ".join(to),
                    settings.host, settings.port, exc)
        return False
    if refused:
        log.warning("escalation mail for request %s: the relay refused %s", instance_id, ", ".join(sorted(refused)))
    return True


def mail_escalations(opened: hooks.Opened) -> None:
    """tasks_opened: escalation tasks also reach their group by mail when SMTP is configured — after
    commit, best effort, so mail can never undo or delay an escalation."""
    escalations = [row for row in opened.tasks if row["form_key"] == ESCALATION_FORM]
    settings = settings_from_env() if escalations else None
    if settings is None:
        return
    session, instance = opened.session, opened.instance
    for row in escalations:
        recipients = users.group_emails(session, row["candidate_group"]) if row["candidate_group"] else []
        if not recipients:
            continue
        step = int(row["element_id"].rsplit("_", 1)[-1]) if row["element_id"][-1:].isdigit() else 1
        after_commit(session, _mailer(recipients, instance_id=instance.id, title=instance.title,
                                      task_name=row["name"], group=row["candidate_group"], due_at=row["due_at"],
                                      step=step, fault_level=instance.fault_level, settings=settings))


def _mailer(recipients: list[str], **message: Any) -> Callable[[], None]:
    def send() -> None:
        notify_escalation(recipients, **message)
    return send
