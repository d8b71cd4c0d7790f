"""The staff inbox: server-rendered pages (Jinja2), usable without JavaScript, mounted at ``/sportello``.

Every page but the login needs a session; every POST needs the session's
CSRF token; pages with citizens' data are never cached and say so. The
audit log records each login, each conversation read, each answer and each
change. Citizens' numbers appear on the pages (staff must answer them) and
nowhere in the logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import phonenumbers
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from site_tools.content import limits
from site_tools.content.dates import WEEKDAYS_IT
from site_tools.formatting import duration, number, to_whom
from site_tools.phones import mask
from site_tools.service.counter import actions, auth
from site_tools.service.counter.runtime import Counter
from site_tools.service.counter.template import ANSWER_MAX, BODY
from site_tools.service.counter.window import Window
from site_tools.settings import reveal
from site_tools.store import Store, candidates
from site_tools.store.conversations import HANDLED, OPEN
from site_tools.store.staff import StaffMember

log = logging.getLogger("site_tools.counter.web")
HERE = Path(__file__).parent
PAGE_SIZE = 50
MAX_FORM = 64 * 1024
INLINE_IMAGES = {"image/jpeg", "image/png", "image/webp"}
#: The candidates' states as staff read them (coexistence: the app's contacts), in the page's order.
CANDIDATE_STATES_IT = {
    candidates.NEW: "da interpellare",
    candidates.ASKED: "messaggio di conferma mandato, in attesa di risposta",
    candidates.CONFIRMED: "hanno risposto «Sì, continuo»: iscritti",
    candidates.DECLINED: "hanno risposto «No»: non iscritti, non si richiede più",
    candidates.IMPORTED: "iscritti su dichiarazione del Comune",
    candidates.REMOVED: "tolti dai contatti dell'app prima di essere interpellati",
}
STATUS_IT = {
    "queued": "in coda",
    "sending": "in invio",
    "pending": "in coda",
    "sent": "inviata",
    "delivered": "consegnata",
    "read": "letta",
    "failed": "NON inviata",
}
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self';"
        b" frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds the same strict headers to every answer of the inbox (pages hold personal data)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in SECURITY_HEADERS if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def phone_display(phone: str) -> str:
    try:
        return phonenumbers.format_number(phonenumbers.parse("+" + phone), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return "+" + phone


def disposition(kind: str, filename: str | None, message_id: int) -> str:
    """Content-Disposition for a citizen's file name (any characters): an ASCII fallback, the name in RFC 5987."""
    name = "".join(c for c in filename or "" if c.isprintable() and c not in '"\\')[:100] or f"allegato-{message_id}"
    fallback = "".join(c if c.isascii() else "_" for c in name)
    return f'{kind}; filename="{fallback}"' + ("" if fallback == name else f"; filename*=UTF-8''{quote(name, safe='')}")


