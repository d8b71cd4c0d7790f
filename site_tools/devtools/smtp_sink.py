"""A local SMTP server that keeps what it is sent: the newsletter's "simulator" (aiosmtpd).

It speaks real SMTP on a port (the newsletter's :class:`~site_tools.channels.smtp.Connection` cannot tell it from
the town's server) and answers as RFC 5321 says a server does: 250 for a message taken, 4xx for "try later"
and 5xx for "never", per recipient when told to (:meth:`SmtpSink.refuse`, :meth:`SmtpSink.defer`). It can
require a login (``AUTH PLAIN``/``LOGIN`` without TLS, as on a local test server only) and cap the messages one
session may send, as many servers do (421 and the connection closed). The messages are kept parsed
(:attr:`SmtpSink.messages`) or only counted (``keep=False``, for the bench).

    .venv/bin/python -m site_tools.devtools.smtp_sink --port 2525     # prints what arrives
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpSink:
    """The handler aiosmtpd calls, and what it was sent; thread-safe (the controller runs on its own thread)."""

    keep: bool = True
    per_session: int | None = None  # messages a session may send before 421 (None: no cap)
    messages: list[Received] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    _refused: dict[str, int] = field(default_factory=dict)
    _deferred: dict[str, int] = field(default_factory=dict)  # recipient → how many more times 451
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sessions: dict[int, int] = field(default_factory=dict)
    #: Called with the recipients before a message is accepted (a test's crash point).
    before_accept: Any = None
    #: Seconds each message takes to be accepted, without blocking other sessions (a real server's latency).
    delay: float = 0.0

    def refuse(self, recipient: str, code: int = 550) -> None:
        self._refused[recipient] = code

    def defer(self, recipient: str, times: int = 1) -> None:
        self._deferred[recipient] = times

    def received_by(self, recipient: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if recipient in m.recipients]

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: Any, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        with self._lock:
            if address in self._refused:
                self.counts["refused"] += 1
                return f"{self._refused[address]} 5.1.1 Casella inesistente"
            if self._deferred.get(address, 0) > 0:
                self._deferred[address] -= 1
                self.counts["deferred"] += 1
                return "451 4.7.1 Greylisted, riprova più tardi"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self._lock:
            sent = self._sessions.get(id(session), 0)
            if self.per_session is not None and sent >= self.per_session:
                self.counts["closed"] += 1
                return "421 4.7.0 Troppi messaggi in questa sessione"
            self._sessions[id(session)] = sent + 1
        if self.before_accept is not None:
            self.before_accept(envelope.rcpt_tos)
        if self.delay:
            await asyncio.sleep(self.delay)
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        with self._lock:
            self.counts["accepted"] += 1
            if self.keep:
                self.messages.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), raw))
        return "250 2.0.0 Accettato"


class Login:
    """``AUTH`` with one username and password (aiosmtpd's authenticator)."""

    def __init__(self, username: str, password: str):
        self.username, self.password = username.encode(), password.encode()

    def __call__(self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (self.username, self.password)
        return AuthResult(success=ok, handled=False)


def start(sink: SmtpSink, host: str = "127.0.0.1", port: int = 0, login: tuple[str, str] | None = None) -> Controller:
    """The sink served on a thread; ``controller.port`` is where (``port=0``: a free one). Stop with ``.stop()``."""
    options: dict[str, Any] = {}
    if login is not None:
        options = {"authenticator": Login(*login), "auth_require_tls": False, "auth_required": True}
    if port == 0:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    controller = Controller(sink, hostname=host, port=port, data_size_limit=10 * 1024 * 1024, **options)
    controller.start()
    return controller


def main() -> None:  # pragma: no cover - a developer's tool
    parser = argparse.ArgumentParser(description="A local SMTP server that prints what it receives.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    args = parser.parse_args()
    sink = SmtpSink()
    controller = start(sink, args.host, args.port)
    print(f"SMTP sink on {args.host}:{controller.port}; Ctrl-C to stop")
    seen = 0
    try:
        while True:
            time.sleep(0.5)
            for received in sink.messages[seen:]:
                print(f"— a {', '.join(received.recipients)}: {received.message['Subject']}")
            seen = len(sink.messages)
    except KeyboardInterrupt:
        controller.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
