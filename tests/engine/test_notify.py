"""E-mail notice of escalations, against a minimal SMTP sink on 127.0.0.1 (no third-party server)."""
from __future__ import annotations

import datetime as dt
import email
import logging
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest

from engine.desk import notify

DUE = dt.datetime(2026, 11, 3, 8, 0, tzinfo=dt.UTC)  # 16:00 in Asia/Shanghai


@dataclass
class Received:
    mail_from: str
    rcpt_to: list[str]
    data: bytes

    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=default_policy)


@dataclass
class SinkState:
    refuse: set[str] = field(default_factory=set)
    messages: list[Received] = field(default_factory=list)
    connections: int = 0


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib: EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT."""

    server: _SmtpSink

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        state = self.server.state
        state.connections += 1
        self.reply("220 sink ESMTP")
        mail_from, rcpts = "", list[str]()
        while line := self.rfile.readline(65536):
            command = line.decode("ascii", "replace").rstrip("\r\n")
            verb, _, argument = command.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.wfile.write(b"250-sink\r\n250 SIZE 10240000\r\n")
            elif verb == "HELO":
                self.reply("250 sink")
            elif verb == "MAIL":
                mail_from, rcpts = argument.partition("<")[2].partition(">")[0], []
                self.reply("250 OK")
            elif verb == "RCPT":
                address = argument.partition("<")[2].partition(">")[0]
                if address in state.refuse:
                    self.reply("550 no such user")
                else:
                    rcpts.append(address)
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while (data_line := self.rfile.readline(65536)) not in (b".\r\n", b""):
                    lines.append(data_line[1:] if data_line.startswith(b"..") else data_line)
                state.messages.append(Received(mail_from, rcpts, b"".join(lines)))
                self.reply("250 queued")
            elif verb == "RSET":
                mail_from, rcpts = "", []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class _SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.state = SinkState()


Sink = tuple[notify.SmtpSettings, SinkState]


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = _SmtpSink()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield notify.SmtpSettings(host="127.0.0.1", port=server.server_address[1], sender="opsflow@ops.example"), \
            server.state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def escalate(**overrides: object) -> bool:
    arguments: dict[str, object] = {
        "instance_id": 42, "title": "HIS 无法登录", "task_name": "处理", "group": "service_manager", "due_at": DUE,
        "step": 1, "fault_level": "I", "link": "https://opsflow.example/instances/42"}
    arguments.update(overrides)
    recipients = arguments.pop("recipients", ["wang@hospital.example", "li@hospital.example"])
    return notify.notify_escalation(recipients, **arguments)  # type: ignore[arg-type]


def test_settings_come_from_the_environment_and_mail_is_off_without_a_host() -> None:
    assert notify.settings_from_env({}) is None
    assert notify.settings_from_env({"OPSFLOW_SMTP_HOST": "  ", "OPSFLOW_SMTP_PORT": "2525"}) is None
    assert notify.settings_from_env({"OPSFLOW_SMTP_HOST": "mail.example"}) == \
        notify.SmtpSettings("mail.example", 25, "opsflow@localhost")
    assert notify.settings_from_env({"OPSFLOW_SMTP_HOST": "mail.example", "OPSFLOW_SMTP_PORT": "2525",
                                     "OPSFLOW_SMTP_FROM": "ops@hospital.example"}) == \
        notify.SmtpSettings("mail.example", 2525, "ops@hospital.example")
    with pytest.raises(ValueError, match="OPSFLOW_SMTP_PORT"):
        notify.settings_from_env({"OPSFLOW_SMTP_HOST": "mail.example", "OPSFLOW_SMTP_PORT": "smtp"})
    with pytest.raises(ValueError, match="OPSFLOW_SMTP_PORT"):
        notify.settings_from_env({"OPSFLOW_SMTP_HOST": "mail.example", "OPSFLOW_SMTP_PORT": "70000"})
    with pytest.raises(ValueError, match="OPSFLOW_SMTP_FROM"):
        notify.settings_from_env({"OPSFLOW_SMTP_HOST": "mail.example", "OPSFLOW_SMTP_FROM": "ops\r\nBcc: x@y.z"})


def test_off_by_default_sends_nothing(monkeypatch: pytest.MonkeyPatch, sink: Sink) -> None:
    _settings, state = sink
    monkeypatch.delenv("OPSFLOW_SMTP_HOST", raising=False)
    assert escalate() is False
    assert state.connections == 0


def test_one_utf8_mail_in_chinese_then_english_to_the_group_members(monkeypatch: pytest.MonkeyPatch,
                                                                    sink: Sink) -> None:
    settings, state = sink
    monkeypatch.setenv("OPSFLOW_SMTP_HOST", settings.host)
    monkeypatch.setenv("OPSFLOW_SMTP_PORT", str(settings.port))
    monkeypatch.setenv("OPSFLOW_SMTP_FROM", "opsflow@ops.example")
    sent = escalate(recipients=["wang@hospital.example", "not an address", "WANG@hospital.example",
                                "li@hospital.example", "x@y.z\r\nBcc: evil@attacker.example"])
    assert sent is True
    [received] = state.messages
    assert received.mail_from == "opsflow@ops.example"
    assert received.rcpt_to == ["wang@hospital.example", "li@hospital.example"]
    raw = received.data.decode("ascii")  # everything on the wire is 7-bit: headers RFC 2047, body encoded
    assert "evil" not in raw
    message = received.message()
    assert message["Subject"] == "【SLA 升级】请求 #42「HIS 无法登录」处理 已超时 / SLA escalation: request #42 overdue"
    assert message["To"] == "wang@hospital.example, li@hospital.example"
    assert message["From"] == "opsflow@ops.example"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@ops.example>")
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    assert not message.is_multipart()
    body = message.get_content()
    chinese, english = body.split("-" * 40)
    assert "服务请求 #42「HIS 无法登录」的任务「处理」已超过 SLA 时限，已升级至服务经理（第 1 级升级）。" in chinese
    assert "故障级别：I 级" in chinese and "时限：2026-11-03 16:00（Asia/Shanghai）" in chinese
    assert "请及时处理：https://opsflow.example/instances/42" in chinese
    assert 'Task "处理" of service request #42 "HIS 无法登录" has missed its SLA deadline' in english
    assert "escalated to Service manager (escalation step 1)" in english
    assert "Due: 2026-11-03 08:00 UTC" in english and "Fault level: I" in english


def test_user_text_cannot_add_headers_or_lines(sink: Sink) -> None:
    settings, state = sink
    assert escalate(settings=settings, title="宕机\r\nBcc: evil@attacker.example\r\n\r\n伪造正文", due_at=None,
                    fault_level=None, link=None) is True
    message = state.messages[0].message()
    assert message["Bcc"] is None
    assert message["Subject"].startswith("【SLA 升级】请求 #42「宕机 Bcc: evil@attacker.example 伪造正文」")
    body = message.get_content()
    assert "时限：—" in body and "故障级别：未定级" in body and "请及时处理" not in body


def test_nobody_to_tell_means_no_connection(sink: Sink) -> None:
    settings, state = sink
    assert escalate(settings=settings, recipients=[]) is False
    assert escalate(settings=settings, recipients=["nobody", ""]) is False
    assert state.connections == 0


def test_a_relay_that_is_down_or_refuses_is_logged_not_raised(sink: Sink, caplog: pytest.LogCaptureFixture) -> None:
    settings, state = sink
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down = notify.SmtpSettings(host="127.0.0.1", port=closed_port, timeout=2)
    with caplog.at_level(logging.WARNING, logger="engine.desk.notify"):
        assert escalate(settings=down) is False
    assert "failed" in caplog.text

    state.refuse = {"li@hospital.example"}
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="engine.desk.notify"):
        assert escalate(settings=settings) is True  # accepted for wang
    assert state.messages[-1].rcpt_to == ["wang@hospital.example"]
    assert "refused li@hospital.example" in caplog.text

    state.refuse = {"wang@hospital.example", "li@hospital.example"}
    assert escalate(settings=settings) is False


def test_an_escalation_timer_mails_the_group_after_commit(monkeypatch: pytest.MonkeyPatch, sink: Sink,
                                                          sqlite_db: object) -> None:
    """The whole way: level I, the due time passes, the escalation task is created and its group mailed."""
    import datetime as dt
    from pathlib import Path

    from engine import clock, users
    from engine.process import definitions, runtime, timers
    from engine.store.db import Database
    from tests.support.flows import Flow

    db = sqlite_db
    assert isinstance(db, Database)
    settings, state = sink
    monkeypatch.setenv("OPSFLOW_SMTP_HOST", settings.host)
    monkeypatch.setenv("OPSFLOW_SMTP_PORT", str(settings.port))
    diagram = (Path(__file__).parent / "diagrams" / "sla.bpmn").read_bytes()
    with db.transaction() as session:
        for name, group, address in [("requester", "requester", None), ("desk", "service_desk", None),
                                     ("eng", "engineer", "eng@ops.example"),
                                     ("svcmgr", "service_manager", "svcmgr@ops.example")]:
            users.create_user(session, username=name, password="pw", groups=[group], email=address)
        definitions.deploy(session, [definitions.SourceFile("sla.bpmn", diagram)])
    start = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
    with clock.frozen(start) as advance:
        flow = Flow(db, "sla_test")
        flow.complete("classify", {"category": "fault", "fault_level": "I"}, "desk")
        advance(dt.timedelta(hours=24, seconds=1))
        with db.transaction() as session:
            due = timers.due_soon(session, clock.now())
        for timer_id, _ in due:
            with db.transaction() as session:
                runtime.fire_timer(session, timer_id=timer_id, fired_by="test")
    assert "work_escalation_1" in flow.open_elements()
    # Through the notification outbox (engine.desk.notifications), sent after commit on a worker thread: the
    # warning mails the engineers, the escalation the service managers — one mail each, in their language.
    from engine.desk import notifications
    notifications.wait_for_sends()
    by_recipient = {tuple(m.rcpt_to): m.message() for m in state.messages}
    assert sorted(by_recipient) == [("eng@ops.example",), ("svcmgr@ops.example",)]
    assert "SLA" in str(by_recipient[("svcmgr@ops.example",)]["Subject"])
    assert "升级" in str(by_recipient[("svcmgr@ops.example",)]["Subject"])
    assert "预警" in str(by_recipient[("eng@ops.example",)]["Subject"])