class Refused(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


class Inbox:
    def __init__(self, counter: Counter, clock: Callable[[], float] = time.time, cookie_path: str = "/sportello"):
        self.counter = counter
        self.cookie_path = cookie_path
        self.config = counter.config
        self.clock = clock
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True
        )
        self.env.filters.update(
            when=self.when,
            ago=duration,
            phone=phone_display,
            masked=mask,
            number=number,
            to_whom=to_whom,
            audit=actions.audit_text,
        )

    # -- helpers -----------------------------------------------------------------------
    def when(self, ts: float | datetime | None) -> str:
        if ts is None:
            return ""
        moment = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, self.config.timezone)
        moment = moment.astimezone(self.config.timezone)
        return f"{WEEKDAYS_IT[moment.weekday()][:3]} {moment:%d/%m %H:%M}"

    def now_local(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), self.config.timezone)

    async def run(self, fn: Callable[[Store], Any]) -> Any:
        return await self.counter.run(fn)

    def page(
        self, request: Request, template: str, status: int = 200, flash: actions.Done | None = None, **context: Any
    ) -> HTMLResponse:
        session = request.session
        if "csrf" not in session:
            session["csrf"] = auth.new_token()
        shown = session.pop("flash", None) if flash is None else {"ok": flash.ok, "text": flash.message}
        html = self.env.get_template(template).render(
            base=request.scope.get("root_path", ""),
            town=self.config.short_name,
            csrf=session["csrf"],
            flash=shown,
            status_it=STATUS_IT,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def redirect(self, request: Request, path: str, flash: actions.Done | None = None) -> RedirectResponse:
        if flash is not None:
            request.session["flash"] = {"ok": flash.ok, "text": flash.message}
        return RedirectResponse(request.scope.get("root_path", "") + path, status_code=303)

    async def me(self, request: Request) -> StaffMember | None:
        sid = request.session.get("sid")
        if not sid:
            return None
        return await self.run(lambda store: store.staff.session(sid, auth.SESSION_IDLE))

    async def form(self, request: Request) -> FormData:
        """The POSTed form, if its CSRF token is the session's; else :class:`Refused`."""
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_FORM):
            raise Refused(413, "Il modulo inviato è troppo grande.")
        form = await request.form(max_files=0, max_fields=50)
        if not auth.same_token(request.session.get("csrf"), str(form.get("csrf") or "")):
            log.warning("form refused: missing or wrong CSRF token on %s", request.url.path)
            raise Refused(
                403, "Modulo scaduto o non valido (manca il codice di sicurezza). Ricarica la pagina e riprova."
            )
        return form

    # -- login ----------------------------------------------------------------------------
    async def login_page(self, request: Request) -> Response:
        if await self.me(request):
            return self.redirect(request, "/")
        return self.page(request, "login.html", title="Accesso")

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        username = str(form.get("utente") or "").strip().lower()[:100]
        password = str(form.get("password") or "")[:1000]
        address = request.client.host if request.client else "?"
        secret = reveal(self.counter.settings.session_secret)
        device = auth.device_key(secret, request.cookies.get(auth.DEVICE_COOKIE), username)
        # A known device's tries count on their own: guesses from elsewhere cannot lock a member out of it.
        keys = (device or f"user:{username}", f"ip:{address}")
        limits = [(keys[0], *auth.PER_USER.parameters()), (keys[1], *auth.PER_ADDRESS.parameters())]
        # Counted before the password is checked, in one transaction with the check of the block.
        wait = await self.run(lambda store: store.staff.attempt(limits))
        if wait > 0:
            return await self._throttled(request, username, wait)
        member = await self.run(lambda store: store.staff.by_username(username))
        stored = member.password_hash if member and member.active else None
        # argon2 costs ~0.2 s of CPU: on a counter thread, never on the event loop the webhook shares.
        verified = await self.run(lambda store: auth.verify_password(stored, password))
        if not verified or member is None:
            await self.run(lambda store: self._failed(store, keys, username))
            return self.page(
                request, "login.html", 401, title="Accesso", error="Nome utente o password errati.", utente=username
            )
        sid = auth.new_token()
        await self.run(lambda store: self._opened(store, member, password, sid, keys[0], keys[1]))
        request.session.clear()
        request.session.update(sid=sid, csrf=auth.new_token())
        response = self.redirect(request, "/")
        if device is None:
            response.set_cookie(
                auth.DEVICE_COOKIE,
                auth.device_cookie(secret, username),
                max_age=auth.DEVICE_LIFETIME,
                path=self.cookie_path,
                secure=True,
                httponly=True,
                samesite="strict",
            )
        return response

    async def _throttled(self, request: Request, username: str, wait: float) -> Response:
        await self.run(lambda store: store.staff.audit(None, "login_throttled", None, username))
        seconds = int(wait) + 1
        response = self.page(
            request,
            "login.html",
            429,
            title="Accesso",
            error=f"Troppi tentativi non riusciti: per sicurezza riprova tra {duration(seconds)}.",
            utente=username,
        )
        response.headers["Retry-After"] = str(seconds)
        return response

    @staticmethod
    def _failed(store: Store, keys: tuple[str, str], username: str) -> None:
        store.staff.audit(None, "login_failed", None, username)  # the attempt was counted before the check

    @staticmethod
    def _opened(store: Store, member: StaffMember, password: str, sid: str, user_key: str, address_key: str) -> None:
        if member.password_hash and auth.needs_rehash(member.password_hash):
            store.staff.set_password(member.id, auth.hash_password(password))
        store.staff.open_session(sid, member.id, auth.SESSION_LIFETIME)
        store.staff.login_succeeded(user_key, address_key)
        store.staff.logged_in(member.id)
        store.staff.audit(member.id, "login")

    async def logout(self, request: Request) -> Response:
        await self.form(request)
        sid = request.session.get("sid")
        me = await self.me(request)
        if sid:

            def close(store: Store) -> None:
                store.staff.close_session(sid)
                store.staff.audit(me.id if me else None, "logout")

            await self.run(close)
        request.session.clear()
        return self.redirect(request, "/accesso", actions.Done(True, "Sei uscito dallo sportello."))

    # -- pages ------------------------------------------------------------------------------
    async def inbox(self, request: Request, me: StaffMember) -> Response:
        q = request.query_params
        state = {"aperte": OPEN, "gestite": HANDLED, "tutte": "all"}.get(q.get("stato", "aperte"), OPEN)
        mine = q.get("filtro") == "mie"
        free = q.get("filtro") == "libere"
        page = min(max(1, int(q["pagina"])), 100_000) if q.get("pagina", "").isdigit() and len(q["pagina"]) < 7 else 1
        now = self.now_local()
        overnight = self.config.office_hours.overnight(now)

        def load(store: Store) -> tuple[Any, ...]:
            rows, total = store.conversations.queue(
                state, me.id if mine else None, free, PAGE_SIZE, (page - 1) * PAGE_SIZE
            )
            arrived = (
                store.conversations.waiting_since_between(overnight[0].timestamp(), overnight[1].timestamp())
                if overnight
                else 0
            )
            return rows, total, arrived

        rows, total, arrived = await self.run(load)
        params = {k: v for k, v in (("stato", q.get("stato")), ("filtro", q.get("filtro"))) if v}
        return self.page(
            request,
            "inbox.html",
            title="Conversazioni",
            me=me,
            rows=[(c, Window(c.last_inbound_at, now.timestamp())) for c in rows],
            total=total,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
            query=lambda **extra: urlencode({**params, **extra}),
            state=q.get("stato", "aperte"),
            filtro=q.get("filtro", "tutte"),
            now=now.timestamp(),
            is_open=self.config.office_hours.is_open(now),
            next_opening=self.config.office_hours.next_opening(now),
            overnight=overnight,
            arrived=arrived,
            candidates_link=bool(self.config.whatsapp and self.config.whatsapp.coexistence),
        )

    async def candidates_page(self, request: Request, me: StaffMember) -> Response:
        """The app's contacts by state, read-only: nobody becomes a subscriber from here (only by their own answer
        or the town's declaration, from the command line)."""
        wanted = request.query_params.get("stato", candidates.NEW)
        state = wanted if wanted in CANDIDATE_STATES_IT else candidates.NEW

        def load(store: Store) -> tuple[dict[str, int], list[candidates.Candidate]]:
            return store.candidates.counts(), store.candidates.in_state(state, limit=PAGE_SIZE * 10)

        counts, rows = await self.run(load)
        coex = self.config.whatsapp.coexistence if self.config.whatsapp else None
        return self.page(
            request,
            "candidates.html",
            title="Contatti dell'app",
            me=me,
            counts=counts,
            states=CANDIDATE_STATES_IT,
            state=state,
            rows=rows,
            shown_max=PAGE_SIZE * 10,
            basis=coex.candidates if coex else None,
        )

    async def conversation(
        self, request: Request, me: StaffMember, refused: tuple[actions.Done, str] | None = None
    ) -> Response:
        """The conversation's page; ``refused``: an answer not sent and its text, kept in the reply box."""
        conversation_id = _ident(request.path_params["id"])
        lib = self.counter.library

        def load(store: Store) -> tuple[Any, ...]:
            conversation = store.conversations.get(conversation_id)
            if conversation is None:
                return None, [], [], []
            store.staff.audit(me.id, "read", conversation_id)
            return (
                conversation,
                store.conversations.messages(conversation_id),
                store.staff.members(),
                store.staff.audit_log(conversation_id, limit=15),
            )

        conversation, messages, colleagues, history = await self.run(load)
        if conversation is None:
            raise HTTPException(404, "Conversazione non trovata: forse è stata cancellata alla scadenza dei dati.")
        now = self.clock()
        question = " ".join(m.body or "" for m in messages if m.direction == "in")[-2000:]
        draft = refused[1] if refused else self._draft(request)
        return self.page(
            request,
            "conversation.html",
            422 if refused else 200,
            refused[0] if refused else None,
            refused=refused is not None,
            title=f"Conversazione con {phone_display(conversation.phone)}",
            me=me,
            c=conversation,
            messages=messages,
            colleagues=colleagues,
            history=history,
            window=Window(conversation.last_inbound_at, now),
            draft=draft,
            key=auth.new_token()[:24],
            suggested=lib.answers_for(question),
            answers=lib.answers,
            bulletins=lib.bulletins_for(question, self.now_local()),
            template_body=BODY,
            template_name=self.config.counter.template if self.config.counter else "",
            answer_max=ANSWER_MAX,
            text_max=limits.WHATSAPP_TEXT_MAX,
            inline=INLINE_IMAGES,
        )

    def _draft(self, request: Request) -> str:
        """The reply box's text: a canned answer and/or a bulletin link chosen with plain links (no JavaScript)."""
        q = request.query_params
        parts = []
        answer = self.counter.library.answer(q.get("risposta", ""))
        if answer:
            parts.append(answer.text)
        link = q.get("avviso", "")
        if link.startswith(self.config.site_url):
            parts.append(link)
        return "\n\n".join(parts)

    async def media(self, request: Request, me: StaffMember) -> Response:
        conversation_id, message_id = _ident(request.path_params["id"]), _ident(request.path_params["message"])

        def load(store: Store) -> Any:
            found = store.conversations.media(conversation_id, message_id)
            if found:
                store.staff.audit(me.id, "media", conversation_id, str(message_id))
            return found

        found = await self.run(load)
        if found is None:
            raise HTTPException(404, "File non disponibile.")
        mime, filename, data = found
        inline = mime in INLINE_IMAGES
        return Response(
            data,
            media_type=mime if inline else "application/octet-stream",
            headers={
                "Content-Disposition": disposition("inline" if inline else "attachment", filename, message_id),
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )

    # -- actions ------------------------------------------------------------------------------
    async def reply(self, request: Request, me: StaffMember) -> Response:
        form = await self.form(request)
        conversation_id = _ident(request.path_params["id"])
        template = request.url.path.endswith("/modello")
        text = str(form.get("testo") or "")
        done = await self.run(
            lambda store: actions.answer(
                store,
                self.config,
                conversation_id,
                me.id,
                text,
                str(form.get("invio") or auth.new_token()),
                self.clock(),
                template=template,
                close=form.get("chiudi") == "1",
            )
        )
        if not done.ok:  # the page again, with the text as it was written: nothing typed is lost
            return await self.conversation(request, me, (done, text))
        return self.redirect(request, f"/conversazioni/{conversation_id}", done)

    async def change_state(self, request: Request, me: StaffMember) -> Response:
        form = await self.form(request)
        conversation_id = _ident(request.path_params["id"])
        state = {"gestita": HANDLED, "aperta": OPEN}.get(str(form.get("stato")), "")
        done = await self.run(lambda store: actions.set_state(store, conversation_id, me.id, state))
        target = "/" if state == HANDLED and done.ok else f"/conversazioni/{conversation_id}"
        return self.redirect(request, target, done)

    async def assign(self, request: Request, me: StaffMember) -> Response:
        form = await self.form(request)
        conversation_id = _ident(request.path_params["id"])
        to = str(form.get("a") or "")
        done = await self.run(
            lambda store: actions.assign(store, conversation_id, me.id, int(to) if to.isdigit() else None)
        )
        return self.redirect(request, f"/conversazioni/{conversation_id}", done)


Handler = Callable[[Request, StaffMember], Awaitable[Response]]


def staff_only(inbox: Inbox, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        me = await inbox.me(request)
        if me is None:
            if request.method != "GET":
                raise Refused(403, "Sessione scaduta: accedi di nuovo.")
            return inbox.redirect(request, "/accesso")
        return await handler(request, me)

    return endpoint


def inbox_app(counter: Counter, clock: Callable[[], float] = time.time, cookie_path: str = "/sportello") -> ASGIApp:
    """The inbox as a Starlette app; closed (503) without ``SITE_TOOLS_SESSION_SECRET``."""
    secret = reveal(counter.settings.session_secret)
    if not secret:
        log.warning("SITE_TOOLS_SESSION_SECRET not set: the counter's inbox is closed")
        return closed_app()
    inbox = Inbox(counter, clock, cookie_path)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return inbox.page(request, "error.html", exc.status, title="Richiesta rifiutata", message=exc.message)

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = "Richiesta non valida."
        if exc.status_code == 404:
            detail = exc.detail if exc.detail != "Not Found" else "Pagina non trovata."
        return inbox.page(request, "error.html", exc.status_code, title="Non trovato", message=detail)

    async def css(request: Request) -> Response:
        return FileResponse(HERE / "static" / "sportello.css", media_type="text/css")

    async def script(request: Request) -> Response:
        return FileResponse(HERE / "static" / "sportello.js", media_type="text/javascript")

    routes = [
        Route("/accesso", inbox.login_page, methods=["GET"]),
        Route("/accesso", inbox.login, methods=["POST"]),
        Route("/esci", inbox.logout, methods=["POST"]),
        Route("/static/sportello.css", css, methods=["GET"]),
        Route("/static/sportello.js", script, methods=["GET"]),
        Route("/", staff_only(inbox, inbox.inbox), methods=["GET"]),
        Route("/candidati", staff_only(inbox, inbox.candidates_page), methods=["GET"]),
        Route("/conversazioni/{id:int}", staff_only(inbox, inbox.conversation), methods=["GET"]),
        Route("/conversazioni/{id:int}/media/{message:int}", staff_only(inbox, inbox.media), methods=["GET"]),
        Route("/conversazioni/{id:int}/rispondi", staff_only(inbox, inbox.reply), methods=["POST"]),
        Route("/conversazioni/{id:int}/modello", staff_only(inbox, inbox.reply), methods=["POST"]),
        Route("/conversazioni/{id:int}/stato", staff_only(inbox, inbox.change_state), methods=["POST"]),
        Route("/conversazioni/{id:int}/assegna", staff_only(inbox, inbox.assign), methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie="sportello",
                max_age=auth.SESSION_LIFETIME,
                path=cookie_path,
                same_site="strict",
                https_only=True,
            ),
        ],
        exception_handlers={Refused: refused, HTTPException: not_found},
    )


def closed_app() -> ASGIApp:
    async def closed(request: Request) -> Response:
        return HTMLResponse(
            "<!doctype html><html lang='it'><title>Sportello non configurato</title><main><h1>Sportello non"
            " configurato</h1><p>Manca SITE_TOOLS_SESSION_SECRET nell'ambiente del servizio: chi lo gestisce deve"
            " impostarla (una stringa casuale lunga) e riavviarlo.</p></main></html>",
            status_code=503,
        )

    return Starlette(routes=[Route("/{path:path}", closed, methods=["GET", "POST"])])


def _ident(value: int) -> int:
    """An id from the address; one no database could hold is simply not found (never a 500)."""
    if not 0 < value < 2**53:
        raise HTTPException(404)
    return value
