"""The e-mail newsletter: each bulletin to every confirmed address, through the town's SMTP server.

Free per message. A bulletin is one e-mail (plain text and HTML, :mod:`site_tools.render.email`) per address,
with that address's own unsubscribe link in the body and in the ``List-Unsubscribe`` header, and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), so that mail clients offer a one-click
unsubscribe. The messages go out over :setting:`SMTP_POOL` connections at once (:mod:`.smtp`), each sending
many; every (bulletin, address) is recorded in the store before it is handed over, so a second run, or one
resumed after a crash, sends nothing twice (:mod:`site_tools.store.newsletter`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import re
import time
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr, formatdate
from typing import TYPE_CHECKING

from site_tools.channels import newsletter_tokens as tokens
from site_tools.channels.base import (
    Channel,
    Delivered,
    DeliveryContext,
    Estimate,
    NewsletterLedger,
    Rendered,
    Secret,
    register,
)
from site_tools.channels.smtp import Connection, SmtpDown, SmtpServer, Verdict
from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.formatting import number
from site_tools.render.links import Links
from site_tools.settings import reveal

#: What an address typed in the form may look like: no spaces, no line breaks, no quoting or comments, one @,
#: a domain with a dot; at most 254 characters (RFC 5321 §4.5.3.1.3). Anything else is refused, not cleaned.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDRESS = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+\Z")
ADDRESS_MAX = 254
#: A 4xx is tried again after these pauses (seconds; greylisting usually asks for a few minutes), then given up.
RETRY_DELAYS: tuple[float, ...] = (60.0, 300.0, 900.0, 3600.0)
#: Messages in a row a connection could not hand over before the server is taken for down.
MAX_UNSENT = 5
#: A run waits for a retry due within this many seconds; a later one is left to the next run ("waiting").
IN_RUN_WAIT = 30.0


def normalize_address(text: str) -> str | None:
    """The address as stored (domain in lower case; a domain with accents in its ASCII form, ``xn--…``, as SMTP
    servers take it), or None when it is not one we send to."""
    text = (text or "").strip()
    if "@" in text and not text.rsplit("@", 1)[1].isascii():
        local, domain = text.rsplit("@", 1)
        try:
            text = f"{local}@{domain.lower().encode('idna').decode('ascii')}"
        except UnicodeError:
            return None
    if len(text) > ADDRESS_MAX or not ADDRESS.match(text):
        return None
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def unsubscribe_url(config: TownConfig, secret: str, address_id: int) -> str:
    return (
        f"{config.newsletter_service_url}/newsletter/cancella?t={tokens.make(secret, tokens.UNSUBSCRIBE, address_id)}"
    )


def confirm_url(config: TownConfig, secret: str, address_id: int) -> str:
    return f"{config.newsletter_service_url}/newsletter/conferma?t={tokens.make(secret, tokens.CONFIRM, address_id)}"


def _sender(config: TownConfig) -> tuple[str, str]:
    """(the From header, the envelope sender)."""
    assert config.newsletter is not None
    name = config.newsletter.sender_name or config.name
    return formataddr((name, config.newsletter.sender), charset="utf-8"), config.newsletter.sender


def compose(
    config: TownConfig,
    recipient: str,
    subject: str,
    text: str,
    html_part: str | None,
    message_id: str,
    unsubscribe: str | None = None,
) -> bytes:
    """One e-mail as the SMTP server gets it: CRLF line ends, headers encoded (RFC 2047) and folded, the parts in
    UTF-8 and base64 (short lines whatever the editors wrote). Built by hand rather than with ``EmailMessage``,
    whose header objects cost about ten times as much CPU a message: at 15,000 addresses that was the bottleneck.

    The recipient is checked again here, and no header value may hold a line break: either would be a header
    injection (:class:`ValueError`)."""
    assert config.newsletter is not None
    if normalize_address(recipient) != recipient:
        raise ValueError("not an address the newsletter sends to")
    values = [subject, message_id, unsubscribe or "", config.newsletter.reply_to or ""]
    if any(ch in value for value in values for ch in "\r\n"):
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    headers = [
        f"From: {_sender(config)[0]}",
        f"To: {recipient}",
        f"Subject: {Header(subject, 'utf-8', header_name='Subject').encode(linesep=CRLF)}",
        f"Date: {formatdate(usegmt=True)}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
    ]
    if config.newsletter.reply_to:
        headers.append(f"Reply-To: {config.newsletter.reply_to}")
    if unsubscribe:
        domain = config.newsletter.sender.rsplit("@", 1)[1]
        headers += [
            f"List-Unsubscribe: <{unsubscribe}>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            f"List-Id: <avvisi.{domain}>",
            "Auto-Submitted: auto-generated",
        ]
    plain = _part("plain", text)
    if html_part is None:
        return (CRLF.join(headers) + CRLF + plain).encode("ascii")
    boundary = f"=_st_{hashlib.sha256(message_id.encode()).hexdigest()[:24]}"
    body = (
        f'Content-Type: multipart/alternative; boundary="{boundary}"{CRLF}{CRLF}'
        f"--{boundary}{CRLF}{plain}{CRLF}--{boundary}{CRLF}{_part('html', html_part)}{CRLF}--{boundary}--{CRLF}"
    )
    return (CRLF.join(headers) + CRLF + body).encode("ascii")


CRLF = "\r\n"


def _part(subtype: str, content: str) -> str:
    encoded = base64.encodebytes(content.encode("utf-8")).decode("ascii").replace("\n", CRLF)
    return f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}Content-Transfer-Encoding: base64{CRLF}{CRLF}{encoded}'


@dataclass
class _Run:
    """One send of one bulletin: the workers share it."""

    bulletin: Bulletin
    parts: EmailParts
    ledger: NewsletterLedger
    run_id: str
    stop: str | None = None  # why the workers stop (the server is down)
    unsent: int = 0
    tally: dict[str, int] = field(default_factory=dict)


if TYPE_CHECKING:
    from site_tools.render.email import EmailParts

# The e-mail renderer (markdown-it) is imported when first used: the first urgent post does not wait for it.


@register
class EmailChannel(Channel):
    name = "email"
    order = 60  # after the one-post channels, before the WhatsApp list's long fan-out
    shared = True  # runs cooperate on a send: their claims on addresses are disjoint

    secrets = (
        Secret(
            "SMTP_HOST",
            "aggiungi SMTP_HOST (e SMTP_USERNAME, SMTP_PASSWORD) nei segreti del servizio.",
            why="la newsletter non sa a quale server di posta consegnare",
        ),
        Secret(
            "NEWSLETTER_SECRET",
            "aggiungi NEWSLETTER_SECRET (un testo casuale lungo) nei segreti del servizio.",
            why="senza, i link per cancellarsi non si possono firmare",
        ),
    )

    def render(self, bulletin: Bulletin, links: Links) -> Rendered:
        from site_tools.render.email import render_email

        parts = render_email(bulletin, self.config, links)
        facts = (
            f"oggetto «{parts.subject}» ({len(parts.subject)} caratteri), testo e HTML "
            f"({number(len(parts.text))} caratteri di testo), con il link per cancellarsi"
        )
        return Rendered((f"Oggetto: {parts.subject}\n\n{parts.text}",), facts)

    def estimate(self, bulletin: Bulletin, audience: int, rate: float) -> Estimate:
        return Estimate(recipients=0, seconds=0.0, cost=0.0)  # free per message; the audience is the store's

    async def deliver(self, bulletin: Bulletin, ctx: DeliveryContext) -> Delivered:
        started = time.monotonic()
        ledger = ctx.newsletter
        ledger.enqueue(bulletin.id)
        from site_tools.render.email import render_email

        run = _Run(bulletin, render_email(bulletin, self.config, ctx.links), ledger, ctx.run_id)
        server = SmtpServer.from_settings(self.settings)
        size = self.settings.smtp_pool
        await asyncio.gather(*(self._worker(run, Connection(server)) for _ in range(size)))
        counts = ledger.counts(bulletin.id)
        sent = counts.get("sent", 0)
        detail = _describe(counts)
        first = started if sent else None
        if run.stop:
            return Delivered("failed", f"{run.stop}; {detail}", recipients=sent, channel_down=True, first_send_at=first)
        state = "waiting" if counts.get("deferred", 0) or counts.get("queued", 0) else "done"
        return Delivered(state, detail, recipients=sent, first_send_at=first)

    async def _worker(self, run: _Run, connection: Connection) -> None:
        sender = _sender(self.config)[1]
        secret = reveal(self.settings.newsletter_secret)
        unsent = 0  # in a row: a server that drops every session is down, however it answers the connection
        refused = 0  # in a row: a server that refuses every message (relaying denied, the bulletin's content)
        task = asyncio.current_task()
        try:
            while run.stop is None:
                claimed = run.ledger.claim(run.bulletin.id, run.run_id)
                if claimed is None:
                    due = run.ledger.next_retry(run.bulletin.id)
                    if due is None or due - time.time() > IN_RUN_WAIT:
                        return
                    await asyncio.sleep(max(0.0, due - time.time()))
                    continue
                address_id, address = claimed
                data = self._message(run, address_id, address, secret)
                try:
                    answer = await connection.send(sender, address, data)
                except SmtpDown as exc:
                    run.ledger.release(run.bulletin.id, address_id)
                    run.stop = str(exc)
                    return
                if task is not None and task.cancelling():
                    # aiosmtplib may answer a cancellation with a closed connection: the run is stopping (SIGTERM,
                    # a deadline), so this row stays 'sending' (its outcome unknown) and nothing more is sent.
                    raise asyncio.CancelledError
                self._record(run, address_id, answer.verdict, answer.code)
                unsent = unsent + 1 if answer.verdict is Verdict.UNSENT else 0
                refused = refused + 1 if answer.verdict is Verdict.FAILED else 0
                if unsent >= MAX_UNSENT:
                    run.stop = f"il server SMTP chiude ogni sessione ({answer.code or answer.detail})"
                    return
                if refused >= MAX_UNSENT:
                    run.stop = (
                        f"il server SMTP rifiuta ogni destinatario ({answer.code}): controlla SMTP_USERNAME e "
                        "SMTP_PASSWORD e che il server accetti il mittente della newsletter"
                    )
                    return
        finally:
            await connection.close()

    def _message(self, run: _Run, address_id: int, address: str, secret: str) -> bytes:
        from site_tools.render.email import UNSUBSCRIBE_PLACEHOLDER

        link = unsubscribe_url(self.config, secret, address_id)
        parts = run.parts
        domain = _sender(self.config)[1].rsplit("@", 1)[1]
        return compose(
            self.config,
            address,
            parts.subject,
            parts.text.replace(UNSUBSCRIBE_PLACEHOLDER, link),
            parts.html.replace(UNSUBSCRIBE_PLACEHOLDER, html.escape(link, quote=True)),
            # The same id for the same bulletin and address: a copy that arrives twice is one message to clients.
            f"<{run.bulletin.id}.{address_id}@{domain}>",
            link,
        )

    def _record(self, run: _Run, address_id: int, verdict: Verdict, code: int | None) -> None:
        ledger, bulletin_id = run.ledger, run.bulletin.id
        if verdict is Verdict.SENT:
            ledger.finish(bulletin_id, address_id, "sent", code)
        elif verdict is Verdict.UNSENT:
            ledger.release(bulletin_id, address_id)
        elif verdict is Verdict.UNCERTAIN:
            ledger.finish(bulletin_id, address_id, "uncertain", code)
        elif verdict is Verdict.DEFERRED:
            attempts = ledger.attempts(bulletin_id, address_id)
            if attempts > len(RETRY_DELAYS):
                ledger.finish(bulletin_id, address_id, "failed", code)
            else:
                ledger.finish(bulletin_id, address_id, "deferred", code, time.time() + RETRY_DELAYS[attempts - 1])
        else:
            ledger.finish(bulletin_id, address_id, "failed", code)
            if verdict is Verdict.BOUNCED and code is not None:
                ledger.bounce(address_id, code)


#: How the ledger's states read in the publish summary.
_STATES = (
    ("sent", "inviate"),
    ("deferred", "da ritentare"),
    ("failed", "rifiutate"),
    ("uncertain", "con esito incerto (non si rimandano)"),
    ("sending", "in corso in un'altra esecuzione o interrotte"),
)


def _describe(counts: dict[str, int]) -> str:
    shown = [f"{number(counts[state])} {label}" for state, label in _STATES if counts.get(state)]
    return "e-mail: " + (", ".join(shown) if shown else "nessun iscritto")
