"""E-mail through SMTP, the one place opsflow sends mail from: optional, off unless OPSFLOW_SMTP_HOST is set.

    OPSFLOW_SMTP_HOST      SMTP relay host; unset or empty: no mail is ever sent
    OPSFLOW_SMTP_PORT      port (default 25; 587 with starttls, 465 with ssl are usual)
    OPSFLOW_SMTP_SECURITY  none (default), starttls or ssl
    OPSFLOW_SMTP_USER      login name; unset: no login
    OPSFLOW_SMTP_PASSWORD  its password (required with a user)
    OPSFLOW_SMTP_FROM      sender address (default opsflow@localhost)
    OPSFLOW_SMTP_TIMEOUT   seconds to wait for the relay (default 10)

`send_message` delivers one message and raises on failure: the notification outbox
(engine.desk.notifications) counts the attempt and retries it later.

`notify_escalation` sends one plain-text UTF-8 mail (Chinese first, English below) to the given
addresses at once, best effort: a relay that is down or refuses is logged and reported as False,
never raised. The engine's own notices — escalations among them — go through the notification
outbox instead (engine.desk.notifications), which retries; it composes its mails in each recipient's
language and hands them to `send_message`.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine import clock
from engine.users import GROUPS

log = logging.getLogger(__name__)

DEFAULT_PORT = 25
DEFAULT_SENDER = "opsflow@localhost"
DEFAULT_TIMEZONE = "Asia/Shanghai"
_TITLE_LIMIT = 80
ESCALATION_FORM = "sla_escalation"  # the tasks whose group is mailed
# One plain ASCII address (no display name, no comments, no line breaks): what a directory hands us.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


SECURITY_MODES = ("none", "starttls", "ssl")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = DEFAULT_PORT
    sender: str = DEFAULT_SENDER
    timeout: float = 10.0
    security: str = "none"  # none, starttls or ssl
    user: str | None = None
    password: str | None = field(default=None, repr=False)


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
    security = env.get("OPSFLOW_SMTP_SECURITY", "").strip().lower() or "none"
    if security not in SECURITY_MODES:
        raise ValueError(f"OPSFLOW_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
    user = env.get("OPSFLOW_SMTP_USER", "").strip() or None
    password = env.get("OPSFLOW_SMTP_PASSWORD") or None
    if user and not password:
        raise ValueError("OPSFLOW_SMTP_PASSWORD must be set when OPSFLOW_SMTP_USER is")
    raw_timeout = env.get("OPSFLOW_SMTP_TIMEOUT", "").strip()
    try:
        timeout = float(raw_timeout) if raw_timeout else 10.0
    except ValueError:
        raise ValueError(f"OPSFLOW_SMTP_TIMEOUT must be a number of seconds, not {raw_timeout!r}") from None
    if not 0 < timeout <= 300:
        raise ValueError(f"OPSFLOW_SMTP_TIMEOUT must be more than 0 and at most 300 seconds, not {raw_timeout!r}")
    return SmtpSettings(host=host, port=port, sender=sender, timeout=timeout, security=security, user=user,
                        password=password)


def send_message(settings: SmtpSettings, message: EmailMessage, recipients: Sequence[str]) -> dict[str, Any]:
    """Hand one message to the relay (STARTTLS/SSL and login as configured); returns the recipients it
    refused. Raises smtplib.SMTPException or OSError when nothing was delivered — callers decide what that means."""
    smtp: smtplib.SMTP
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        if settings.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        return dict(smtp.send_message(message, from_addr=settings.sender, to_addrs=list(recipients)))


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
        refused = send_message(settings, message, to)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("escalation mail for request %s to %s via %s:%s failed: %s", instance_id, ", ".join(to),
                    settings.host, settings.port, exc)
        return False
    if refused:
        log.warning("escalation mail for request %s: the relay refused %s", instance_id, ", ".join(sorted(refused)))
    return True
