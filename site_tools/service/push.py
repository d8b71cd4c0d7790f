"""The site's notifications (Web Push): where the signup page's button sends the browser's subscription.

* ``POST /push/iscrizione`` — a ``PushSubscription.toJSON()``; checked strictly
  (:func:`~site_tools.channels.webpush.check_subscription`: https endpoint on a known push service, key sizes),
  stored (``store.push``): 201;
* ``POST /push/cancella`` — ``{"endpoint": …}``: the subscription is forgotten (200, also when it was unknown).

Both answer only the site's own origin (CORS: the page is on the site, the service on another host), read at most
:data:`MAX_BODY` bytes, and are rate-limited per address (:class:`~site_tools.service.ratelimit.RateLimit`): a
flood of made-up subscriptions costs the sender a 429 long before it costs the store. Nothing here logs an
endpoint (whoever holds one can send to that browser).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from site_tools.channels.webpush import BadSubscription, check_subscription
from site_tools.content.config import TownConfig
from site_tools.service.guard import Rejected, load_json, read_body
from site_tools.service.ratelimit import RateLimit
from site_tools.settings import Settings
from site_tools.store import Store
from site_tools.store.database import StoreUnavailable

log = logging.getLogger("site_tools.service.push")

#: A subscription's JSON is about 400 bytes (an endpoint of up to 1,024 characters and two keys).
MAX_BODY = 4096


def site_origin(config: TownConfig) -> str:
    parts = urlsplit(config.site_url)
    return f"{parts.scheme}://{parts.netloc}"


class PushSignup:
    def __init__(
        self,
        config: TownConfig,
        settings: Settings,
        db: Callable[[Callable[[Store], Any]], Awaitable[Any]],
        limit: RateLimit | None = None,
    ):
        self.origin = site_origin(config)
        self.allowed = settings.webpush_services
        self.db = db
        # A browser subscribes once and may unsubscribe and subscribe again: a few a minute per address is plenty.
        self.limit = limit or RateLimit(rate=0.1, burst=10, total_rate=20, total_burst=400)

    def routes(self) -> list[Route]:
        return [
            Route("/push/iscrizione", self.subscribe, methods=["POST", "OPTIONS"]),
            Route("/push/cancella", self.unsubscribe, methods=["POST", "OPTIONS"]),
        ]

    def _cors(self) -> dict[str, str]:
        return {"Access-Control-Allow-Origin": self.origin, "Vary": "Origin"}

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        return JSONResponse(body, status_code=status, headers={**self._cors(), **(headers or {})})

    async def _read(self, request: Request) -> tuple[Any, Response | None]:
        """The JSON body, or the answer that refuses the request."""
        origin = request.headers.get("origin")
        if origin is not None and origin != self.origin:
            return None, JSONResponse({"errore": "richiesta da un sito diverso da quello del Comune."}, 403)
        if request.method == "OPTIONS":
            headers = {
                **self._cors(),
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": "86400",
            }
            return None, Response(status_code=204, headers=headers)
        wait = self.limit.check(request.client.host if request.client else "?")
        if wait > 0:
            return None, self._answer(
                429, {"errore": "troppe richieste: riprova tra poco."}, {"Retry-After": str(math.ceil(wait))}
            )
        try:
            return load_json(await read_body(request, limit=MAX_BODY)), None
        except Rejected as exc:
            return None, self._answer(exc.status, {"errore": f"richiesta non valida ({exc.reason})."})

    async def subscribe(self, request: Request) -> Response:
        body, refusal = await self._read(request)
        if refusal is not None:
            return refusal
        try:
            endpoint, p256dh, auth = check_subscription(body, self.allowed)
        except BadSubscription as exc:
            return self._answer(400, {"errore": f"iscrizione non valida: {exc}"})
        try:
            new: bool = await self.db(lambda store: store.push.subscribe(endpoint, p256dh, auth))
        except StoreUnavailable:
            return self._answer(503, {"errore": "archivio non raggiungibile: riprova tra poco."})
        log.info("web push subscription %s", "added" if new else "renewed")
        return self._answer(201 if new else 200, {"ok": True, "nuova": new})

    async def unsubscribe(self, request: Request) -> Response:
        body, refusal = await self._read(request)
        if refusal is not None:
            return refusal
        endpoint = body.get("endpoint") if isinstance(body, dict) else None
        if not isinstance(endpoint, str) or not endpoint:
            return self._answer(400, {"errore": "manca «endpoint», l'indirizzo dell'iscrizione da cancellare."})
        try:
            removed: bool = await self.db(lambda store: store.push.unsubscribe(endpoint))
        except StoreUnavailable:
            return self._answer(503, {"errore": "archivio non raggiungibile: riprova tra poco."})
        if removed:
            log.info("web push subscription removed by its browser")
        return self._answer(200, {"ok": True, "cancellata": removed})
