"""One connection to the town's SMTP server (aiosmtplib), and what each answer means for the newsletter.

A :class:`Connection` sends many messages one after the other (``MAIL``, ``RCPT``, ``DATA`` on one session) and
connects again when the server dropped it. Each message's outcome is a :class:`Verdict`:

* ``SENT`` — 2xx after the data: the server took it;
* ``DEFERRED`` — 4xx (RFC 5321 §4.2.1: transient; the same message may succeed later);
* ``BOUNCED`` — 5xx to ``RCPT`` that refuses the address itself (5.1.x, 5.2.1: :func:`about_the_address`): the
  newsletter stops writing to it;
* ``FAILED`` — 5xx to the data, or to ``RCPT`` for a reason of the server's own (5.7.x: relaying denied,
  authentication required): the message, not the address, was refused;
* ``UNSENT`` — the connection failed before the data was sent, or the server answered 421 (closing the
  session): it did not take the message, send it again on a new session;
* ``UNCERTAIN`` — the connection failed during or after the data: the server may have taken it, so the
  message is never sent again (a duplicate is worse than a miss).

A refusal of the sender itself (5xx to ``MAIL FROM``, a failed login) stops the whole send: every message would
be refused alike (:class:`SmtpDown`).
"""

from __future__ import annotations

import asyncio
import enum
import re
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from site_tools.settings import Settings, reveal

if TYPE_CHECKING:
    import aiosmtplib


class Verdict(enum.Enum):
    SENT = "sent"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    FAILED = "failed"
    UNSENT = "unsent"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    code: int | None = None
    detail: str = ""


class SmtpDown(Exception):
    """The server cannot take anything from us now (unreachable, login refused, sender refused)."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # starttls, tls, none
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    tls_context: ssl.SSLContext | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpServer:
        return cls(
            settings.smtp_host or "",
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_username,
            reveal(settings.smtp_password) or None,
            settings.http_timeout,
        )

    def client(self) -> aiosmtplib.SMTP:
        import aiosmtplib

        options: dict[str, Any] = {}
        if self.security != "none" and self.tls_context is not None:
            options["tls_context"] = self.tls_context
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
            use_tls=self.security == "tls",
            start_tls=True if self.security == "starttls" else False,
            **options,
        )


#: Connection attempts in a row before the server is taken for down, and the first pause between them.
CONNECT_ATTEMPTS = 4
CONNECT_BACKOFF = 0.5


_ENHANCED = re.compile(r"\s*5\.(\d{1,3})\.(\d{1,3})\b")


def about_the_address(code: int, message: str) -> bool:
    """Whether a 5xx to ``RCPT`` refuses the address for good (RFC 3463: 5.1.x, no such mailbox or domain; 5.2.1,
    mailbox disabled), rather than the server refusing for a reason of its own (5.7.x: relaying denied,
    authentication required, policy), which says nothing about the address. Without an enhanced code: 550, 551
    and 553 (mailbox unavailable, not local, name not allowed)."""
    enhanced = _ENHANCED.match(message or "")
    if enhanced:
        return enhanced.group(1) == "1" or (enhanced.group(1), enhanced.group(2)) == ("2", "1")
    return code in (550, 551, 553)


def _transient(code: int | None) -> bool:
    return code is not None and 400 <= code < 500


#: 421: the server is closing the session (too many messages on it, shutting down): the message was not taken.
CLOSING = 421


class Connection:
    def __init__(self, server: SmtpServer):
        self.server = server
        self.smtp: aiosmtplib.SMTP | None = None
        self.sent = 0

    async def ensure(self) -> None:
        """A live session, reconnecting (with backoff) when there is none; :class:`SmtpDown` if it cannot."""
        import aiosmtplib

        if self.smtp is not None and self.smtp.is_connected:
            return
        await self.close()
        reason = ""
        for attempt in range(CONNECT_ATTEMPTS):
            smtp = self.server.client()
            try:
                await smtp.connect()
            except aiosmtplib.SMTPAuthenticationError as exc:
                raise SmtpDown(f"accesso al server SMTP rifiutato ({exc.code})") from None
            except (aiosmtplib.SMTPException, OSError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(CONNECT_BACKOFF * 2**attempt)
                continue
            self.smtp = smtp
            return
        raise SmtpDown(f"server SMTP non raggiungibile ({reason[:200]})")

    async def send(self, sender: str, recipient: str, data: bytes) -> Answer:
        """One message on this session (connecting first if needed)."""
        import aiosmtplib

        await self.ensure()
        smtp = self.smtp
        assert smtp is not None
        try:
            await smtp.mail(sender)
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == CLOSING:
                await self.close()
                return Answer(Verdict.UNSENT, exc.code, exc.message)
            if _transient(exc.code):
                await self._reset()
                return Answer(Verdict.DEFERRED, exc.code, exc.message)
            raise SmtpDown(f"il server SMTP rifiuta il mittente ({exc.code} {exc.message[:120]})") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            return Answer(Verdict.UNSENT, None, type(exc).__name__)
        try:
            await smtp.rcpt(recipient)
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == CLOSING:
                await self.close()
                return Answer(Verdict.UNSENT, exc.code, exc.message)
            await self._reset()
            if _transient(exc.code):
                verdict = Verdict.DEFERRED
            else:  # a refusal of the address itself, or of this message by the server's own policy
                verdict = Verdict.BOUNCED if about_the_address(exc.code, exc.message) else Verdict.FAILED
            return Answer(verdict, exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            return Answer(Verdict.UNSENT, None, type(exc).__name__)
        try:
            response = await smtp.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == CLOSING:  # a reply, so the server did not take the message
                await self.close()
                return Answer(Verdict.UNSENT, exc.code, exc.message)
            await self._reset()
            return Answer(Verdict.DEFERRED if _transient(exc.code) else Verdict.FAILED, exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            return Answer(Verdict.UNCERTAIN, None, type(exc).__name__)
        self.sent += 1
        return Answer(Verdict.SENT, response.code, response.message)

    async def _reset(self) -> None:
        """After a refusal: RSET, so the session takes the next message (a dead session is dropped)."""
        import aiosmtplib

        if self.smtp is None:
            return
        try:
            await self.smtp.rset()
        except (aiosmtplib.SMTPException, OSError):
            await self.close()

    async def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            if smtp.is_connected:
                await smtp.quit()
        except Exception:  # noqa: BLE001 - closing a session that failed: nothing more to learn from it
            smtp.close()


async def send_one(server: SmtpServer, sender: str, recipient: str, data: bytes) -> Answer:
    """A single message on a connection of its own (the confirmation e-mail)."""
    connection = Connection(server)
    try:
        return await connection.send(sender, recipient, data)
    finally:
        await connection.close()
