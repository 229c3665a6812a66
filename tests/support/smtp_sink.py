"""A tiny SMTP server on a thread for mail tests: records what it accepts, can refuse the first attempts
(451, temporary, or 550, for good) and can hang (accept the connection, never greet)."""
from __future__ import annotations

import email
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy


@dataclass
class Received:
    mail_from: str
    rcpt_to: list[str]
    data: bytes

    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=default_policy)  # type: ignore[return-value]


@dataclass
class SinkState:
    fail_next: int = 0  # answer this many MAIL commands with `fail_code`
    fail_code: int = 451
    messages: list[Received] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(socketserver.StreamRequestHandler):
    server: _Sink

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        state = self.server.state
        self.reply("220 sink ESMTP")
        mail_from, rcpts = "", list[str]()
        while line := self.rfile.readline(65536):
            verb, _, argument = line.decode("ascii", "replace").rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.wfile.write(b"250-sink\r\n250 SIZE 10240000\r\n")
            elif verb == "HELO":
                self.reply("250 sink")
            elif verb == "MAIL":
                with state.lock:
                    state.attempts += 1
                    failing = state.fail_next > 0
                    state.fail_next -= 1 if failing else 0
                if failing:
                    self.reply(f"{state.fail_code} try again later" if state.fail_code < 500 else
                               f"{state.fail_code} refused")
                    continue
                mail_from, rcpts = argument.partition("<")[2].partition(">")[0], []
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(argument.partition("<")[2].partition(">")[0])
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while (data_line := self.rfile.readline(65536)) not in (b".\r\n", b""):
                    lines.append(data_line[1:] if data_line.startswith(b"..") else data_line)
                with state.lock:
                    state.messages.append(Received(mail_from, rcpts, b"".join(lines)))
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class _Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = SinkState()


@contextmanager
def smtp_sink() -> Iterator[tuple[int, SinkState]]:
    """(port, state) of a running sink."""
    server = _Sink()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word (a relay that hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
