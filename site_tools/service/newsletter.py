"""The newsletter's double opt-in, on the service: the site's form, the confirmation link, the unsubscribe link.

* ``POST /newsletter/iscrizione`` — the form on the site's signup page (a plain cross-origin form POST: no
  cookies, no session, so nothing to forge; a request whose ``Origin`` is neither the site's nor the service's is
  refused). The address is stored ``pending`` and a confirmation e-mail with a signed link is sent; the answer is
  a redirect to the same «controlla la posta» page whether the address was new, pending or already subscribed
  (an active address is sent an e-mail saying so instead, so that the answer's time and its failure when the SMTP
  server is down are the same too): the form never tells who is subscribed. Rate-limited per client address and per e-mail address (a flood of
  confirmation e-mails to a victim is capped at a few an hour).
* ``GET /newsletter/conferma?t=…`` shows a button; ``POST`` confirms (consent time, source and text recorded): mail
  scanners open every link of an e-mail, and must not confirm a stranger's address.
* ``GET /newsletter/cancella?t=…`` shows a button; ``POST`` unsubscribes at once (RFC 8058's one-click POST, which
  mail clients send with ``List-Unsubscribe=One-Click`` in the body).

Addresses are personal data: no log line here names one (only counts and outcomes).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import make_msgid
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from site_tools.channels import newsletter_tokens as tokens
from site_tools.channels.email import compose, confirm_url, normalize_address, unsubscribe_url
from site_tools.channels.smtp import SmtpDown, SmtpServer, Verdict, send_one
from site_tools.content.config import TownConfig
from site_tools.render.email import consent_text
from site_tools.service.guard import Rejected, read_body
from site_tools.service.ratelimit import RateLimit
from site_tools.settings import Settings, reveal
from site_tools.store import Store

log = logging.getLogger("site_tools.newsletter")
T = TypeVar("T")

#: The form's body is a few fields: anything longer is refused unread.
MAX_FORM_BODY = 4096
#: Where the consent came from, as recorded.
SOURCE = "modulo del sito"


@dataclass
class Limits:
    """Per client address: a burst of 5 requests, then one a minute; per e-mail address: 3, then one an hour."""

    by_client: RateLimit = field(default_factory=lambda: RateLimit(rate=1 / 60, burst=5, total_rate=5, total_burst=100))
    by_address: RateLimit = field(
        default_factory=lambda: RateLimit(rate=1 / 3600, burst=3, total_rate=1e6, total_burst=1e6)
    )


class NewsletterService:
    def __init__(
        self,
        config: TownConfig,
        settings: Settings,
        store_factory: Callable[[], Store],
        limits: Limits | None = None,
        server: SmtpServer | None = None,
    ):
        self.config = config
        self.settings = settings
        self.store_factory = store_factory
        self.limits = limits or Limits()
        self.server = server or SmtpServer.from_settings(settings)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="newsletter")
        self._store: Store | None = None
        self.counts = {"requested": 0, "confirmed": 0, "left": 0, "refused": 0, "limited": 0}

    def routes(self) -> list[Route]:
        return [
            Route("/newsletter/iscrizione", self.subscribe, methods=["POST"]),
            Route("/newsletter/conferma", self.confirm, methods=["GET", "POST"]),
            Route("/newsletter/cancella", self.unsubscribe, methods=["GET", "POST"]),
            Route("/newsletter/esito", self.outcome, methods=["GET"]),
        ]

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._store is not None:
            self._store.close()

    async def _run(self, action: Callable[[Store], T]) -> T:
        def call() -> T:
            if self._store is None:
                self._store = self.store_factory()
            return action(self._store)

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    @property
    def _secret(self) -> str:
        return reveal(self.settings.newsletter_secret)

    # -- the form ---------------------------------------------------------------------------------------
    async def subscribe(self, request: Request) -> Response:
        if not self._secret or not self.settings.smtp_host:
            return self._page("Newsletter non disponibile", NOT_READY, 503)
        if not self._same_site(request.headers.get("origin")):
            self.counts["refused"] += 1
            return self._page("Richiesta non valida", FOREIGN, 403)
        client = request.client.host if request.client else "?"
        wait = self.limits.by_client.check(client)
        if wait:
            self.counts["limited"] += 1
            page = self._page("Troppe richieste", TOO_MANY, 429)
            page.headers["Retry-After"] = str(int(wait) + 1)
            return page
        try:  # read up to the limit, within a deadline: never a whole huge or trickling body into memory
            body = await read_body(request, limit=MAX_FORM_BODY)
        except Rejected as exc:
            return self._page("Richiesta non valida", TOO_LONG if exc.status == 413 else TOO_SLOW, exc.status)
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        form = {name: values[0] for name, values in fields.items()}
        if str(form.get("sito", "")):  # the honeypot field, hidden to people
            return RedirectResponse(self._url("/newsletter/esito?e=controlla"), 303)
        typed = str(form.get("email", ""))
        address = normalize_address(typed)
        if address is None:
            self.counts["refused"] += 1
            accented = "@" in typed and not typed.strip().rsplit("@", 1)[0].isascii()
            return self._page("Indirizzo non valido", BAD_ACCENT if accented else BAD_ADDRESS, 400)
        if str(form.get("consenso", "")) != "si":
            return self._page("Manca il consenso", NO_CONSENT, 400)
        # One mailbox whatever its capitals (as the store sees it): the cap is not multiplied by retyping it.
        if self.limits.by_address.check(hashlib.sha256(address.lower().encode()).hexdigest()):
            self.counts["limited"] += 1  # the owner of the address already has a link: no more e-mails for now
            return RedirectResponse(self._url("/newsletter/esito?e=controlla"), 303)
        asked = await self._run(lambda store: store.newsletter.request(address))
        # An address already subscribed is told so by e-mail (with its unsubscribe link): the same SMTP round trip,
        # and the same answer when the server is down, as for a new one, so neither the page nor its timing tells
        # an outsider who is subscribed.
        if asked.confirm:
            message = self._confirmation(address, asked.address_id)
        else:
            message = self._already(address, asked.address_id)
        try:
            answer = await send_one(self.server, self._sender, address, message)
        except SmtpDown as exc:
            log.error("newsletter: confirmation e-mail not sent: %s", exc)
            return self._page("Invio non riuscito", SMTP_DOWN, 503)
        if answer.verdict is not Verdict.SENT:
            log.warning("newsletter: confirmation e-mail %s (SMTP %s)", answer.verdict.value, answer.code)
            if answer.verdict in (Verdict.DEFERRED, Verdict.UNSENT):
                return self._page("Invio non riuscito", SMTP_DOWN, 503)
        self.counts["requested"] += 1
        log.info("newsletter: subscription requested")
        return RedirectResponse(self._url("/newsletter/esito?e=controlla"), 303)

    @property
    def _sender(self) -> str:
        assert self.config.newsletter is not None
        return self.config.newsletter.sender

    def _confirmation(self, address: str, address_id: int) -> bytes:
        link = confirm_url(self.config, self._secret, address_id)
        text = (
            f"Buongiorno,\n\nabbiamo ricevuto la richiesta di iscrivere questo indirizzo alla newsletter degli avvisi "
            f"del {self.config.name}.\n\nPer confermare apri questo link entro 7 giorni e tocca «Conferma l'iscrizione»:\n{link}\n\n"
            "Se non l'hai chiesto tu, ignora questa e-mail: senza conferma non riceverai nulla.\n"
        )
        domain = self._sender.rsplit("@", 1)[1]
        subject = f"Conferma l'iscrizione agli avvisi del {self.config.name}"
        return compose(self.config, address, subject, text, None, make_msgid(domain=domain))

    def _already(self, address: str, address_id: int) -> bytes:
        link = unsubscribe_url(self.config, self._secret, address_id)
        text = (
            f"Buongiorno,\n\nabbiamo ricevuto una nuova richiesta di iscrivere questo indirizzo alla newsletter degli "
            f"avvisi del {self.config.name}: sei già iscritto, non devi fare nulla.\n\n"
            f"Se invece non vuoi più ricevere gli avvisi per e-mail, apri questo link:\n{link}\n"
        )
        domain = self._sender.rsplit("@", 1)[1]
        subject = f"Sei già iscritto agli avvisi del {self.config.name}"
        return compose(self.config, address, subject, text, None, make_msgid(domain=domain))

    # -- the links --------------------------------------------------------------------------------------
    def _button(self, path: str, token: str, label: str) -> str:
        """The one button a link's page shows: the link's own action happens only on its POST."""
        action = html.escape(self._url(f"{path}?t={token}"), quote=True)
        return f'<form method="post" action="{action}"><button type="submit">{label}</button></form>'

    async def confirm(self, request: Request) -> Response:
        token = request.query_params.get("t", "")
        address_id = tokens.check(self._secret, tokens.CONFIRM, token)
        if address_id is None:
            return self._page("Link non valido", BAD_CONFIRM, 400)
        if request.method == "GET":
            # A button, not the confirmation itself: mail scanners and previews open every link of an e-mail, and
            # a stranger's address typed in the form would otherwise be confirmed by the stranger's scanner.
            button = self._button("/newsletter/conferma", token, "Conferma l'iscrizione")
            return self._page("Conferma l'iscrizione", ASK_CONFIRM + button, 200)
        text = consent_text(self.config)
        ok = await self._run(lambda store: store.newsletter.confirm(address_id, SOURCE, text, time.time()))
        if not ok:
            return self._page("Link non valido", BAD_CONFIRM, 400)
        self.counts["confirmed"] += 1
        log.info("newsletter: subscription confirmed")
        return self._page("Iscrizione confermata", CONFIRMED.format(town=html.escape(self.config.name)), 200)

    async def unsubscribe(self, request: Request) -> Response:
        token = request.query_params.get("t", "")
        address_id = tokens.check(self._secret, tokens.UNSUBSCRIBE, token)
        if address_id is None:
            return self._page("Link non valido", BAD_UNSUBSCRIBE, 400)
        if request.method == "GET":
            button = self._button("/newsletter/cancella", token, "Annulla l'iscrizione")
            return self._page("Annulla l'iscrizione", ASK_UNSUBSCRIBE + button, 200)
        known = await self._run(lambda store: store.newsletter.unsubscribe(address_id))
        if not known:
            return self._page("Link non valido", BAD_UNSUBSCRIBE, 400)
        self.counts["left"] += 1
        log.info("newsletter: unsubscribed")
        return self._page("Iscrizione annullata", LEFT.format(town=html.escape(self.config.name)), 200)

    async def outcome(self, request: Request) -> Response:
        return self._page("Controlla la posta", CHECK_MAIL, 200)

    def _url(self, path: str) -> str:
        """``path`` on the service as the town reaches it: under ``newsletter_service_url``, which may have a path of
        its own (a reverse proxy's prefix), as the e-mailed links are."""
        return f"{self.config.newsletter_service_url or ''}{path}"

    # -- helpers -------------------------------------------------------------------------------------------
    def _same_site(self, origin: str | None) -> bool:
        """No ``Origin`` (an old browser, a mail client) is let through: the form is not a credentialed action."""
        if not origin:
            return True
        allowed = {_origin(self.config.site_url), _origin(self.config.newsletter_service_url or "")}
        return _origin(origin) in allowed

    def _page(self, title: str, message: str, status: int) -> HTMLResponse:
        site = html.escape(self.config.site_url, quote=True)
        town = html.escape(self.config.name)
        body = (
            '<!DOCTYPE html><html lang="it"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)} · {town}</title></head>"
            '<body style="font-family:sans-serif;max-width:36em;margin:2em auto;padding:0 1em">'
            f"<p>{town}</p><h1>{html.escape(title)}</h1>{message}"
            f'<p><a href="{site}">Torna al sito del Comune</a></p></body></html>'
        )
        return HTMLResponse(
            body,
            status,
            headers={
                # The links carry tokens: never sent on to another site, never cached by a proxy.
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            },
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


NOT_READY = "<p>La newsletter non è ancora attiva. Riprova più tardi o scrivi all'URP del Comune.</p>"
FOREIGN = "<p>Questa richiesta non arriva dal modulo del sito del Comune. Iscriviti dalla pagina «Iscriviti».</p>"
TOO_MANY = "<p>Troppe richieste da questa connessione. Riprova tra qualche minuto.</p>"
TOO_SLOW = "<p>Il modulo è arrivato troppo lentamente. Controlla la connessione e riprova.</p>"
TOO_LONG = "<p>Il modulo inviato è troppo lungo. Compila solo il campo dell'indirizzo e-mail e riprova.</p>"
BAD_ADDRESS = (
    "<p>L'indirizzo e-mail scritto nel modulo non è valido. Scrivilo intero, senza spazi, come "
    "<code>nome@esempio.it</code>, e riprova.</p>"
)
BAD_ACCENT = (
    "<p>L'indirizzo e-mail scritto nel modulo ha lettere accentate prima della @: i server di posta non sempre le "
    "accettano. Controlla come è scritto il tuo indirizzo (di solito senza accenti) e riprova.</p>"
)
NO_CONSENT = "<p>Per iscriverti spunta la casella del consenso nel modulo, poi invia di nuovo.</p>"
SMTP_DOWN = (
    "<p>Non riusciamo a inviare l'e-mail di conferma in questo momento. Riprova tra qualche minuto; se succede "
    "ancora, avvisa l'URP del Comune.</p>"
)
CHECK_MAIL = (
    "<p>Se l'indirizzo è corretto, riceverai a breve un'e-mail con un link per confermare l'iscrizione (valido "
    "7 giorni). Se non la trovi, guarda anche nella posta indesiderata.</p>"
)
BAD_CONFIRM = (
    "<p>Il link di conferma non è valido o è scaduto (vale 7 giorni). Iscriviti di nuovo dal modulo del sito: "
    "riceverai un nuovo link.</p>"
)
BAD_UNSUBSCRIBE = (
    "<p>Il link per annullare l'iscrizione non è valido: copialo intero dall'ultima e-mail ricevuta, oppure scrivi "
    "all'URP del Comune.</p>"
)
CONFIRMED = (
    "<p>Grazie: riceverai per e-mail gli avvisi del {town}. In fondo a ogni e-mail c'è il link per annullare "
    "l'iscrizione.</p>"
)
ASK_CONFIRM = (
    "<p>Vuoi ricevere per e-mail gli avvisi del Comune? Tocca il pulsante per confermare. Se non l'hai chiesto tu, "
    "chiudi questa pagina: senza conferma non riceverai nulla.</p>"
)
ASK_UNSUBSCRIBE = "<p>Vuoi smettere di ricevere per e-mail gli avvisi del Comune?</p>"
LEFT = "<p>Fatto: non riceverai più gli avvisi del {town} per e-mail. Puoi iscriverti di nuovo quando vuoi.</p>"
